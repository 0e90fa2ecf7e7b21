// Package policyeval answers "may this IAM principal make this call on this KMS key?" from the key policy
// and the caller's identity policies, for kmsguard-summary's review of two templates (docs/review.md). The
// test suite asks the same questions of @cloud-copilot/iam-simulate, a Node package that is a test-only
// dependency (AGPL, never shipped); a CLI must not need Node or the network at run time, so this package
// evaluates the subset of the IAM policy language kmsguard's key policies use, and the key-policy simulation
// test asks both evaluators every one of its questions and requires the same answers (docs/review.md).
//
// What it implements (docs/aws-facts.md, "Key policy evaluation"): an explicit Deny in any policy wins; a
// key policy Allow that names the caller (its ARN, its role's ARN for a role session, or "*") allows by
// itself; one that names the caller's account (its root ARN or account id) delegates to IAM, so the call is
// allowed only when an identity policy of the caller allows it too; nothing else allows. Conditions: the
// String, Arn, Bool, Numeric and IP operators, their negated forms and "IfExists", and Null. A negated
// operator matches a request without the key; anything the package does not know is an error, never a
// guess.
package policyeval

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Result is the outcome of one request, in iam-simulate's words.
type Result string

// The three outcomes.
const (
	Allowed          Result = "Allowed"
	ExplicitlyDenied Result = "ExplicitlyDenied" // a Deny statement matched
	ImplicitlyDenied Result = "ImplicitlyDenied" // no Allow matched
)

// Request is one call: who, what, and the request context keys (aws:SourceIp, aws:MultiFactorAuthPresent,
// ...). A key that is absent from Context is absent from the request. aws:PrincipalArn and
// aws:PrincipalAccount are added from Principal when not given, as AWS does for every signed request.
type Request struct {
	Principal        string // an IAM user or role ARN, an STS assumed-role session ARN, or an account root ARN
	Action           string // service:Action
	Resource         string // the key's ARN
	Context          map[string]string
	IdentityPolicies []any // the caller's identity policies, decoded JSON
}

// Evaluate answers one request against a resource policy (decoded JSON, intrinsics resolved).
func Evaluate(resourcePolicy any, req Request) (Result, error) {
	req = withPrincipalKeys(req)
	account := accountOf(req.Principal)
	rstmts, err := statements(resourcePolicy)
	if err != nil {
		return "", fmt.Errorf("resource policy: %w", err)
	}
	var istmts []map[string]any
	for i, p := range req.IdentityPolicies {
		s, err := statements(p)
		if err != nil {
			return "", fmt.Errorf("identity policy %d: %w", i, err)
		}
		istmts = append(istmts, s...)
	}
	directAllow, delegated, identityAllow := false, false, false
	for _, st := range rstmts {
		match, kind, err := matchStatement(st, req, true, account)
		if err != nil {
			return "", err
		}
		if !match {
			continue
		}
		if st["Effect"] == "Deny" {
			return ExplicitlyDenied, nil
		}
		switch kind {
		case principalDirect:
			directAllow = true
		case principalAccount:
			delegated = true
		}
	}
	for _, st := range istmts {
		match, _, err := matchStatement(st, req, false, account)
		if err != nil {
			return "", err
		}
		if !match {
			continue
		}
		if st["Effect"] == "Deny" {
			return ExplicitlyDenied, nil
		}
		identityAllow = true
	}
	if directAllow || (delegated && identityAllow) {
		return Allowed, nil
	}
	return ImplicitlyDenied, nil
}

func withPrincipalKeys(req Request) Request {
	ctx := map[string]string{}
	for k, v := range req.Context {
		ctx[k] = v
	}
	if _, ok := ctx["aws:PrincipalArn"]; !ok {
		if arn := principalArn(req.Principal); arn != "" {
			ctx["aws:PrincipalArn"] = arn
		}
	}
	if _, ok := ctx["aws:PrincipalAccount"]; !ok {
		if a := accountOf(req.Principal); a != "" {
			ctx["aws:PrincipalAccount"] = a
		}
	}
	req.Context = ctx
	return req
}

