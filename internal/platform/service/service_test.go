package service

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestGroupOrder(t *testing.T) {
	var log []string
	mk := func(name string, fail bool) Service {
		return &Func{N: name,
			OnStart: func(context.Context) error {
				if fail {
					return errors.New("nope")
				}
				log = append(log, "start "+name)
				return nil
			},
			OnStop: func(context.Context) error { log = append(log, "stop "+name); return nil },
		}
	}
	var g Group
	err := g.Start(context.Background(), mk("db", false), mk("bus", false), mk("api", true))
	if err == nil || !strings.Contains(err.Error(), "start api") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(log, ","); got != "start db,start bus,stop bus,stop db" {
		t.Fatalf("order: %s", got)
	}
}

func TestHTTPAndPortInUse(t *testing.T) {
	h := &HTTP{N: "identity", Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hi")
	})}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	resp, err := http.Get("http://" + h.Address() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hi" {
		t.Fatalf("body %q", b)
	}
	_, err = Listen("compute", h.Address())
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "compute") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("port in use: %v", err)
	}
}
