package review

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kmsguard/kmsguard/internal/policyeval"
)

// askedActions are the calls asked of every key, in the order findings list them: the MariaDB plugin's
// two calls and the other cryptographic calls, the administrator's toggle, and the locked changes.
var askedActions = []string{
	"kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
	"kms:CreateGrant", "kms:EnableKey", "kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
}

// adminAccess is the identity policy every asking principal has: the review asks what a principal could do
// at most, whatever IAM grants it (the key policy's delegation to IAM included).
var adminAccess = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}}

// principal is one asker, with the words a finding uses for it.
type principal struct{ arn, label string }

// network is where a request comes from: a public address or a VPC endpoint.
type network struct {
	label string
	ctx   map[string]string
	any   bool // the "any other network" stand-in
}

type question struct {
	who    principal
	action string
	net    network
	mfa    bool
	window int // kms:ScheduleKeyDeletionPendingWindowInDays, 0: not given
}

func (q question) actionLabel() string {
	a := strings.TrimPrefix(q.action, "kms:")
	if q.window > 0 {
		a += fmt.Sprintf(" (%d-day waiting period)", q.window)
	}
	return a
}

// principals are everyone either template names, plus two the templates never name.
func principals(o, n *side) []principal {
	var out []principal
	seen := map[string]bool{}
	add := func(arn, label string) {
		if arn == "" || seen[arn] {
			return
		}
		seen[arn] = true
		out = append(out, principal{arn, label})
	}
	for _, s := range []*side{o, n} {
		if s.admin != "" {
			add(s.admin, "the admin "+lastPart(s.admin))
		}
	}
	for _, s := range []*side{o, n} {
		for _, u := range s.keyUsers {
			add(asker(u), describe(u))
		}
		for _, u := range s.breakGlass {
			add(asker(u), "break-glass "+describe(u))
		}
		for _, u := range s.deploy {
			add(asker(u), "the deploy role "+lastPart(u))
		}
	}
	add("arn:aws:iam::"+fakeAccount+":user/SecurityAdmin", "an administrator of the account")
	add("arn:aws:iam::444455556666:user/intruder", "a principal of another account")
	return out
}

// asker is the ARN that makes a request as a principal: a role asks as one of its sessions.
func asker(arn string) string {
	if i := strings.Index(arn, ":role/"); i > 0 {
		parts := strings.SplitN(arn, ":", 6)
		return "arn:aws:sts::" + parts[4] + ":assumed-role/" + lastPart(arn) + "/review"
	}
	return arn
}

func describe(arn string) string {
	switch {
	case strings.Contains(arn, ":role/"):
		return "role " + lastPart(arn)
	case strings.HasSuffix(arn, ":root"):
		return "the account root"
	}
	return lastPart(arn)
}

// networks are each range and endpoint either template allows, and one address and one endpoint neither
// allows ("any network").
func networks(o, n *side) []network {
	var out []network
	var cidrs, vpces []string
	for _, s := range []*side{o, n} {
		for _, c := range s.cidrs {
			if !slices.Contains(cidrs, c) {
				cidrs = append(cidrs, c)
			}
		}
		for _, v := range s.vpces {
			if !slices.Contains(vpces, v) {
				vpces = append(vpces, v)
			}
		}
	}
	var prefixes []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			continue
		}
		prefixes = append(prefixes, p)
		addr := p.Addr()
		if p.Bits() < addr.BitLen() {
			addr = addr.Next()
		}
		out = append(out, network{label: "from " + c, ctx: map[string]string{"aws:SourceIp": addr.String(), "aws:ViaAWSService": "false"}})
	}
	for _, v := range vpces {
		out = append(out, network{label: "through " + v, ctx: map[string]string{"aws:SourceVpce": v, "aws:ViaAWSService": "false"}})
	}
	outside := ""
	for _, cand := range []string{"192.0.2.44", "198.51.100.200", "203.0.113.200", "2001:db8:ffff::1"} {
		a := netip.MustParseAddr(cand)
		inside := false
		for _, p := range prefixes {
			inside = inside || p.Contains(a)
		}
		if !inside {
			outside = cand
			break
		}
	}
	out = append(out, network{label: "from any network", any: true, ctx: map[string]string{"aws:SourceIp": outside, "aws:ViaAWSService": "false"}})
	otherVpce := "vpce-0aaaaaaaaaaaaaaaa"
	for slices.Contains(vpces, otherVpce) {
		otherVpce = "vpce-0bbbbbbbbbbbbbbbb"
	}
	out = append(out, network{label: "through any VPC endpoint", any: true, ctx: map[string]string{"aws:SourceVpce": otherVpce, "aws:ViaAWSService": "false"}})
	return out
}

