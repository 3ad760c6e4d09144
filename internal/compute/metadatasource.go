package compute

import (
	"context"

	"github.com/tenku-cloud/tenku/internal/compute/metadata"
	cstore "github.com/tenku-cloud/tenku/internal/compute/store"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
)

// metadataSource reads instances for the metadata service from the store.
type metadataSource struct{ store *cstore.Store }

func (m metadataSource) Instance(ctx context.Context, uuid string) (*metadata.Instance, error) {
	inst, err := m.store.Instance(ctx, uuid, cstore.GetOptions{})
	if fault.IsNotFound(err) {
		return nil, metadata.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return metadata.FromInstance(inst, inst.NetworkInfo, ""), nil
}

// passwordKeys are the system metadata keys Nova keeps a posted password in.
var passwordKeys = []string{"password_0", "password_1", "password_2", "password_3"}

func (m metadataSource) Password(ctx context.Context, uuid string) (string, error) {
	inst, err := m.store.Instance(ctx, uuid, cstore.GetOptions{})
	if err != nil {
		return "", err
	}
	pw := ""
	for _, k := range passwordKeys {
		pw += inst.SystemMetadata[k]
	}
	return pw, nil
}

func (m metadataSource) SetPassword(ctx context.Context, uuid, pw string) error {
	cur, err := m.Password(ctx, uuid)
	if err != nil {
		return err
	}
	if cur != "" {
		return metadata.ErrPasswordSet
	}
	set := map[string]string{}
	for i, k := range passwordKeys {
		lo, hi := min(i*255, len(pw)), min((i+1)*255, len(pw))
		set[k] = pw[lo:hi]
	}
	_, err = m.store.Save(ctx, cstore.Save{UUID: uuid, Update: cstore.Update{SysMeta: set}})
	return err
}

// MetadataSecret is the configured [neutron] metadata_proxy_shared_secret;
// the metadata API refuses every proxy request while it is empty.
func (s *Service) MetadataSecret() string { return s.cfg.Neutron.MetadataProxySharedSecret }

// MetadataHandler is Nova's metadata API (port 8775), reached by guests
// through Neutron's metadata proxy; [neutron] metadata_proxy_shared_secret
// authenticates the proxy.
func (s *Service) MetadataHandler() (*metadata.Server, error) {
	return metadata.NewServer(metadata.ServerConfig{SharedSecret: s.cfg.Neutron.MetadataProxySharedSecret,
		Source: metadataSource{store: s.store}, Log: s.log.With("service", "nova-metadata")})
}
