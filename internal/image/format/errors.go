package format

import (
	"errors"
	"fmt"
	"strings"
)

// The kinds of problem an image can have; every Violation wraps one, so
// callers test them with errors.Is on the error Safety or Check returns.
var (
	// ErrBackingFile: the image names another file to read as its base
	// (a qcow2 backing file, a VMDK parentFileNameHint, a differencing VHD,
	// VHDX or VDI).
	ErrBackingFile = errors.New("image references a backing file")
	// ErrDataFile: a qcow2 image keeps its guest data in an external file.
	ErrDataFile = errors.New("image uses an external data file")
	// ErrUnknownFeatures: a qcow2 image sets incompatible feature bits this
	// inspector does not know.
	ErrUnknownFeatures = errors.New("image uses unknown incompatible features")
	// ErrExternalExtent: a VMDK descriptor keeps its data in other files.
	ErrExternalExtent = errors.New("image keeps its data in other files")
	// ErrCreateType: a VMDK createType outside the safe allow-list.
	ErrCreateType = errors.New("vmdk create type is not allowed")
	// ErrAmbiguous: the content matches more than one format.
	ErrAmbiguous = errors.New("image matches more than one format")
	// ErrMalformed: a header is truncated, inconsistent or outside what
	// QEMU accepts.
	ErrMalformed = errors.New("image header is malformed")
	// ErrForbidden: the format is never accepted (qed, qcow v1, VMFS
	// sparse VMDK).
	ErrForbidden = errors.New("image format is not allowed")
	// ErrPartitionTable: an MBR or protective MBR that breaks the rules
	// Glance enforces on whole-disk images.
	ErrPartitionTable = errors.New("partition table is invalid")
	// ErrFormatMismatch: the content is not what the disk_format says.
	ErrFormatMismatch = errors.New("image content does not match disk_format")
	// ErrUnknownDiskFormat: Check was given a disk_format Glance does not
	// define.
	ErrUnknownDiskFormat = errors.New("unknown disk_format")
	// ErrFinished: Write was called after Finish.
	ErrFinished = errors.New("image inspector already finished")
)

// Violation is one failed safety check.
type Violation struct {
	// Check is the check's short name, such as "backing_file".
	Check string
	// Kind is one of the Err* values above.
	Kind error
	// Detail says what was found, for the log and the API's fault message.
	Detail string
}

// Error implements error.
func (v Violation) Error() string {
	if v.Detail == "" {
		return fmt.Sprintf("%s: %v", v.Check, v.Kind)
	}
	return fmt.Sprintf("%s: %v: %s", v.Check, v.Kind, v.Detail)
}

// Unwrap returns the violation's kind.
func (v Violation) Unwrap() error { return v.Kind }

// SafetyError is returned by Info.Safety and Info.Check when an image
// fails one or more safety checks.
type SafetyError struct {
	// Format is the detected format (empty when ambiguous).
	Format Format
	// Violations lists every failed check, in the order they were found.
	Violations []Violation
}

// Error implements error.
func (e *SafetyError) Error() string {
	parts := make([]string, len(e.Violations))
	for k, v := range e.Violations {
		parts[k] = v.Error()
	}
	name := string(e.Format)
	if name == "" {
		name = "image"
	}
	return fmt.Sprintf("%s failed safety checks: %s", name, strings.Join(parts, "; "))
}

// Unwrap returns the kinds of every violation, so errors.Is finds any.
func (e *SafetyError) Unwrap() []error {
	out := make([]error, len(e.Violations))
	for k, v := range e.Violations {
		out[k] = v.Kind
	}
	return out
}

// MismatchError is returned by Info.Check when the content is not what the
// declared disk_format promises.
type MismatchError struct {
	// Declared is the disk_format the image claims.
	Declared string
	// Detected is what the content is.
	Detected Format
}

// Error implements error.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("image disk_format %s does not match the data, which is %s", e.Declared, e.Detected)
}

// Unwrap returns ErrFormatMismatch.
func (e *MismatchError) Unwrap() error { return ErrFormatMismatch }

// violations accumulates a probe's failed checks.
type violations []Violation

func (vs *violations) add(check string, kind error, detail string, args ...any) {
	if len(args) > 0 {
		detail = fmt.Sprintf(detail, args...)
	}
	*vs = append(*vs, Violation{Check: check, Kind: kind, Detail: detail})
}
