// Package service is the lifecycle every tenku process shares: services that
// start and shut down in order, and HTTP servers that listen with a clear error
// when their port is taken.
//
// service imports platform/authn, platform/bus and platform/store.
package service
