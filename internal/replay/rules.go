package replay

import (
	"slices"
	"sort"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// State is an AWS::Events::Rule State.
type State string

// Rule states. ENABLED rules do not receive read-only management events.
const (
	Enabled                 State = "ENABLED"
	Disabled                State = "DISABLED"
	EnabledWithAllMgmtEvent State = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
)

// Rule is one AWS::Events::Rule of a template, with its pattern compiled
// and its intrinsics resolved.
type Rule struct {
	LogicalID        string
	Tier             string // Metadata "kmsguard:tier", or LogicalID
	State            State
	Pattern          *ep.Pattern
	PatternJSON      []byte            // the resolved pattern
	InputTransformer *InputTransformer // first target's, if any
}

// InputTransformer is a target's InputTransformer (kept for display).
type InputTransformer struct {
	InputPathsMap map[string]string
	InputTemplate string
}

// Receives reports whether EventBridge would hand the event to this rule
// at all, given the rule state (before pattern matching).
func (r *Rule) Receives(ev Event) bool {
	switch {
	case !ev.Delivered || r.State == Disabled:
		return false
	case ev.ReadOnly:
		return r.State == EnabledWithAllMgmtEvent
	default:
		return true
	}
}

// Matches reports whether the rule fires for the event: state and pattern.
func (r *Rule) Matches(ev Event) bool { return r.Receives(ev) && r.Pattern.Match(ev.Value) }

// Rules is the rule set of one template.
type Rules []Rule

// Tiers returns the sorted tiers with at least one rule that fires for ev.
func (rs Rules) Tiers(ev Event) []string {
	var out []string
	for i := range rs {
		if rs[i].Matches(ev) && !slices.Contains(out, rs[i].Tier) {
			out = append(out, rs[i].Tier)
		}
	}
	sort.Strings(out)
	return out
}

// TierNames returns every tier of the set, sorted.
func (rs Rules) TierNames() []string {
	var out []string
	for i := range rs {
		if !slices.Contains(out, rs[i].Tier) {
			out = append(out, rs[i].Tier)
		}
	}
	sort.Strings(out)
	return out
}
