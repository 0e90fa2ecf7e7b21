package test

import (
	"testing"

	"github.com/kmsguard/kmsguard/internal/policyeval"
)

// goEvaluate asks internal/policyeval one simulation question, with the request context simulate.mjs is
// given (TestKeyPolicySimulation compares the two on every question).
func goEvaluate(t *testing.T, policy any, c simCase) string {
	t.Helper()
	var identity []any
	for _, ip := range c.identity {
		identity = append(identity, ip)
	}
	ctx := map[string]string{}
	for k, v := range c.ctx.withPrincipal(c.principal) {
		ctx[k] = v.(string)
	}
	got, err := policyeval.Evaluate(policy, policyeval.Request{Principal: c.principal, Action: c.action, Resource: simKeyArn,
		Context: ctx, IdentityPolicies: identity})
	if err != nil {
		t.Fatalf("%s: internal/policyeval: %v", c.name, err)
	}
	return string(got)
}
