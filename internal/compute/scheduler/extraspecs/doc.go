// Package extraspecs evaluates the operator syntax that Nova accepts in
// flavor extra specs and compares against host capabilities or aggregate
// metadata ("<in> avx", "<or> kvm <or> qemu", ">= 4", "s== x86_64", ...).
//
// It owns only that small language: Match takes the value a host reports and
// the requirement written in the extra spec, and says whether they match. The
// scheduler's ComputeCapabilitiesFilter and AggregateInstanceExtraSpecsFilter
// use it; the compute API may use it to validate flavors.
//
// It imports the standard library only.
package extraspecs
