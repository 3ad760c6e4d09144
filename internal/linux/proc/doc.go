// Package proc supervises long-lived host processes that must outlive the
// agent that started them (QEMU guests, dnsmasq): each starts in its own
// session and process group, with stdin on /dev/null and its output in a
// log file, and is recorded in a pidfile holding its pid and its start time
// (from /proc/<pid>/stat), so a restarted agent finds it again and a reused
// pid is never mistaken for it.
//
// proc imports only the standard library and works on Linux.
package proc
