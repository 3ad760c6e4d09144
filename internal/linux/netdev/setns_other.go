//go:build !amd64 && !arm64

package netdev

// sysSetns is unknown on this architecture: setns fails with ENOSYS.
const sysSetns = ^uintptr(0)
