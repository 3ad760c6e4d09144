package websocket_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenku-cloud/tenku/internal/platform/websocket"
)

// An echo server over Upgrade answers a Dial: the subprotocol is agreed,
// small and large messages come back whole (the server splits what it
// writes into small frames), a plain GET is refused 400.
func TestEchoAndRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, "binary")
		if err != nil {
			return
		}
		defer c.Close()
		c.MaxWrite = 125
		for {
			m, err := c.ReadMessage()
			if err != nil {
				return
			}
			if _, err := c.Write(m); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/?token=x"
	c, err := websocket.Dial(url, nil, "base64", "binary")
	if err != nil {
		t.Fatal(err)
	}
	if c.Protocol != "binary" {
		t.Fatalf("protocol %q, want binary", c.Protocol)
	}
	for _, msg := range [][]byte{[]byte("hello\r\n"), bytes.Repeat([]byte("0123456789"), 7000)} {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for len(got) < len(msg) {
			m, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if len(m) > 125 {
				t.Fatalf("a frame of %d bytes, the server writes at most 125", len(m))
			}
			got = append(got, m...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes came back as %d different ones", len(msg), len(got))
		}
	}
	c.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("plain GET: %d, want 400", resp.StatusCode)
	}
	var he *websocket.HandshakeError
	if _, err := websocket.Dial("ws://"+strings.TrimPrefix(httptest.NewServer(http.NotFoundHandler()).URL, "http://"), nil); !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("dial to a non-websocket server: %v", err)
	}
}

// The handshake answers RFC 6455's own example key with its accept
// value, and a server refuses an unmasked client frame (RFC 6455 5.1).
func TestUnmaskedClientFrameRefused(t *testing.T) {
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r)
		if err != nil {
			done <- err
			return
		}
		_, err = c.ReadMessage()
		done <- err
		c.Close()
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	if !strings.Contains(string(buf[:n]), "101") || !strings.Contains(string(buf[:n]), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
		t.Fatalf("handshake answer: %q", buf[:n])
	}
	conn.Write([]byte{0x82, 2, 'h', 'i'})
	if err := <-done; err == nil || !strings.Contains(err.Error(), "masking") {
		t.Fatalf("unmasked frame: %v", err)
	}
}
