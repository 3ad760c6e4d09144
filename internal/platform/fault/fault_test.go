package fault

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestAsAndIs(t *testing.T) {
	nf := NotFound("server %s could not be found", "x")
	wrapped := fmt.Errorf("show: %w", nf)
	if got := As(wrapped); got != nf {
		t.Fatalf("As(wrapped) = %v, want the fault itself", got)
	}
	if !IsNotFound(wrapped) || IsConflict(wrapped) {
		t.Fatal("Is on a wrapped fault")
	}
	plain := errors.New("disk on fire")
	f := As(plain)
	if f.Status != http.StatusInternalServerError || f.Message == plain.Error() {
		t.Fatalf("As(plain) = %+v: must be a 500 that hides the cause", f)
	}
	if !errors.Is(f, plain) {
		t.Fatal("the 500 must unwrap to its cause")
	}
	if nf.Error() != "server x could not be found" || nf.Title() != "Not Found" {
		t.Fatalf("message/title: %q %q", nf.Error(), nf.Title())
	}
	h := Conflict("busy").WithHeader("Retry-After", "3")
	if h.Header.Get("Retry-After") != "3" || h.Status != 409 {
		t.Fatal("WithHeader")
	}
	if New(400, "100%").Message != "100%" {
		t.Fatal("a message without args must not be formatted")
	}
}
