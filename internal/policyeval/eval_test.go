package policyeval

import (
	"strings"
	"testing"
)

const (
	user  = "arn:aws:iam::111122223333:user/MDBEnc"
	other = "arn:aws:iam::111122223333:user/reporting-app"
	root  = "arn:aws:iam::111122223333:root"
)

var kmsAll = map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}}

func policy(statements ...map[string]any) map[string]any {
	var list []any
	for _, s := range statements {
		list = append(list, s)
	}
	return map[string]any{"Version": "2012-10-17", "Statement": list}
}

func allowUser(actions ...any) map[string]any {
	return map[string]any{"Sid": "AllowUseOfTheKey", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": actions, "Resource": "*",
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": user}}}
}

var (
	rootStatement = map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": root}, "Action": []any{"kms:DisableKey", "kms:Describe*"}, "Resource": "*"}
	denyNetwork   = map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": []any{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource": "*",
		"Condition": map[string]any{"NotIpAddress": map[string]any{"aws:SourceIp": []any{"203.0.113.0/24"}}, "StringNotEquals": map[string]any{"aws:SourceVpce": "vpce-0123456789abcdef0"}}}
	denyNoMfa = map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
		"Condition": map[string]any{"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"}}}
)

func ask(t *testing.T, p any, principal, action string, ctx map[string]string, identity ...any) Result {
	t.Helper()
	r, err := Evaluate(p, Request{Principal: principal, Action: action, Context: ctx, IdentityPolicies: identity})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAnswersFollowKeyPolicyEvaluation: each case is a rule of KMS key policy evaluation (docs/aws-facts.md,
// "Key policy evaluation") with the request on both sides of it, so a case whose rule the evaluator got
// wrong gives the same answer twice and fails.
func TestAnswersFollowKeyPolicyEvaluation(t *testing.T) {
	in := map[string]string{"aws:SourceIp": "203.0.113.5"}
	out := map[string]string{"aws:SourceIp": "192.0.2.44"}
	mfa := map[string]string{"aws:SourceIp": "203.0.113.5", "aws:MultiFactorAuthPresent": "true"}
	for _, c := range []struct {
		name       string
		p          any
		principal  string
		action     string
		ctx        map[string]string
		identity   []any
		want, ctrl Result // ctrl: the same request on the other side of the rule
		ctrlMod    func(*Request)
	}{
		{"a key policy that names the caller allows without IAM", policy(allowUser("kms:Decrypt")), user, "kms:Decrypt", in, nil, Allowed, ImplicitlyDenied,
			func(r *Request) { r.Principal = other }},
		{"the account's root delegates to IAM: allowed with an identity policy", policy(rootStatement), other, "kms:DisableKey", in, []any{kmsAll}, Allowed, ImplicitlyDenied,
			func(r *Request) { r.IdentityPolicies = nil }},
		{"delegation never grants what the root statement does not list", policy(rootStatement), other, "kms:Decrypt", in, []any{kmsAll}, ImplicitlyDenied, Allowed,
			func(r *Request) { r.Action = "kms:DescribeKey" }},
		{"an explicit deny wins: outside the allowed range", policy(allowUser("kms:Decrypt"), denyNetwork), user, "kms:Decrypt", out, nil, ExplicitlyDenied, Allowed,
			func(r *Request) { r.Context = in }},
		{"negated operators match an absent key: through an unlisted endpoint", policy(allowUser("kms:Decrypt"), denyNetwork), user, "kms:Decrypt",
			map[string]string{"aws:SourceVpce": "vpce-0aaaaaaaaaaaaaaaa"}, nil, ExplicitlyDenied, Allowed,
			func(r *Request) { r.Context = map[string]string{"aws:SourceVpce": "vpce-0123456789abcdef0"} }},
		{"BoolIfExists false matches long-term keys (no MFA key)", policy(allowUser("kms:Decrypt"), denyNoMfa), user, "kms:Decrypt", in, nil, ExplicitlyDenied, Allowed,
			func(r *Request) { r.Context = mfa }},
		{"action wildcards: GenerateDataKey* covers WithoutPlaintext", policy(allowUser("kms:GenerateDataKeyWithoutPlaintext"), denyNetwork), user,
			"kms:GenerateDataKeyWithoutPlaintext", out, nil, ExplicitlyDenied, Allowed, func(r *Request) { r.Context = in }},
		{"a role's session is its role for aws:PrincipalArn", policy(map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
			"Condition": map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": "arn:aws:iam::111122223333:role/replica"}}}),
			"arn:aws:sts::111122223333:assumed-role/replica/s1", "kms:Decrypt", in, nil, Allowed, ImplicitlyDenied,
			func(r *Request) { r.Principal = "arn:aws:sts::111122223333:assumed-role/replica-2/s1" }},
		{"NumericLessThan on the deletion window", policy(map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*"},
			map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
				"Condition": map[string]any{"NumericLessThan": map[string]any{"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}}}),
			user, "kms:ScheduleKeyDeletion", map[string]string{"kms:ScheduleKeyDeletionPendingWindowInDays": "7"}, nil, ExplicitlyDenied, Allowed,
			func(r *Request) { r.Context = map[string]string{"kms:ScheduleKeyDeletionPendingWindowInDays": "30"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ask(t, c.p, c.principal, c.action, c.ctx, c.identity...); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
			req := Request{Principal: c.principal, Action: c.action, Context: c.ctx, IdentityPolicies: c.identity}
			c.ctrlMod(&req)
			got, err := Evaluate(c.p, req)
			if err != nil || got != c.ctrl {
				t.Errorf("control (the other side of the rule): got %s %v, want %s", got, err, c.ctrl)
			}
		})
	}
}

// TestWhatItDoesNotKnowIsAnErrorNotAGuess: an operator, a principal form or a statement element outside
// the implemented subset makes Evaluate fail, so a review never reports an answer it did not compute.
func TestWhatItDoesNotKnowIsAnErrorNotAGuess(t *testing.T) {
	for name, st := range map[string]map[string]any{
		"ForAnyValue operator": {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": map[string]any{"ForAnyValue:StringLike": map[string]any{"aws:TagKeys": "x"}}},
		"unknown operator":     {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": map[string]any{"DateLessThan": map[string]any{"aws:CurrentTime": "2020-01-01T00:00:00Z"}}},
		"NotPrincipal":         {"Effect": "Deny", "NotPrincipal": map[string]any{"AWS": user}, "Action": "kms:Decrypt", "Resource": "*"},
		"no Action":            {"Effect": "Allow", "Principal": "*", "Resource": "*"},
	} {
		_, err := Evaluate(policy(allowUser("kms:Decrypt"), st), Request{Principal: user, Action: "kms:Decrypt", Context: map[string]string{"aws:SourceIp": "203.0.113.5"}})
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Control: the same policy without the unknown statement is answered.
	if r, err := Evaluate(policy(allowUser("kms:Decrypt")), Request{Principal: user, Action: "kms:Decrypt"}); err != nil || r != Allowed {
		t.Errorf("control: %s %v", r, err)
	}
	if _, err := Evaluate("not a policy", Request{}); err == nil || !strings.Contains(err.Error(), "resource policy") {
		t.Errorf("a policy that is not an object: %v", err)
	}
}
