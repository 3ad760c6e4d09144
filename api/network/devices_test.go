package network

import "testing"

func TestDeviceNames(t *testing.T) {
	if got := TapName("3a2b1c0d-9e8f-7a6b-5c4d-3e2f1a0b9c8d"); got != "tap3a2b1c0d-9e" {
		t.Errorf("TapName = %q", got)
	}
	if got := BridgeName("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"); got != "brq0f1e2d3c-4b" {
		t.Errorf("BridgeName = %q", got)
	}
	if got := TapName("short"); got != "tapshort" {
		t.Errorf("TapName of a short id = %q", got)
	}
	if len(TapName("0123456789abcdefghij")) > 15 || len(BridgeName("0123456789abcdefghij")) > 15 {
		t.Error("a device name longer than IFNAMSIZ-1")
	}
}
