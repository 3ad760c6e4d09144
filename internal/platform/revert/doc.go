// Package revert is an undo stack for multi-step host changes: every bridge, tap,
// namespace, process or file made along the way registers how to undo it, and a
// failure part-way undoes them in reverse order.
//
//	r := revert.New()
//	defer r.Fail()
//	... make a tap; r.Add(func() { deleteTap() }) ...
//	r.Success()
//
// revert imports only the standard library.
package revert
