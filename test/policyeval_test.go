package test

import (
	"maps"
	"slices"
	"testing"

	"github.com/kmsguard/kmsguard/internal/policyeval"
)

// TestGoEvaluatorAnswersLikeIamSimulate: kmsguard-summary --diff answers key-policy questions at run time
// with internal/policyeval (no Node, no network; docs/review.md). It must give iam-simulate's answer to
// every question TestKeyPolicySimulation asks, of every configuration's master key policy and of each copy
// without one statement. Those copies are the control: TestKeyPolicySimulation requires each statement to
// decide at least one question, so an evaluator that ignored a statement, an operator or a principal form
// would disagree on that statement's copy.
func TestGoEvaluatorAnswersLikeIamSimulate(t *testing.T) {
	for _, name := range []string{"default", "ip-only", "vpce-only", "ip-and-vpce", "mfa", "existing-users", "hardened"} {
		t.Run(name, func(t *testing.T) {
			cases := simCasesFor(name)
			policy := masterKeyPolicy(t, synth(t, name)).(map[string]any)
			statements := policy["Statement"].([]any)
			variants := []any{policy}
			for i := range statements {
				without := maps.Clone(policy)
				without["Statement"] = slices.Delete(slices.Clone(statements), i, i+1)
				variants = append(variants, without)
			}
			answers := simulateEach(t, variants, cases)
			changed := 0
			for v, p := range variants {
				for q, c := range cases {
					var identity []any
					for _, ip := range c.identity {
						identity = append(identity, ip)
					}
					ctx := map[string]string{}
					for k, val := range c.ctx.withPrincipal(c.principal) {
						ctx[k] = val.(string)
					}
					got, err := policyeval.Evaluate(p, policyeval.Request{Principal: c.principal, Action: c.action,
						Resource: simKeyArn, Context: ctx, IdentityPolicies: identity})
					if err != nil {
						t.Fatalf("variant %d, %s: %v", v, c.name, err)
					}
					if string(got) != answers[v][q].Result {
						t.Errorf("variant %d (0: as synthesized, i: without statement i-1), %s: policyeval says %s, iam-simulate %s",
							v, c.name, got, answers[v][q].Result)
					}
					if v > 0 && answers[v][q].Result != answers[0][q].Result {
						changed++
					}
				}
			}
			if changed == 0 {
				t.Fatalf("no statement's removal changed an answer: the comparison would prove nothing")
			}
		})
	}
}
