package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure an Enforcer; they mirror the [oslo_policy] options.
type Options struct {
	// EnforceScope refuses, with an InvalidScope error, a token whose scope
	// is not among the enforced rule's ScopeTypes. Off, the mismatch is
	// only logged (once per rule and scope) and the check decides.
	EnforceScope bool
	// EnforceNewDefaults evaluates only the current defaults. Off, a rule
	// whose default replaced a deprecated one accepts either check string.
	EnforceNewDefaults bool
	// DefaultRule names the rule enforced for names no rule has, and the
	// rule that rule:NAME falls back to when NAME is undefined. Empty means
	// "default".
	DefaultRule string
	// PolicyFile is the operator's overrides file (policy.yaml; JSON is read
	// too). It need not exist. Empty means no overrides.
	PolicyFile string
	// DisableReload stops the Enforcer from noticing changes to PolicyFile.
	// Otherwise the file's modification time and size are checked at most
	// once a second, during Enforce, and a changed file is re-read.
	DisableReload bool
	// Logger receives parse problems, deprecation notices and reloads. nil
	// discards them.
	Logger *slog.Logger
}

// DefaultOptions are oslo.policy's current defaults: new defaults and scope
// enforced, default rule "default".
func DefaultOptions() Options {
	return Options{EnforceScope: true, EnforceNewDefaults: true, DefaultRule: "default"}
}

// Enforcer decides whether a request may perform an operation. It is safe
// for concurrent use; rules are parsed when it is built or the policy file
// changes, never per request.
type Enforcer struct {
	defaults []Rule
	opts     Options
	log      *slog.Logger

	rules atomic.Pointer[ruleset]

	// nextCheck is when (Unix nanoseconds) the policy file is next
	// stat-ed; the goroutine that advances it does the check.
	nextCheck atomic.Int64

	mu    sync.Mutex // serialises loads; guards stamp
	stamp fileStamp

	warned sync.Map // "rule\x00scope" → struct{}: scope mismatches logged
}

// entry is a rule in effect.
type entry struct {
	name string
	root *node
	// registered is the default registered under this name, nil for rules
	// that only the policy file defines.
	registered *Rule
}

// ruleset is an immutable, linked set of rules in effect.
type ruleset struct {
	rules map[string]*entry
	def   *entry // the default rule, if defined
}

type fileStamp struct {
	exists  bool
	modTime time.Time
	size    int64
}

func (s fileStamp) same(o fileStamp) bool {
	return s.exists == o.exists && s.size == o.size && s.modTime.Equal(o.modTime)
}

