//go:build !linux

package scheduler

import "time"

// threadCPUTime is not available here; the benchmark reports wall time only.
func threadCPUTime() (time.Duration, bool) { return 0, false }
