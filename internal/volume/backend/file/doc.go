// Package file is the file volume backend, modelled on Cinder's NFS
// (remotefs) driver: one sparse raw file per volume, volume-<id>, in a
// directory, the whole pool bounded by a capacity (devstack's
// VOLUME_BACKING_FILE_SIZE). Capacity is accounted thick (the sum of the
// volumes' sizes must fit), while the files stay sparse on disk.
//
// A volume file is made under a temporary name and renamed into place
// once it has its size, so a crash never leaves a half-made volume under
// a volume's name.
//
// A snapshot is a full copy of the volume file, snapshot-<id>, made
// extent by extent (holes stay holes; copy_file_range reflinks where the
// filesystem can), so volumes stay plain raw files, a snapshot never
// depends on its volume, and a volume made from a snapshot or cloned from
// another volume is the same kind of copy. Snapshots count against the
// capacity as volumes do.
//
// Images come in and go out through qemu-img (linux/qemuimg): an image
// file is inspected first and refused if it names any other file (a
// backing file, an external data file), then converted to the raw volume
// file under a temporary name; a volume is exported by converting its raw
// file into the asked format.
//
// file imports volume/backend, linux/qemuimg, x/sys/unix and the standard
// library.
package file
