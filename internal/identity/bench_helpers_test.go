package identity

import (
	"context"
	"runtime"
	"strings"
	"testing"

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