func questions(o, n *side) []question {
	var out []question
	for _, who := range principals(o, n) {
		for _, action := range askedActions {
			windows := []int{0}
			if action == "kms:ScheduleKeyDeletion" {
				windows = []int{30, 7}
			}
			for _, w := range windows {
				for _, net := range networks(o, n) {
					for _, mfa := range []bool{true, false} {
						out = append(out, question{who, action, net, mfa, w})
					}
				}
			}
		}
	}
	return out
}

func (q question) request() policyeval.Request {
	ctx := map[string]string{}
	for k, v := range q.net.ctx {
		ctx[k] = v
	}
	if q.mfa {
		ctx["aws:MultiFactorAuthPresent"] = "true"
	}
	if q.window > 0 {
		ctx["kms:ScheduleKeyDeletionPendingWindowInDays"] = fmt.Sprint(q.window)
	}
	return policyeval.Request{Principal: q.who.arn, Action: q.action, Context: ctx, IdentityPolicies: []any{adminAccess}}
}

// diffKeys asks every question of each kmsguard key in both templates and words what changed: per key,
// principal and action, the networks (with or without MFA) where the call became possible or impossible.
func diffKeys(o, n *side) ([]Finding, error) {
	var out []Finding
	qs := questions(o, n)
	for _, role := range []string{"master-key", "audit-key", "alerts-key", "security-alerts-key"} {
		op, np := o.policies[role], n.policies[role]
		keyName := keyRoles[role]
		switch {
		case op == nil && np == nil:
			continue
		case op == nil:
			out = append(out, Finding{Area: AreaKeys, Subject: keyName, Text: keyName + " is new"})
			continue
		case np == nil:
			out = append(out, Finding{Area: AreaKeys, Subject: keyName, Weaker: true, Text: keyName + " is gone from the template"})
			continue
		}
		type group struct {
			who    principal
			action string
			gained []question
			lost   []question
			oldOK  map[string]bool
		}
		var groups []*group
		index := map[string]*group{}
		for _, q := range qs {
			a, err := policyeval.Evaluate(op, q.request())
			if err != nil {
				return nil, fmt.Errorf("old template, %s: %w", keyName, err)
			}
			b, err := policyeval.Evaluate(np, q.request())
			if err != nil {
				return nil, fmt.Errorf("new template, %s: %w", keyName, err)
			}
			k := q.who.arn + " " + q.actionLabel()
			g := index[k]
			if g == nil {
				g = &group{who: q.who, action: q.actionLabel(), oldOK: map[string]bool{}}
				index[k] = g
				groups = append(groups, g)
			}
			if a == policyeval.Allowed {
				g.oldOK[fmt.Sprint(q.net.label, q.mfa)] = true
			}
			switch {
			case a != policyeval.Allowed && b == policyeval.Allowed:
				g.gained = append(g.gained, q)
			case a == policyeval.Allowed && b != policyeval.Allowed:
				g.lost = append(g.lost, q)
			}
		}
		allNets := len(networks(o, n))
		for _, g := range groups {
			if len(g.gained) > 0 {
				out = append(out, Finding{Area: AreaKeys, Subject: keyName, Weaker: true,
					Text: phrase(g.who.label, g.action, keyName, g.gained, g.oldOK, true, allNets)})
			}
			if len(g.lost) > 0 {
				out = append(out, Finding{Area: AreaKeys, Subject: keyName,
					Text: phrase(g.who.label, g.action, keyName, g.lost, g.oldOK, false, allNets)})
			}
		}
	}
	return out, nil
}

