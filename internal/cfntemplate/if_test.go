package cfntemplate

import (
	"strings"
	"testing"
)

// TestFnIfFollowsItsConditionAndLongestTakesTheLongerBranch: a template with a per-region condition (the
// fleet's multi-Region key, docs/fleet.md) resolves Fn::If to the branch of the region asked for; the
// quota checker's Longest resolver takes the longer branch whatever the region; a condition the template
// does not define stays unresolved (the control: nothing is guessed).
func TestFnIfFollowsItsConditionAndLongestTakesTheLongerBranch(t *testing.T) {
	tpl := &Template{Conditions: map[string]any{
		"IsHome":  map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, "eu-west-1"}},
		"NotHome": map[string]any{"Fn::Not": []any{map[string]any{"Condition": "IsHome"}}},
	}}
	v := map[string]any{"Fn::If": []any{"IsHome", "primary", "the-replica"}}
	notHome := map[string]any{"Fn::If": []any{"NotHome", "replica-side", "home-side"}}
	for region, want := range map[string][2]string{"eu-west-1": {"primary", "home-side"}, "us-east-1": {"the-replica", "replica-side"}} {
		r := &Resolver{Template: tpl, Pseudo: Pseudo{Region: region}}
		got, u := r.String(v)
		got2, u2 := r.String(notHome)
		if got != want[0] || got2 != want[1] || len(u)+len(u2) != 0 {
			t.Errorf("%s: Fn::If gives %q and %q (%v %v), want %q and %q", region, got, got2, u, u2, want[0], want[1])
		}
	}
	if got, _ := Longest(tpl, 40, nil).String(v); got != "the-replica" {
		t.Errorf("Longest resolves Fn::If to %q, want the longer branch", got)
	}
	r := &Resolver{Template: tpl, Pseudo: Pseudo{Region: "eu-west-1"}}
	got, u := r.String(map[string]any{"Fn::If": []any{"Undefined", "a", "b"}})
	if len(u) != 1 || !strings.HasPrefix(got, UnresolvedPrefix) {
		t.Errorf("control: an undefined condition resolved to %q (%v)", got, u)
	}
}
