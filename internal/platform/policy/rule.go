package policy

import (
	"fmt"
	"slices"
)

// Scope types a rule may be meant for, as Keystone names token scopes.
const (
	ScopeSystem  = "system"
	ScopeDomain  = "domain"
	ScopeProject = "project"
)

// Rule is a policy default registered in code: oslo.policy's RuleDefault
// and DocumentedRuleDefault.
type Rule struct {
	// Name is what the service enforces ("os_compute_api:servers:create")
	// and what rule:NAME refers to.
	Name string
	// Check is the default check string, in the policy language.
	Check string
	// Description tells operators what the rule protects; it heads the
	// rule's entry in the sample file.
	Description string
	// ScopeTypes are the token scopes the operation is meant for
	// (ScopeSystem, ScopeDomain, ScopeProject). With Options.EnforceScope a
	// token of another scope is refused before the check is evaluated. nil
	// means any scope.
	ScopeTypes []string
	// Operations are the API calls the rule protects, for the sample file.
	Operations []Operation
	// DeprecatedRule is the rule this one replaces, or the old check string
	// of this very rule. Unless Options.EnforceNewDefaults is set, the old
	// check is or-ed with the new one so that upgrades break no one.
	DeprecatedRule *DeprecatedRule
	// DeprecatedForRemoval marks a rule that will go away;
	// DeprecatedReason and DeprecatedSince must then say why and since when.
	DeprecatedForRemoval bool
	DeprecatedReason     string
	DeprecatedSince      string
}

// Operation is one API call a rule protects.
type Operation struct {
	Method string // "GET", "POST", ...
	Path   string // "/servers/{server_id}"
}

// DeprecatedRule is a former name or check string of a rule.
type DeprecatedRule struct {
	Name   string
	Check  string
	Reason string
	Since  string
}

// validateRules checks the registered defaults the way oslo does when a
// RuleDefault is created and registered.
func validateRules(defaults []Rule) error {
	seen := make(map[string]bool, len(defaults))
	for _, r := range defaults {
		if r.Name == "" {
			return fmt.Errorf("policy: a rule has no name")
		}
		if seen[r.Name] {
			return fmt.Errorf("policy: rule %s is already registered", r.Name)
		}
		seen[r.Name] = true
		for i, s := range r.ScopeTypes {
			switch s {
			case ScopeSystem, ScopeDomain, ScopeProject:
			default:
				return fmt.Errorf("policy: rule %s: unknown scope type %q", r.Name, s)
			}
			if slices.Index(r.ScopeTypes, s) != i {
				return fmt.Errorf("policy: rule %s: scope types must be unique", r.Name)
			}
		}
		if r.DeprecatedForRemoval && (r.DeprecatedReason == "" || r.DeprecatedSince == "") {
			return fmt.Errorf("policy: rule %s is deprecated for removal without a reason and a release", r.Name)
		}
		if r.DeprecatedRule != nil && r.DeprecatedRule.Name == "" {
			return fmt.Errorf("policy: rule %s: its deprecated rule has no name", r.Name)
		}
		for _, op := range r.Operations {
			if op.Method == "" || op.Path == "" {
				return fmt.Errorf("policy: rule %s: an operation needs a method and a path", r.Name)
			}
		}
	}
	return nil
}
