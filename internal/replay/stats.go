package replay

import (
	"fmt"
	"io"
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
	Tier       string          `json:"tier"`
	Events     int             `json:"events"` // an event counts once per tier
	EventNames []Count         `json:"topEventNames"`
	Principals []Count         `json:"topPrincipals"`
	names      map[string]*int // counts behind pointers: see bump
	principals map[string]*int
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

// PlaceStats counts the records of one account and region
// (recipientAccountId, awsRegion) and how many of them would alert, per tier.
type PlaceStats struct {
	Account  string         `json:"account"`
	Region   string         `json:"region"`
	Records  int            `json:"records"`
	Alerting int            `json:"alerting"`
	Tiers    map[string]int `json:"tiers,omitempty"`
}

// Summary is the result of a replay.
type Summary struct {
	Files          int         `json:"files"`
	DigestFiles    int         `json:"digestFiles"` // CloudTrail-Digest files, skipped
	Interrupted    bool        `json:"interrupted,omitempty"`
	Records        int         `json:"records"`
	Problems       int         `json:"problems"`
	NotDelivered   int         `json:"notDelivered"`   // eventType EventBridge never receives
	ReadOnly       int         `json:"readOnly"`       // read-only management events
	HiddenReadOnly int         `json:"hiddenReadOnly"` // of those, matched only by ENABLED rules' patterns
	Tiers          []TierStats `json:"tiers"`
	Rules          []RuleStats `json:"rules"`
	// Places is per account and region, sorted by account then region.
	Places []PlaceStats `json:"accountsAndRegions"`
	places map[place]*PlaceStats
}

// Principal names who made the call: userIdentity.arn, otherwise the
// identity type with invokedBy or principalId.
func Principal(record ep.Value) string {
	id := record.Member("userIdentity")
	if id == nil {
		return "unknown"
	}
	str := func(k string) string {
		if v := id.Member(k); v != nil {
			return v.Str()
		}
		return ""
	}
	if arn := str("arn"); arn != "" {
		return arn
	}
	t := str("type")
	for _, k := range []string{"invokedBy", "principalId"} {
		if s := str(k); s != "" {
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
	s := &Summary{places: map[place]*PlaceStats{}}
	for _, t := range rules.TierNames() {
		s.Tiers = append(s.Tiers, TierStats{Tier: t, names: map[string]*int{}, principals: map[string]*int{}})
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

// bump counts k, cloning it when it is new. The counts are behind pointers
// because assigning to an existing string key replaces the key with the one
// assigned (the Go runtime updates string keys), and k may be a string the
// caller's buffer overwrites later: only a new key, the clone, is ever stored.
func bump(m map[string]*int, k string) {
	if k == "" {
		k = "unknown"
	}
	if n := m[k]; n != nil {
		*n++
		return
	}
	one := 1
	m[strings.Clone(k)] = &one
}

// merge adds one batch, in input order: problems, counts, alerts and their
// --show lines.
func (s *Summary) merge(r *batchResult, show io.Writer, report func(Problem)) {
	for _, p := range r.problems {
		report(p)
	}
	s.Records += r.records
	s.NotDelivered += r.notDelivered
	s.ReadOnly += r.readOnly
	s.HiddenReadOnly += r.hiddenReadOnly
	for i := range s.Rules {
		s.Rules[i].Matched += r.matched[i]
		s.Rules[i].HiddenReadOnly += r.hidden[i]
	}
	for pl, c := range r.places {
		ps := s.places[pl]
		if ps == nil {
			ps = &PlaceStats{Account: strings.Clone(pl.account), Region: strings.Clone(pl.region)}
			s.places[place{ps.Account, ps.Region}] = ps
		}
		ps.Records += c.records
		ps.Alerting += c.alerting
	}
	for _, a := range r.alerts {
		ps := s.places[place{a.account, a.region}]
		for i := range s.Tiers {
			if a.tiers&(1<<i) == 0 {
				continue
			}
			t := &s.Tiers[i]
			t.Events++
			bump(t.names, a.name)
			bump(t.principals, a.principal)
			if ps.Tiers == nil {
				ps.Tiers = map[string]int{}
			}
			ps.Tiers[t.Tier]++
		}
		if show != nil {
			fmt.Fprintln(show, a.show)
		}
	}
}

// finish fills the top-N lists (count descending, then name) and the
// per-place list.
func (s *Summary) finish(top int) {
	s.Places = s.Places[:0]
	for _, ps := range s.places {
		s.Places = append(s.Places, *ps)
	}
	sort.Slice(s.Places, func(i, j int) bool {
		if s.Places[i].Account != s.Places[j].Account {
			return s.Places[i].Account < s.Places[j].Account
		}
		return s.Places[i].Region < s.Places[j].Region
	})
	for i := range s.Tiers {
		t := &s.Tiers[i]
		t.EventNames = topN(t.names, top)
		t.Principals = topN(t.principals, top)
	}
}

func topN(m map[string]*int, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, *v})
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

// WritePlaces prints the per account and region lines of the summary, and
// the digest files skipped.
func (s *Summary) WritePlaces(w io.Writer) {
	if s.DigestFiles > 0 {
		fmt.Fprintf(w, "\n%d CloudTrail digest files skipped.\n", s.DigestFiles)
	}
	if len(s.Places) == 0 {
		return
	}
	fmt.Fprintln(w, "\naccounts and regions:")
	for _, p := range s.Places {
		var tiers []string
		for t, n := range p.Tiers {
			tiers = append(tiers, fmt.Sprintf("%s %d", t, n))
		}
		sort.Strings(tiers)
		fmt.Fprintf(w, "  %-12s %-16s %8d records %8d alerting  %s\n", orDash(p.Account), orDash(p.Region), p.Records, p.Alerting, strings.Join(tiers, ", "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
