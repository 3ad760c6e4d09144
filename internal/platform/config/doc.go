// Package config loads tenku's typed configuration from oslo.config-style INI files
// (nova.conf, keystone.conf: [section] and key = value lines) and environment
// variables, and prints the sample file that documents every option.
//
// A configuration is a Go struct. A field tagged `section:"name"` is a section (a
// struct); inside it, a field tagged `opt:"name" help:"..."` is an option. Sections
// may nest sections, so each service owns its struct and the binary composes them.
// Defaults are whatever the struct holds before Load: every service provides a
// DefaultConfig() and zero configuration must work.
//
// Supported option types: string, bool, int, int64, float64, time.Duration (Go
// syntax such as "90s", or a plain number of seconds as oslo's integer options),
// []string (comma-separated, or the key repeated) and map[string]string ("k:v,k2:v2").
//
// config imports only the standard library.
package config
