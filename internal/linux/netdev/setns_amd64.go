//go:build amd64

package netdev

// sysSetns is setns(2) (the standard library has no name for it).
const sysSetns = 308
