// Package websocket is the part of RFC 6455 a console proxy needs: a
// server-side upgrade of an HTTP request and a client dial, both carrying
// binary messages (the "binary" subprotocol websockify and Nova's console
// proxies speak), with pings answered and a close handshake.
package websocket

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Opcodes of RFC 6455 section 5.2.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxFrame bounds a received frame's payload.
const maxFrame = 1 << 20

// Conn is a websocket connection.
type Conn struct {
	c      net.Conn
	r      *bufio.Reader
	client bool // a client masks what it sends
	wmu    sync.Mutex
	// Protocol is the subprotocol the server chose ("" for none).
	Protocol string
	// MaxWrite splits written messages into frames of at most this many
	// bytes (0: one frame per Write).
	MaxWrite int
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// IsUpgrade says the request asks for a websocket.
func IsUpgrade(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

// Upgrade answers a websocket handshake and takes the connection over.
// protocols are the subprotocols the server speaks, preferred first; one
// the client offers is chosen. A request that is no handshake is answered
// 400 and an error returned.
func Upgrade(w http.ResponseWriter, r *http.Request, protocols ...string) (*Conn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !IsUpgrade(r) || key == "" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "expected a websocket (version 13) handshake", http.StatusBadRequest)
		return nil, errors.New("websocket: not a handshake")
	}
	chosen := ""
	for _, p := range protocols {
		if headerHas(r.Header, "Sec-WebSocket-Protocol", p) {
			chosen = p
			break
		}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "connection cannot be taken over", http.StatusInternalServerError)
		return nil, errors.New("websocket: response writer is no Hijacker")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n"
	if chosen != "" {
		resp += "Sec-WebSocket-Protocol: " + chosen + "\r\n"
	}
	if _, err := rw.WriteString(resp + "\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	if err := rw.Flush(); err != nil {
		c.Close()
		return nil, err
	}
	return &Conn{c: c, r: rw.Reader, Protocol: chosen}, nil
}

// Dial opens a websocket to a ws:// URL offering the subprotocols.
func Dial(rawURL string, header http.Header, protocols ...string) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("websocket: scheme %q: only ws is dialled", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	c, err := net.Dial("tcp", host)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := &http.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{}}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	if len(protocols) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(protocols, ", "))
	}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		c.Close()
		return nil, &HandshakeError{Status: resp.StatusCode, Body: string(b)}
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		c.Close()
		return nil, errors.New("websocket: bad Sec-WebSocket-Accept")
	}
	return &Conn{c: c, r: br, client: true, Protocol: resp.Header.Get("Sec-WebSocket-Protocol")}, nil
}

// HandshakeError is a server's refusal of a handshake.
type HandshakeError struct {
	Status int
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket: handshake refused: %d %s", e.Status, strings.TrimSpace(e.Body))
}

// writeFrame sends one frame.
func (c *Conn) writeFrame(op byte, p []byte) error {
	hdr := make([]byte, 2, 14)
	hdr[0] = 0x80 | op
	switch n := len(p); {
	case n < 126:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if c.client {
		hdr[1] |= 0x80
		var mask [4]byte
		rand.Read(mask[:])
		hdr = append(hdr, mask[:]...)
		m := make([]byte, len(p))
		for i := range p {
			m[i] = p[i] ^ mask[i%4]
		}
		p = m
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.c.Write(hdr); err != nil {
		return err
	}
	_, err := c.c.Write(p)
	return err
}

// Write sends p as binary messages (split by MaxWrite).
func (c *Conn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 || n == 0 {
		k := len(p)
		if c.MaxWrite > 0 && k > c.MaxWrite {
			k = c.MaxWrite
		}
		if err := c.writeFrame(opBinary, p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
		if len(p) == 0 {
			break
		}
	}
	return n, nil
}

// ReadMessage returns the next data message's payload (text or binary),
// answering pings on the way; io.EOF once the peer closes.
func (c *Conn) ReadMessage() ([]byte, error) {
	var msg []byte
	for {
		fin, op, p, err := c.readFrame()
		if err != nil {
			return nil, err
		}
		switch op {
		case opPing:
			if err := c.writeFrame(opPong, p); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			c.writeFrame(opClose, nil)
			return nil, io.EOF
		case opText, opBinary, opContinuation:
			msg = append(msg, p...)
		default:
			return nil, fmt.Errorf("websocket: opcode %#x", op)
		}
		if fin {
			return msg, nil
		}
	}
}

func (c *Conn) readFrame() (fin bool, op byte, p []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.r, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	masked := h[1]&0x80 != 0
	if masked == c.client {
		// RFC 6455 5.1: a client masks every frame, a server none
		return false, 0, nil, errors.New("websocket: frame masking is wrong for its direction")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.r, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.r, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > maxFrame {
		return false, 0, nil, fmt.Errorf("websocket: frame of %d bytes", n)
	}
	var mask [4]byte
	if masked {
		if _, err = io.ReadFull(c.r, mask[:]); err != nil {
			return
		}
	}
	p = make([]byte, n)
	if _, err = io.ReadFull(c.r, p); err != nil {
		return
	}
	if masked {
		for i := range p {
			p[i] ^= mask[i%4]
		}
	}
	return fin, op, p, nil
}

// Close sends a close frame and closes the connection.
func (c *Conn) Close() error {
	c.writeFrame(opClose, nil)
	return c.c.Close()
}

// NetConn is the underlying connection (deadlines).
func (c *Conn) NetConn() net.Conn { return c.c }
