// Package qemuimg wraps the qemu-img command. Every call names the format
// of every image it reads (-f, and -F for a backing file): qemu-img never
// probes a format, so a raw image whose bytes look like qcow2 cannot make
// it open a file the image names (the format-probing attacks Nova guards
// against). Callers run an image inspector on untrusted bytes first.
//
// qemuimg imports only the standard library.
package qemuimg
