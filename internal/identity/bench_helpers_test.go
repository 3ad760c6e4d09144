package identity

import (
	"context"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/identity/password"
)

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func checkPasswordForBench(pw, hash string) {
	if ok, err := password.Check(pw, hash); !ok || err != nil {
		panic("bench: password does not check")
	}
}

func mustUser(t testing.TB, c *testCloud, name string) string {
	t.Helper()
	u, err := c.svc.st.GetUserByName(context.Background(), name, "default")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// processCPU is the user plus system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
