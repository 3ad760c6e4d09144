// Package backend is the interface between the volume service
// (internal/volume/manager) and the storage that keeps volumes: Cinder's
// volume driver, narrowed. Concrete drivers live in subpackages (file) and
// only the assembly picks one.
//
// backend imports only the standard library.
package backend