// New builds an Enforcer from a service's registered defaults and the
// operator's policy file, if any. It fails on invalid defaults (duplicate
// names, unknown scope types) and on a policy file that cannot be read or
// is not a YAML/JSON mapping. A rule in the file that does not parse is not
// an error: like oslo, the Enforcer logs it and that rule never passes.
func New(defaults []Rule, opts Options) (*Enforcer, error) {
	if err := validateRules(defaults); err != nil {
		return nil, err
	}
	if opts.DefaultRule == "" {
		opts.DefaultRule = "default"
	}
	e := &Enforcer{defaults: slices.Clone(defaults), opts: opts, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	for i := range e.defaults {
		var probs problemList
		parseText(e.defaults[i].Check, &probs)
		if d := e.defaults[i].DeprecatedRule; d != nil {
			parseText(d.Check, &probs)
		}
		if len(probs) > 0 {
			e.log.Error("policy default does not parse", "rule", e.defaults[i].Name, "problems", []string(probs))
		}
	}
	if err := e.load(true); err != nil {
		return nil, err
	}
	e.nextCheck.Store(time.Now().Add(time.Second).UnixNano())
	return e, nil
}

// Reload re-reads the policy file now. On error the rules in effect stay.
func (e *Enforcer) Reload() error {
	return e.load(true)
}

// load reads the policy file (when force, or when its stamp changed) and
// swaps in a new rule set.
func (e *Enforcer) load(force bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var file map[string]any
	stamp := fileStamp{}
	if e.opts.PolicyFile != "" {
		fi, err := os.Stat(e.opts.PolicyFile)
		switch {
		case err == nil:
			stamp = fileStamp{exists: true, modTime: fi.ModTime(), size: fi.Size()}
		case errors.Is(err, fs.ErrNotExist):
		default:
			return fmt.Errorf("policy: %w", err)
		}
		if !force && stamp.same(e.stamp) && e.rules.Load() != nil {
			return nil
		}
		e.stamp = stamp // a broken file is reported once, not every second
		if stamp.exists {
			data, err := os.ReadFile(e.opts.PolicyFile)
			if err != nil {
				return fmt.Errorf("policy: %w", err)
			}
			if file, err = parseOverrides(data); err != nil {
				return fmt.Errorf("policy: %s: %w", e.opts.PolicyFile, err)
			}
		}
		if e.rules.Load() != nil {
			e.log.Info("policy file reloaded", "path", e.opts.PolicyFile, "rules", len(file))
		}
	}
	e.rules.Store(e.build(file))
	return nil
}

// maybeReload checks the policy file at most once a second.
func (e *Enforcer) maybeReload() {
	now := time.Now().UnixNano()
	next := e.nextCheck.Load()
	if now < next || !e.nextCheck.CompareAndSwap(next, now+int64(time.Second)) {
		return
	}
	if err := e.load(false); err != nil {
		e.log.Error("policy file not reloaded; the previous rules stay in effect",
			"path", e.opts.PolicyFile, "error", err)
	}
}

// current returns the rule set in effect.
func (e *Enforcer) current() *ruleset {
	if e.opts.PolicyFile != "" && !e.opts.DisableReload {
		e.maybeReload()
	}
	return e.rules.Load()
}

// build turns the file's rules and the registered defaults into a linked
// rule set, as oslo's load_rules does.
func (e *Enforcer) build(file map[string]any) *ruleset {
	rs := &ruleset{rules: make(map[string]*entry, len(e.defaults)+len(file))}
	fileRules := make(map[string]*node, len(file))
	names := make([]string, 0, len(file))
	for name := range file {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var probs problemList
		n := parseValue(file[name], &probs)
		if len(probs) > 0 {
			e.log.Error("policy rule from the policy file failed to parse and fails closed",
				"rule", name, "problems", []string(probs))
		}
		fileRules[name] = n
		rs.rules[name] = &entry{name: name, root: n}
	}
	var orWithOld []string
	for i := range e.defaults {
		d := &e.defaults[i]
		if ent, ok := rs.rules[d.Name]; ok {
			ent.registered = d
			if d.DeprecatedForRemoval {
				e.log.Warn("policy rule is deprecated for removal; its override may be silently ignored in the future",
					"rule", d.Name, "since", d.DeprecatedSince, "reason", d.DeprecatedReason)
			}
			continue
		}
		var probs problemList
		root := parseText(d.Check, &probs)
		if d.DeprecatedRule != nil {
			var ored bool
			root, ored = e.deprecated(d, root, fileRules)
			if ored {
				orWithOld = append(orWithOld, d.Name)
			}
		}
		rs.rules[d.Name] = &entry{name: d.Name, root: root, registered: d}
	}
	if len(orWithOld) > 0 {
		// oslo warns once per rule; one line with the count says the same. The
		// names are at debug level.
		e.log.Info("policy rules also accept their deprecated defaults (enforce_new_defaults is off)", "count", len(orWithOld))
		e.log.Debug("policy rules accepting deprecated defaults", "rules", orWithOld)
	}
	rs.def = rs.rules[e.opts.DefaultRule]
	e.link(rs)
	return rs
}

// deprecated is oslo's _handle_deprecated_rule: an operator override of the
// old name wins (unless it merely points at the new name); otherwise, unless
// new defaults are enforced, the old and new checks are or-ed.
func (e *Enforcer) deprecated(d *Rule, root *node, fileRules map[string]*node) (*node, bool) {
	dep := d.DeprecatedRule
	var probs problemList
	old := parseText(dep.Check, &probs)
	if dep.Name != d.Name {
		if fr, ok := fileRules[dep.Name]; ok {
			since := dep.Since
			if since == "" {
				since = d.DeprecatedSince
			}
			e.log.Warn("policy file overrides a deprecated rule name",
				"deprecated_rule", dep.Name, "rule", d.Name, "since", since)
			if !fr.equal(old) && fr.String() != "rule:"+d.Name {
				return fr, false
			}
		}
	}
	if !e.opts.EnforceNewDefaults && dep.Check != d.Check {
		return &node{op: opOr, kids: []*node{root, old}}, true
	}
	return root, false
}

// link resolves every rule:NAME to its entry, or to the default rule when
// NAME is undefined (oslo's Rules.__missing__), and logs references to
// undefined rules and cycles as oslo's check_rules does.
func (e *Enforcer) link(rs *ruleset) {
	refs := make(map[string][]string, len(rs.rules))
	var undefined []string
	for name, ent := range rs.rules {
		bad := false
		ent.root.walk(func(n *node) {
			if n.op != opRule {
				return
			}
			if t, ok := rs.rules[n.match]; ok {
				n.ref = t
				refs[name] = append(refs[name], n.match)
			} else {
				n.ref = rs.def
				bad = true
			}
		})
		if bad {
			undefined = append(undefined, name)
		}
	}
	if len(undefined) > 0 {
		sort.Strings(undefined)
		e.log.Warn("policies reference a rule that is not defined", "rules", undefined)
	}
	if cyclic := findCycles(refs); len(cyclic) > 0 {
		e.log.Warn("policies are part of a cyclical reference and fail closed where the cycle is reached", "rules", cyclic)
	}
}

// findCycles returns, sorted, the rules from which a cycle of rule:NAME
// references can be reached.
func findCycles(refs map[string][]string) []string {
	const (
		inProgress = 1
		cyclicDone = 2
		cleanDone  = 3
	)
	state := make(map[string]int, len(refs))
	var visit func(string) bool
	visit = func(v string) bool {
		switch state[v] {
		case inProgress, cyclicDone:
			return true
		case cleanDone:
			return false
		}
		state[v] = inProgress
		cyc := false
		for _, w := range refs[v] {
			if visit(w) {
				cyc = true
			}
		}
		if cyc {
			state[v] = cyclicDone
		} else {
			state[v] = cleanDone
		}
		return cyc
	}
	var out []string
	for v := range refs {
		if visit(v) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// Enforce decides whether creds may perform the operation the rule guards
// on target, as oslo's Enforcer.enforce(do_raise=True). It returns nil or an
// *Error: InvalidScope when scope is enforced and the token's scope is not
// one of the rule's scope types, else Forbidden when the check fails. A name
// no rule has is decided by the default rule (Forbidden without one).
//
// target holds the attributes of the object acted on, keyed as the rules'
// %(key)s substitutions name them.
func (e *Enforcer) Enforce(ctx context.Context, rule string, target map[string]any, creds Credentials) error {
	return e.enforce(ctx, e.current(), rule, target, &creds)
}

// Authorize is Enforce for registered rules only: a name no default was
// registered under is a programming error, reported as NotRegistered.
func (e *Enforcer) Authorize(ctx context.Context, rule string, target map[string]any, creds Credentials) error {
	rs := e.current()
	if ent, ok := rs.rules[rule]; !ok || ent.registered == nil {
		return &Error{Kind: NotRegistered, Rule: rule}
	}
	return e.enforce(ctx, rs, rule, target, &creds)
}

func (e *Enforcer) enforce(ctx context.Context, rs *ruleset, name string, target map[string]any, c *Credentials) error {
	var root *node
	if ent, ok := rs.rules[name]; ok {
		if ent.registered != nil && len(ent.registered.ScopeTypes) > 0 {
			if scope := c.tokenScope(); !slices.Contains(ent.registered.ScopeTypes, scope) {
				if e.opts.EnforceScope {
					return &Error{Kind: InvalidScope, Rule: name, ScopeTypes: ent.registered.ScopeTypes, TokenScope: scope}
				}
				e.warnScope(ctx, ent, scope)
			}
		}
		root = ent.root
	} else if rs.def != nil {
		root = rs.def.root
	}
	r := rFalse
	if root != nil {
		r = root.eval(target, c, 0)
	}
	if r == rTrue {
		return nil
	}
	if r == rAbort {
		e.log.ErrorContext(ctx, "policy check cannot be evaluated (oslo.policy would raise); request refused",
			"rule", name, "check", root.String())
	} else if e.log.Enabled(ctx, slog.LevelDebug) {
		e.log.DebugContext(ctx, "policy check failed", "rule", name, "user_id", c.UserID, "project_id", c.ProjectID)
	}
	return &Error{Kind: Forbidden, Rule: name}
}

// warnScope logs, once per rule and token scope, a scope mismatch that is
// not enforced.
func (e *Enforcer) warnScope(ctx context.Context, ent *entry, scope string) {
	if _, seen := e.warned.LoadOrStore(ent.name+"\x00"+scope, struct{}{}); seen {
		return
	}
	e.log.WarnContext(ctx, "policy failed its scope check; with enforce_scope the request would be refused",
		"rule", ent.name, "token_scope", scope, "scope_types", ent.registered.ScopeTypes)
}

// Registered reports whether a default was registered under name.
func (e *Enforcer) Registered(name string) bool {
	ent, ok := e.current().rules[name]
	return ok && ent.registered != nil
}

// Effective returns every rule in effect with its check as oslo renders it
// ("@" as ""), after overrides and deprecated-default handling — what
// oslo's str(Rules) dumps.
func (e *Enforcer) Effective() map[string]string {
	rs := e.current()
	out := make(map[string]string, len(rs.rules))
	for name, ent := range rs.rules {
		if ent.root.op == opTrue {
			out[name] = ""
		} else {
			out[name] = ent.root.String()
		}
	}
	return out
}
