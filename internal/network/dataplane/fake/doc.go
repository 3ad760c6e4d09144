// Package fake is an in-memory dataplane.Driver: it records what an agent asks
// for, keeps the resulting host state for tests to inspect, and can be told to
// fail. tenku stack uses it where no real data plane is wanted.
//
// fake imports internal/network/dataplane and the standard library.
package fake