// principalArn is what aws:PrincipalArn holds: the role's ARN for a role session (docs/aws-facts.md).
func principalArn(p string) string {
	parts := strings.SplitN(p, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	if parts[2] == "sts" && strings.HasPrefix(parts[5], "assumed-role/") {
		role := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
		return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
	}
	return p
}

func accountOf(p string) string {
	parts := strings.SplitN(p, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}

func statements(policy any) ([]map[string]any, error) {
	doc, ok := policy.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("policy is not a JSON object")
	}
	var list []any
	switch s := doc["Statement"].(type) {
	case []any:
		list = s
	case map[string]any:
		list = []any{s}
	default:
		return nil, fmt.Errorf("policy has no Statement list")
	}
	var out []map[string]any
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("statement %d is not an object", i)
		}
		if e := m["Effect"]; e != "Allow" && e != "Deny" {
			return nil, fmt.Errorf("statement %d: Effect %v", i, e)
		}
		for _, k := range []string{"NotPrincipal", "NotResource"} {
			if _, has := m[k]; has {
				return nil, fmt.Errorf("statement %d: %s is not supported", i, k)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

type principalKind int

const (
	principalNone principalKind = iota
	principalDirect
	principalAccount
)

func matchStatement(st map[string]any, req Request, resourcePolicy bool, account string) (bool, principalKind, error) {
	kind := principalDirect
	if resourcePolicy {
		k, err := matchPrincipal(st["Principal"], req.Principal, account)
		if err != nil {
			return false, 0, err
		}
		if k == principalNone {
			return false, 0, nil
		}
		kind = k
	}
	if a, ok := st["Action"]; ok {
		if !anyGlob(strs(a), req.Action, true) {
			return false, 0, nil
		}
	} else if na, ok := st["NotAction"]; ok {
		if anyGlob(strs(na), req.Action, true) {
			return false, 0, nil
		}
	} else {
		return false, 0, fmt.Errorf("statement %v has no Action", st["Sid"])
	}
	if r, ok := st["Resource"]; ok && req.Resource != "" {
		if !anyGlob(strs(r), req.Resource, false) {
			return false, 0, nil
		}
	}
	if c, ok := st["Condition"]; ok {
		m, ok := c.(map[string]any)
		if !ok {
			return false, 0, fmt.Errorf("statement %v: Condition is not an object", st["Sid"])
		}
		for op, block := range m {
			keys, ok := block.(map[string]any)
			if !ok {
				return false, 0, fmt.Errorf("statement %v: condition %s is not an object", st["Sid"], op)
			}
			for key, want := range keys {
				ok, err := condition(op, req.Context, key, strs(want))
				if err != nil {
					return false, 0, fmt.Errorf("statement %v: %w", st["Sid"], err)
				}
				if !ok {
					return false, 0, nil
				}
			}
		}
	}
	return true, kind, nil
}

// matchPrincipal: "*" and {"AWS": "*"} match everyone directly; an ARN matches the caller (a role ARN every
// session of the role); the account's root ARN or bare account id delegate to the account's IAM policies
// (the root itself is matched directly).
func matchPrincipal(p any, caller, account string) (principalKind, error) {
	if p == nil {
		return principalNone, fmt.Errorf("resource policy statement without Principal")
	}
	if s, ok := p.(string); ok {
		if s == "*" {
			return principalDirect, nil
		}
		return principalNone, fmt.Errorf("principal %q is not supported", s)
	}
	m, ok := p.(map[string]any)
	if !ok {
		return principalNone, fmt.Errorf("principal %v is not supported", p)
	}
	best := principalNone
	for typ, v := range m {
		if typ != "AWS" {
			continue // Service, Federated, CanonicalUser: never an IAM caller
		}
		for _, want := range strs(v) {
			switch {
			case want == "*":
				return principalDirect, nil
			case want == caller || want == principalArn(caller):
				return principalDirect, nil
			case account != "" && (want == account || want == "arn:aws:iam::"+account+":root" ||
				strings.HasSuffix(want, ":iam::"+account+":root")):
				if strings.HasSuffix(caller, ":root") {
					return principalDirect, nil
				}
				best = principalAccount
			}
		}
	}
	return best, nil
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case bool:
		return []string{strconv.FormatBool(x)}
	case float64:
		return []string{strconv.FormatFloat(x, 'f', -1, 64)}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strs(e)...)
		}
		return out
	case []string:
		return x
	}
	return []string{fmt.Sprint(v)}
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if glob(p, s, fold) {
			return true
		}
	}
	return false
}

