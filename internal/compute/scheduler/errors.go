package scheduler

import (
	"strconv"
	"strings"
)

// NoValidHost is returned by Select when no host can take an instance. Its
// message starts as Nova's instance fault does ("No valid host was found.")
// and then says why: which filter removed the last hosts and how many, and
// which removed hosts before it, so that the fault is useful as it stands.
type NoValidHost struct {
	// Instance is the 0-based index of the instance that found no host.
	Instance int
	// Instances is the number of instances requested.
	Instances int
	// Hosts is the number of hosts in the snapshot.
	Hosts int
	// FirstPassHosts is the number of hosts that passed the filters for the
	// first instance; later instances choose among those, so when a later
	// instance fails the others had used them up.
	FirstPassHosts int
	// Steps are the filtering steps of the pass that failed, in order; the
	// last one left no host. When a later instance failed, the steps of the
	// first instance's pass come first (their per-request filters are not
	// repeated).
	Steps []Step
}

// Step is one filtering step: a pre-filter of the request (requested
// destination, ignore/force lists, tried hosts) or a filter.
type Step struct {
	// Name is the filter's name, or for a pre-filter the request field
	// ("requested_destination", "ignore_hosts", "force_hosts",
	// "force_nodes", "retry").
	Name string
	// Prefilter says the step applied the request's own host lists.
	Prefilter bool
	// Instance is the 0-based index of the instance whose pass ran the step.
	Instance int
	// Before and After count the hosts before and after the step.
	Before, After int
}

// Error reports the reason as an instance fault message.
func (e *NoValidHost) Error() string {
	const prefix = "No valid host was found. "
	if e.Hosts == 0 {
		return prefix + "There are no compute hosts."
	}
	var b strings.Builder
	b.WriteString(prefix)
	if e.Instances > 1 {
		b.WriteString("For instance ")
		b.WriteString(strconv.Itoa(e.Instance + 1))
		b.WriteString(" of ")
		b.WriteString(strconv.Itoa(e.Instances))
		b.WriteString(": ")
	}
	if len(e.Steps) == 0 {
		b.WriteString("There are not enough hosts available.")
		return b.String()
	}
	last := e.Steps[len(e.Steps)-1]
	writeStep(&b, last, true)
	first := true
	for _, s := range e.Steps[:len(e.Steps)-1] {
		if s.Before == s.After {
			continue
		}
		if first {
			b.WriteString("; before that ")
			first = false
		} else {
			b.WriteString(", ")
		}
		writeStep(&b, s, false)
	}
	if e.Instance > 0 {
		b.WriteString("; ")
		b.WriteString(strconv.Itoa(e.FirstPassHosts))
		if e.FirstPassHosts == 1 {
			b.WriteString(" host")
		} else {
			b.WriteString(" hosts")
		}
		b.WriteString(" passed the filters for the first instance")
	}
	b.WriteByte('.')
	return b.String()
}

func writeStep(b *strings.Builder, s Step, final bool) {
	removed := strconv.Itoa(s.Before-s.After) + " of " + strconv.Itoa(s.Before)
	switch {
	case s.Prefilter && final:
		b.WriteString("Request " + s.Name + " matched 0 hosts (removed " + removed + ")")
	case s.Prefilter:
		b.WriteString(s.Name + " removed " + removed)
	case final:
		b.WriteString("Filter " + s.Name + " returned 0 hosts (removed " + removed + ")")
	default:
		b.WriteString(s.Name + " removed " + removed)
	}
}

// InvalidSpecError is returned by Select for a request no scheduler could
// make sense of (negative sizes, an unknown group policy, ...): a 400, not a
// fault.
type InvalidSpecError struct {
	// Reason says what is wrong, in lower case.
	Reason string
}

// Error returns the reason.
func (e *InvalidSpecError) Error() string { return "invalid request spec: " + e.Reason }

// PolicyNotSupportedError is returned by Select when the request's server
// group policy needs a filter or weigher the scheduler is not configured
// with (Nova's UnsupportedPolicyException), so that the policy would be
// silently ignored.
type PolicyNotSupportedError struct {
	// Policy is the group's policy.
	Policy GroupPolicy
	// Missing is the filter or weigher that would enforce it.
	Missing string
}

// Error says which filter or weigher is missing.
func (e *PolicyNotSupportedError) Error() string {
	return "server group policy " + string(e.Policy) + " is not supported: " + e.Missing + " not configured"
}

// ConfigError is returned by Config.Validate and New for settings outside
// their range or unknown filter and weigher names.
type ConfigError struct {
	// Option is the option's name, as in nova.conf.
	Option string
	// Reason says what is wrong with it.
	Reason string
}

// Error names the option.
func (e *ConfigError) Error() string { return "scheduler option " + e.Option + ": " + e.Reason }
