package conductor

import (
	"github.com/tenku-cloud/tenku/internal/compute/rpc"
	"github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// The compute bus protocol's messages (compute/rpc) become the store's
// types here, by Go conversions: a field added to or removed from one side
// alone fails to compile, so the wire never changes behind a store change.

func storeSave(s rpc.Save) store.Save {
	return store.Save{
		UUID: s.UUID, Update: store.Update(s.Update), Expect: store.Expect(s.Expect),
		Start: storeEvents(s.Start), Finish: storeEvents(s.Finish), Fault: s.Fault,
		FinishAction: s.FinishAction, Release: s.Release,
	}
}

func storeEvents(evs []rpc.EventRef) []store.EventRef {
	if evs == nil {
		return nil
	}
	out := make([]store.EventRef, len(evs))
	for i, e := range evs {
		out[i] = store.EventRef(e)
	}
	return out
}

// checkProtocol refuses an agent that speaks another version of the
// compute bus protocol (0 is 1, the version before agents named it).
func checkProtocol(a rpc.ServiceReportArgs) error {
	if v := max(a.Protocol, 1); v != rpc.Version {
		return fault.BadRequest("the %s of %s speaks compute protocol version %d, this conductor %d: run the same tenku release on both", a.Binary, a.Host, v, rpc.Version)
	}
	return nil
}