// glob matches IAM wildcards: * any run of characters, ? one character.
func glob(p, s string, fold bool) bool {
	if fold {
		p, s = strings.ToLower(p), strings.ToLower(s)
	}
	// Not path.Match: it treats / specially, IAM does not.
	return wild([]rune(p), []rune(s))
}

func wild(p, s []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if wild(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

var knownOperators = map[string]bool{}

func init() {
	for _, op := range []string{"Null", "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
		"StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool", "IpAddress", "NotIpAddress",
		"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"} {
		knownOperators[op] = true
	}
}

// condition evaluates one operator on one key. The request's value is single-valued (every key kmsguard's
// questions use is).
func condition(op string, ctx map[string]string, key string, want []string) (bool, error) {
	if strings.HasPrefix(op, "ForAnyValue:") || strings.HasPrefix(op, "ForAllValues:") {
		return false, fmt.Errorf("condition operator %s is not supported", op)
	}
	ifExists := strings.HasSuffix(op, "IfExists")
	base := strings.TrimSuffix(op, "IfExists")
	if !knownOperators[base] {
		return false, fmt.Errorf("condition operator %s is not supported", op)
	}
	got, present := ctx[key]
	if base == "Null" {
		if len(want) != 1 {
			return false, fmt.Errorf("Null %s: want one value", key)
		}
		return (want[0] == "true") == !present, nil
	}
	negated := slices.Contains([]string{"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
		"ArnNotLike", "NotIpAddress", "NumericNotEquals"}, base)
	if !present {
		// IfExists: true when absent; a negated operator: true when absent; anything else: false.
		return ifExists || negated, nil
	}
	var pos func(w string) (bool, error)
	switch base {
	case "StringEquals", "StringNotEquals":
		pos = func(w string) (bool, error) { return got == w, nil }
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		pos = func(w string) (bool, error) { return strings.EqualFold(got, w), nil }
	case "StringLike", "StringNotLike":
		pos = func(w string) (bool, error) { return glob(w, got, false), nil }
	case "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike":
		pos = func(w string) (bool, error) { return arnLike(w, got), nil }
	case "Bool":
		pos = func(w string) (bool, error) { return strings.EqualFold(got, w), nil }
	case "IpAddress", "NotIpAddress":
		pos = func(w string) (bool, error) {
			pfx, err := netip.ParsePrefix(w)
			if err != nil {
				a, err2 := netip.ParseAddr(w)
				if err2 != nil {
					return false, fmt.Errorf("%s %s: %q is not an address or range", op, key, w)
				}
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
			a, err := netip.ParseAddr(got)
			if err != nil {
				return false, nil
			}
			return pfx.Contains(a), nil
		}
	case "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		pos = func(w string) (bool, error) {
			x, err1 := strconv.ParseFloat(got, 64)
			y, err2 := strconv.ParseFloat(w, 64)
			if err1 != nil || err2 != nil {
				return false, nil
			}
			switch base {
			case "NumericEquals", "NumericNotEquals":
				return x == y, nil
			case "NumericLessThan":
				return x < y, nil
			case "NumericLessThanEquals":
				return x <= y, nil
			case "NumericGreaterThan":
				return x > y, nil
			}
			return x >= y, nil
		}
	default:
		return false, fmt.Errorf("condition operator %s is not supported", op)
	}
	any := false
	for _, w := range want {
		ok, err := pos(w)
		if err != nil {
			return false, err
		}
		any = any || ok
	}
	if negated {
		return !any, nil
	}
	return any, nil
}

// arnLike compares ARNs part by part, each part a wildcard match (ArnEquals and ArnLike behave alike).
func arnLike(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i], false) {
			return false
		}
	}
	return true
}
