package replay

import (
	"sort"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Count is one entry of a top-N list.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// TierStats is what one tier would have alerted on.
type TierStats struct {
	Tier       string  `json:"tier"`
	Events     int     `json:"events"` // an event counts once per tier
	EventNames []Count `json:"topEventNames"`
	Principals []Count `json:"topPrincipals"`
	names      map[string]int
	principals map[string]int
}

// RuleStats counts per rule, including what its state hid.
type RuleStats struct {
	LogicalID string `json:"logicalId"`
	Tier      string `json:"tier"`
	State     State  `json:"state"`
	Matched   int    `json:"matched"`
	// HiddenReadOnly counts read-only management events that match the
	// pattern but that an ENABLED rule never receives.
	HiddenReadOnly int `json:"hiddenReadOnly"`
}

// Summary is the result of a replay.
type Summary struct {
	Files          int         `json:"files"`
	Records        int         `json:"records"`
	Problems       int         `json:"problems"`
	NotDelivered   int         `json:"notDelivered"`   // eventType EventBridge never receives
	ReadOnly       int         `json:"readOnly"`       // read-only management events
	HiddenReadOnly int         `json:"hiddenReadOnly"` // of those, matched only by ENABLED rules' patterns
	Tiers          []TierStats `json:"tiers"`
	Rules          []RuleStats `json:"rules"`
}

// Principal names who made the call: userIdentity.arn, otherwise the
// identity type with invokedBy or principalId.
func Principal(record ep.Value) string {
	id := record.Path("userIdentity")
	if arn := id.Path("arn").Str(); arn != "" {
		return arn
	}
	t := id.Path("type").Str()
	for _, k := range []string{"invokedBy", "principalId"} {
		if s := id.Path(k).Str(); s != "" {
			if t == "" {
				return s
			}
			return t + ":" + s
		}
	}
	if t == "" {
		return "unknown"
	}
	return t
}

func newStats(rules Rules) *Summary {
	s := &Summary{}
	for _, t := range rules.TierNames() {
		s.Tiers = append(s.Tiers, TierStats{Tier: t, names: map[string]int{}, principals: map[string]int{}})
	}
	for _, r := range rules {
		s.Rules = append(s.Rules, RuleStats{LogicalID: r.LogicalID, Tier: r.Tier, State: r.State})
	}
	return s
}

func (s *Summary) tier(name string) *TierStats {
	for i := range s.Tiers {
		if s.Tiers[i].Tier == name {
			return &s.Tiers[i]
		}
	}
	return nil
}

// add records one matching event for a tier. Map keys are cloned so the
// record's backing memory is not retained.
func (t *TierStats) add(record ep.Value) {
	t.Events++
	bump(t.names, record.Path("eventName").Str())
	bump(t.principals, Principal(record))
}

func bump(m map[string]int, k string) {
	if k == "" {
		k = "unknown"
	}
	if _, ok := m[k]; !ok {
		k = strings.Clone(k)
	}
	m[k]++
}

// finish fills the top-N lists: count descending, then name.
func (s *Summary) finish(top int) {
	for i := range s.Tiers {
		t := &s.Tiers[i]
		t.EventNames = topN(t.names, top)
		t.Principals = topN(t.principals, top)
	}
}

func topN(m map[string]int, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
