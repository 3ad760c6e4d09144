// Package testkit runs an in-process tenku cloud for integration tests: the
// chosen services on free ports, SQLite in the test's temp dir, an embedded bus,
// devstack's test data — and gives tests credentials, gophercloud clients and a
// polling Eventually helper.
//
//	c := testkit.Start(t, "keystone", "glance")
//	img := c.Client(t, "demo", "demo", "image")
//
// testkit imports internal/stack; tests that use it live in external test
// packages (package foo_test) so that no import cycle forms.
package testkit
