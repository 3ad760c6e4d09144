// Package stack is the all-in-one assembly (devstack's job): it picks the enabled
// services, opens their databases and the bus, bootstraps Keystone with devstack's
// test data, starts every API and agent in one process, writes openrc and
// clouds.yaml, and prints the banner. Running it again on the same data directory
// resumes the same cloud.
//
// stack imports every service package and the platform; only it and cmd/tenku
// choose concrete drivers.
package stack
