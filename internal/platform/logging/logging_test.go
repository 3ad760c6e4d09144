package logging

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestRequestIDInRecords(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, Options{Level: "debug"})
	id := NewRequestID()
	if !regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("request id %q is not req-<uuid4>", id)
	}
	ctx := With(WithRequestID(context.Background(), id), "instance_id", "i-1")
	log.InfoContext(ctx, "spawned", "host", "h1")
	out := buf.String()
	for _, want := range []string{"request_id=" + id, "instance_id=i-1", "host=h1", "msg=spawned"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
	buf.Reset()
	log.Debug("no context")
	if strings.Contains(buf.String(), "request_id") {
		t.Errorf("a record without context got a request id: %q", buf.String())
	}
}

func TestParseLevel(t *testing.T) {
	if ParseLevel("WARNING").String() != "WARN" || ParseLevel("bogus").String() != "INFO" {
		t.Fatal("ParseLevel")
	}
}

func TestTee(t *testing.T) {
	var all, warn bytes.Buffer
	log := slog.New(Tee(Handler(&all, Options{Level: "debug"}), Handler(&warn, Options{Level: "warn"})))
	ctx := WithRequestID(context.Background(), "req-x")
	log.DebugContext(ctx, "quiet")
	log.With("service", "nova").WarnContext(ctx, "loud")
	if !strings.Contains(all.String(), "quiet") || !strings.Contains(all.String(), "loud") {
		t.Fatalf("debug handler: %q", all.String())
	}
	if strings.Contains(warn.String(), "quiet") || !strings.Contains(warn.String(), "service=nova") || !strings.Contains(warn.String(), "request_id=req-x") {
		t.Fatalf("warn handler: %q", warn.String())
	}
}
