// Package loopback picks a loopback address (127.x.y.z) on which tenku's
// default service ports are free, so that test and benchmark runs, and a
// developer's own stack, never collide. It imports only the standard
// library, for the tools that run tenku as a process.
package loopback
