package api

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"github.com/tenku-cloud/tenku/internal/platform/authn"
	"github.com/tenku-cloud/tenku/internal/platform/fault"
	"github.com/tenku-cloud/tenku/internal/platform/policy"
)

// authz enforces Neutron's rules. Neutron's policy engine has two check kinds
// oslo.policy lacks; both are answered from what the API knows of the target:
//
//   - field checks ("field:networks:shared=True") become a "field" credential
//     listing the facts true of the target ("networks:shared=True", ...);
//   - owner checks ("project_id:%(network:project_id)s") read target keys the
//     API fills in ("network:project_id").
type authz struct {
	enf *policy.Enforcer
}

func newAuthz(file string, enforceScope bool, log *slog.Logger) (*authz, error) {
	opts := policy.DefaultOptions()
	opts.PolicyFile = file
	opts.EnforceScope = enforceScope
	opts.Logger = log
	e, err := policy.New(defaultRules, opts)
	if err != nil {
		return nil, err
	}
	return &authz{enf: e}, nil
}

// target is what a rule is checked against.
type target struct {
	attrs map[string]any
	facts []string
}

func (z *authz) creds(a *authn.Context, facts []string) policy.Credentials {
	c := policy.FromAuthn(a)
	c.Extra = map[string]any{"field": facts}
	if a != nil {
		c.Extra["tenant_id"] = a.ProjectID
	}
	return c
}

// allowed evaluates a rule.
func (z *authz) allowed(ctx context.Context, a *authn.Context, rule string, t target) bool {
	return z.enf.Enforce(ctx, rule, t.attrs, z.creds(a, t.facts)) == nil
}

// check evaluates a rule and turns a denial into Neutron's 403.
func (z *authz) check(ctx context.Context, a *authn.Context, rule string, t target) error {
	err := z.enf.Enforce(ctx, rule, t.attrs, z.creds(a, t.facts))
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return denied(rule)
	}
	return err
}

// checkAll enforces an action and the attribute rules that apply to it, as
// one rule, the way Neutron builds "(rule:create_network and
// rule:create_network:shared)".
func (z *authz) checkAll(ctx context.Context, a *authn.Context, action string, attrs []string, t target) error {
	rules := []string{action}
	for _, at := range attrs {
		r := action + ":" + at
		if z.enf.Registered(r) {
			rules = append(rules, r)
		}
	}
	for _, r := range rules {
		if !z.allowed(ctx, a, r, t) {
			if len(rules) == 1 {
				return denied(action)
			}
			return denied(strings.Join(rules, " and rule:"))
		}
	}
	return nil
}

func denied(rule string) error {
	return fault.Forbidden("(rule:%s) is disallowed by policy", rule).WithType("PolicyNotAuthorized")
}

// registered reports whether a rule exists.
func (z *authz) registered(rule string) bool { return z.enf.Registered(rule) }

// visibility caches get rules over the items of one list: the result of a
// rule depends only on the target's owners and facts, which most items share.
type visibility struct {
	z       *authz
	ctx     context.Context
	a       *authn.Context
	cache   map[visKey]bool
	hiddenC map[visKey][]string

	fast       map[fastKey]bool
	fastHidden map[fastKey][]string
}

// visKey identifies what of a target the rules can look at.
type visKey struct {
	rule, owners, facts string
}

func (z *authz) newVisibility(ctx context.Context, a *authn.Context) *visibility {
	return &visibility{z: z, ctx: ctx, a: a, cache: map[visKey]bool{}, hiddenC: map[visKey][]string{}}
}

// ownerKeys are the target keys rules read.
var ownerKeys = []string{"project_id", "network:project_id", "security_group:project_id", "ext_parent:project_id", "device_owner"}

func keyOf(rule string, t target) visKey {
	var b strings.Builder
	for _, k := range ownerKeys {
		if v, ok := t.attrs[k]; ok {
			s, _ := v.(string)
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(s)
			b.WriteByte(';')
		}
	}
	return visKey{rule: rule, owners: b.String(), facts: strings.Join(t.facts, ",")}
}

func (v *visibility) allowed(rule string, t target) bool {
	k := keyOf(rule, t)
	if r, ok := v.cache[k]; ok {
		return r
	}
	r := v.z.allowed(v.ctx, v.a, rule, t)
	v.cache[k] = r
	return r
}

// hidden returns the attributes of a resource the caller may not see.
func (v *visibility) hidden(res string, attrs []string, t target) []string {
	if len(attrs) == 0 {
		return nil
	}
	k := keyOf("hidden:"+res, t)
	if h, ok := v.hiddenC[k]; ok {
		return h
	}
	var out []string
	for _, at := range attrs {
		if !v.z.allowed(v.ctx, v.a, "get_"+res+":"+at, t) {
			out = append(out, at)
		}
	}
	v.hiddenC[k] = out
	return out
}

// fast is a cheap cache key for targets built from plain strings: callers
// that can name what a rule depends on skip building the target at all.
type fastKey struct {
	rule, project, netProject string
	flags                     uint8
}

// allowedFast evaluates rule for a target described by key, building the
// target only on a cache miss.
func (v *visibility) allowedFast(k fastKey, mk func() target) bool {
	if v.fast == nil {
		v.fast = map[fastKey]bool{}
	}
	if r, ok := v.fast[k]; ok {
		return r
	}
	r := v.z.allowed(v.ctx, v.a, k.rule, mk())
	v.fast[k] = r
	return r
}

// hiddenFast is hidden with a fast key.
func (v *visibility) hiddenFast(k fastKey, res string, attrs []string, mk func() target) []string {
	if len(attrs) == 0 {
		return nil
	}
	if v.fastHidden == nil {
		v.fastHidden = map[fastKey][]string{}
	}
	k.rule = "hidden:" + res
	if h, ok := v.fastHidden[k]; ok {
		return h
	}
	h := v.hidden(res, attrs, mk())
	v.fastHidden[k] = h
	return h
}

// attrRules lists the attributes with get rules of a resource.
func (z *authz) attrRules(res string, attrs []string) []string {
	var out []string
	for _, a := range attrs {
		if z.registered("get_" + res + ":" + a) {
			out = append(out, a)
		}
	}
	return slices.Clip(out)
}
