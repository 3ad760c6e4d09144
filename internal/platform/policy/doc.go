// Package policy is tenku's oslo.policy: it decides whether a request may
// perform an API operation, with the rule language, defaults, overrides
// and outcomes of OpenStack's policy engine, so that operators' policy.yaml
// files and the rules documented for Keystone, Nova, Glance, Neutron and
// Cinder mean here what they mean there.
//
// # What it owns
//
//   - The policy language (parse.go): "role:admin or (project_id:%(project_id)s
//     and not role:reader)", parsed by oslo's shift-reduce rules (and binds
//     tighter than or; not binds tightest; case-insensitive operators), "@",
//     "!", the empty rule, and the legacy list-of-lists form. A rule that
//     does not parse fails closed ("!"), and is logged, as oslo does.
//   - The checks (check.go): rule:NAME (falling back to the default rule for
//     undefined names, as oslo's Rules does), role:NAME (case-insensitive),
//     and generic kind:match checks. Generic checks compare text the way
//     Python does: the match is "match % target" with Python's %-formatting
//     (template.go), the kind is either a Python literal compared by its
//     str() ('member', True, 20, None) or a dotted path into the
//     credentials that fans out over lists (pyexpr.go, creds.go), and values
//     are rendered as Python's str() renders them (pyvalue.go): True, None,
//     1.0, ['a', 'b'].
//   - Enforcement (enforcer.go): registered defaults plus the operator's
//     policy file (YAML or JSON, re-read when it changes, checked at most
//     once a second), deprecated defaults or-ed with new ones unless
//     EnforceNewDefaults, scope types checked against the token's scope
//     (InvalidScope with EnforceScope), typed *Error results.
//   - The sample policy file (sample.go, textwrap.go): what
//     oslopolicy-sample-generator prints, byte for byte.
//
// # Deliberate differences from oslo.policy
//
//   - Where oslo would raise out of enforce() (a path that indexes into a
//     string or None, a kind that is not valid Python, a %-directive Python
//     rejects, a rule cycle deeper than 64 references), the request is
//     refused with Forbidden and the cause logged; in OpenStack the API
//     answers 500. Such a failure is never turned into a pass by a "not"
//     around it, because Python would not have reached the "not" either.
//   - http: and https: checks, which in oslo POST the request to a remote
//     server, never pass: tenku makes no such calls. They are logged when
//     the rule is loaded.
//   - Check plugins registered through stevedore entry points do not exist
//     here; a kind no built-in check has is a generic check, as in oslo
//     without plugins.
//   - A dotted %(a.b)s key missing from the target is also looked up through
//     nested maps, which is what Keystone's flattening of its targets gives;
//     oslo looks up only the flat key.
//   - "%s" without a key formats the whole target as Python would, but with
//     the keys sorted: Go maps have no insertion order.
//   - A \N{name} escape in a quoted kind is not decoded (no Unicode name
//     table): such a kind is treated as a path and so never matches.
//   - policy.d directories (policy_dirs) are not read; one policy file is.
//   - Go values are rendered as the Python values they stand for: float64
//     is a Python float (so 1.0 renders "1.0" — use ints, or json.Number
//     from a decoder with UseNumber, for integers), nil is None, maps are
//     dicts, slices are lists.
//
// # Imports
//
// The standard library and gopkg.in/yaml.v3 only; no tenku package. Every
// service's policy defaults import this package, never the reverse.
package policy
