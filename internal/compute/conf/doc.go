// Package conf is the compute service's configuration, with nova.conf's
// section and option names where Nova has an equivalent. The API, the
// conductor, the scheduler worker and the compute agents all read it; the
// package exists apart from internal/compute so that an agent process can
// take its configuration without the API.
//
// conf imports the standard library and compute/scheduler only.
package conf