// phrase words a change: "MDBEnc can now Decrypt from any network", "the admin MDBEncAdmin no longer needs
// MFA for DisableKey", "MDBEnc can no longer Decrypt from 198.51.100.7/32".
func phrase(who, action, key string, qs []question, oldOK map[string]bool, gained bool, allNets int) string {
	withMfa, withoutMfa := map[string]bool{}, map[string]bool{}
	var order []string
	for _, q := range qs {
		if !slices.Contains(order, q.net.label) {
			order = append(order, q.net.label)
		}
		if q.mfa {
			withMfa[q.net.label] = true
		} else {
			withoutMfa[q.net.label] = true
		}
	}
	var both, mfaOnly, noMfaOnly []string
	for _, l := range order {
		switch {
		case withMfa[l] && withoutMfa[l]:
			both = append(both, l)
		case withMfa[l]:
			mfaOnly = append(mfaOnly, l)
		default:
			noMfaOnly = append(noMfaOnly, l)
		}
	}
	on := ""
	if key != "the master key" {
		on = " on " + key
	}
	var parts []string
	if gained {
		if len(both) > 0 {
			parts = append(parts, fmt.Sprintf("%s can now %s%s %s", who, action, on, nets(both)))
		}
		if len(mfaOnly) > 0 {
			parts = append(parts, fmt.Sprintf("%s can now %s%s with an MFA session %s", who, action, on, nets(mfaOnly)))
		}
		if len(noMfaOnly) > 0 {
			// allowed with MFA before, now without: the MFA requirement is gone there
			needed := true
			for _, l := range noMfaOnly {
				needed = needed && oldOK[fmt.Sprint(l, true)]
			}
			if needed {
				parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s no longer needs MFA for %s%s %s", who, action, on, netsOrAll(noMfaOnly, allNets))))
			} else {
				parts = append(parts, fmt.Sprintf("%s can now %s%s without MFA %s", who, action, on, nets(noMfaOnly)))
			}
		}
	} else {
		if len(both) > 0 {
			parts = append(parts, fmt.Sprintf("%s can no longer %s%s %s", who, action, on, nets(both)))
		}
		if len(mfaOnly) > 0 {
			parts = append(parts, fmt.Sprintf("%s can no longer %s%s with an MFA session %s", who, action, on, nets(mfaOnly)))
		}
		if len(noMfaOnly) > 0 {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s now needs MFA for %s%s %s", who, action, on, netsOrAll(noMfaOnly, allNets))))
		}
	}
	return strings.Join(parts, "; ")
}

// netsOrAll is nets, or nothing when the labels are every network asked: "no longer needs MFA for
// DisableKey" needs no "from anywhere".
func netsOrAll(labels []string, all int) string {
	if len(labels) == all {
		return ""
	}
	return nets(labels)
}

// nets lists networks; "from any network" and "through any VPC endpoint" together say "from any network or
// endpoint", and stand for every allowed range they come with.
func nets(labels []string) string {
	anyIP, anyVpce := slices.Contains(labels, "from any network"), slices.Contains(labels, "through any VPC endpoint")
	switch {
	case anyIP && anyVpce:
		return "from any network or VPC endpoint"
	case anyIP:
		var rest []string
		for _, l := range labels {
			if strings.HasPrefix(l, "through ") {
				rest = append(rest, l)
			}
		}
		return strings.Join(append([]string{"from any network"}, rest...), ", ")
	case anyVpce:
		var rest []string
		for _, l := range labels {
			if strings.HasPrefix(l, "from ") {
				rest = append(rest, l)
			}
		}
		return strings.Join(append([]string{"through any VPC endpoint"}, rest...), ", ")
	}
	return strings.Join(labels, ", ")
}
