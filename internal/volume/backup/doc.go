// Package backup is the posix backup repository (Cinder's posix backup
// driver, chunked): a backup of a volume is a directory <root>/<backup id>
// holding the volume's data in fixed-size chunk files and a manifest
// (manifest.json) naming, for every chunk of the volume, its sha256 and
// the backup whose directory holds its bytes. Chunks of zeros are not
// stored. An incremental backup stores only the chunks whose sha256
// differs from its parent's and refers to the parent's (or an ancestor's)
// files for the rest, so a parent may not be deleted while a child lives
// (the service refuses, as Cinder does).
//
// A backup is complete once its manifest exists: chunk files are written
// first and the manifest is renamed into place last, so a crash leaves a
// directory without a manifest, which Delete removes like any other.
//
// backup imports x/sys/unix and the standard library.
package backup
