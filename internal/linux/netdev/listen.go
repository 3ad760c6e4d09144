package netdev

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"syscall"
)

// InNamespace runs fn on an OS thread switched into the named namespace
// ("" runs fn as it is). Sockets fn opens belong to that namespace for their
// whole life; the thread goes back to its namespace afterwards (or dies, if
// it cannot).
func InNamespace(ns string, fn func() error) error {
	if ns == "" {
		return fn()
	}
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := fn()
	if err := setns(self); err != nil {
		// Leave the thread locked: Go ends it with the goroutine.
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func setns(f *os.File) error {
	_, _, e := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Listen opens a listener inside a named namespace.
func Listen(ns, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := InNamespace(ns, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// Dial connects from inside a named namespace.
func Dial(ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNamespace(ns, func() error {
		var err error
		c, err = net.Dial(network, addr)
		return err
	})
	return c, err
}

// NamespaceID identifies a namespace instance (its inode): a namespace
// deleted and made again under the same name has another.
func NamespaceID(ns string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
