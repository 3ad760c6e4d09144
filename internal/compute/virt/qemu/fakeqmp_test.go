package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tenku-cloud/tenku/internal/linux/qmp"
)

// fakeQEMU is a QMP peer that keeps the devices and block nodes QEMU
// would, for tests of the hot-plug sequences without a QEMU.
type fakeQEMU struct {
	mu      sync.Mutex
	devices map[string]string // id -> driver
	nodes   map[string]bool
	netdevs map[string]bool
	slots   map[string]int
	next    int
	// release says whether a device_del is answered by DEVICE_DELETED (a
	// guest that cooperates).
	release bool
	log     []string
	enc     *json.Encoder
	// onPowerdown, when set, is called on each system_powerdown.
	onPowerdown func()
}

func newFakeQEMU(t *testing.T) (*fakeQEMU, *qmp.Client) {
	t.Helper()
	f := &fakeQEMU{devices: map[string]string{}, nodes: map[string]bool{}, netdevs: map[string]bool{}, slots: map[string]int{}, next: 5, release: true}
	dir, err := os.MkdirTemp("", "fakeqmp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "qmp.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}` + "\n"))
		f.mu.Lock()
		f.enc = json.NewEncoder(conn)
		f.mu.Unlock()
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			var c struct {
				Execute   string         `json:"execute"`
				ID        string         `json:"id"`
				Arguments map[string]any `json:"arguments"`
			}
			if json.Unmarshal(sc.Bytes(), &c) != nil {
				continue
			}
			f.handle(c.Execute, c.ID, c.Arguments)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, filepath.Join(dir, "qmp.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return f, c
}

func (f *fakeQEMU) handle(cmd, id string, args map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cmd != "qmp_capabilities" && cmd != "qom-list" && cmd != "query-pci" {
		f.log = append(f.log, cmd)
	}
	ok := func(ret any) { f.enc.Encode(map[string]any{"return": ret, "id": id}) }
	fail := func(class, desc string) {
		f.enc.Encode(map[string]any{"error": map[string]any{"class": class, "desc": desc}, "id": id})
	}
	str := func(k string) string { s, _ := args[k].(string); return s }
	switch cmd {
	case "qmp_capabilities":
		ok(map[string]any{})
	case "qom-list":
		var out []map[string]string
		for d, drv := range f.devices {
			out = append(out, map[string]string{"name": d, "type": "child<" + drv + ">"})
		}
		ok(out)
	case "query-pci":
		var devs []map[string]any
		for d, s := range f.slots {
			devs = append(devs, map[string]any{"slot": s, "qdev_id": d, "bus": 0, "function": 0})
		}
		ok([]map[string]any{{"bus": 0, "devices": devs}})
	case "blockdev-add":
		n := str("node-name")
		if f.nodes[n] {
			fail("GenericError", "Duplicate nodes with node-name='"+n+"'")
			return
		}
		f.nodes[n] = true
		ok(map[string]any{})
	case "blockdev-del":
		n := str("node-name")
		if !f.nodes[n] {
			fail("GenericError", "Failed to find node with node-name='"+n+"'")
			return
		}
		delete(f.nodes, n)
		ok(map[string]any{})
	case "device_add":
		d := str("id")
		if _, dup := f.devices[d]; dup {
			fail("GenericError", "Duplicate device ID '"+d+"'")
			return
		}
		if nd := str("netdev"); nd != "" && !f.netdevs[nd] {
			fail("GenericError", "Property 'virtio-net-pci.netdev' can't find value '"+nd+"'")
			return
		}
		if dr := str("drive"); str("netdev") == "" && !f.nodes[dr] {
			fail("GenericError", "Drive '"+str("drive")+"' not found")
			return
		}
		f.devices[d] = str("driver")
		f.slots[d] = f.next
		f.next++
		ok(map[string]any{})
	case "netdev_add":
		n := str("id")
		if f.netdevs[n] {
			fail("GenericError", "Duplicate ID '"+n+"' for netdev")
			return
		}
		f.netdevs[n] = true
		ok(map[string]any{})
	case "netdev_del":
		n := str("id")
		if !f.netdevs[n] {
			fail("GenericError", "Device '"+n+"' not found")
			return
		}
		delete(f.netdevs, n)
		ok(map[string]any{})
	case "device_del":
		d := str("id")
		if _, ok := f.devices[d]; !ok {
			fail("DeviceNotFound", "Device '"+d+"' not found")
			return
		}
		ok(map[string]any{})
		if f.release {
			delete(f.devices, d)
			delete(f.slots, d)
			f.enc.Encode(map[string]any{"event": "DEVICE_DELETED", "data": map[string]any{"device": d, "path": "/machine/peripheral/" + d},
				"timestamp": map[string]any{"seconds": 1, "microseconds": 0}})
		}
	case "system_powerdown":
		ok(map[string]any{})
		if f.onPowerdown != nil {
			f.onPowerdown()
		}
	default:
		fail("CommandNotFound", "The command "+cmd+" has not been found")
	}
}

func (f *fakeQEMU) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}
