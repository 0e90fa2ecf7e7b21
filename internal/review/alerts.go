package review

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/replay"
	"github.com/kmsguard/kmsguard/test/testdata"
)

// labelled is one line of the corpus or of an attack file (test/testdata/cloudtrail/README.md).
type labelled struct {
	Name   string          `json:"name"`
	Record json.RawMessage `json:"record"`
	Event  json.RawMessage `json:"event"`
	// Touches is what a red-team attack disables, each entry one of {"topic": ARN}, {"subscription":
	// topic ARN}, {"key": ARN}, {"rule": name} or {"queue": URL} (placeholders allowed).
	Touches []map[string]string `json:"touches"`
	source  string
}

// touched is an attack's Touches with one template's names filled in, by kind.
type touched map[string]map[string]bool

func (e labelled) touched(vars map[string]string) touched {
	t := touched{}
	for _, entry := range e.Touches {
		for kind, v := range entry {
			if kind == "subscription" {
				kind = "topic" // the topic's subscribers are gone: nothing it publishes arrives
			}
			if t[kind] == nil {
				t[kind] = map[string]bool{}
			}
			t[kind][fill(v, vars)] = true
		}
	}
	return t
}

func fill(s string, vars map[string]string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// labelledEvents reads the embedded corpus and red-team attacks.
func labelledEvents() ([]labelled, error) {
	files, err := fs.Glob(testdata.Labelled, "redteam/*.jsonl")
	if err != nil {
		return nil, err
	}
	files = append([]string{"cloudtrail/corpus.jsonl"}, files...)
	var out []labelled
	for _, f := range files {
		data, err := fs.ReadFile(testdata.Labelled, f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var e labelled
			if err := json.Unmarshal(line, &e); err != nil {
				return nil, fmt.Errorf("embedded %s:%d: %w", f, n, err)
			}
			e.source = f
			out = append(out, e)
		}
	}
	return out, nil
}

var placeholder = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// event fills the placeholders with one template's values and wraps a CloudTrail record as EventBridge
// delivers it.
func (e labelled) event(vars map[string]string) (replay.Event, error) {
	raw := e.Record
	if len(e.Event) > 0 {
		raw = e.Event
	}
	filled := placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		v, ok := vars[string(m[2:len(m)-1])]
		if !ok {
			return m
		}
		b, _ := json.Marshal(v)
		return b[1 : len(b)-1]
	})
	var m map[string]any
	if err := json.Unmarshal(filled, &m); err != nil {
		return replay.Event{}, err
	}
	if len(e.Event) > 0 {
		v, err := ep.ValueOf(m)
		return replay.Event{Value: v, Delivered: true}, err
	}
	return replay.WrapRecord(m)
}

// outcome is what one event raises in one template: the tiers and the destinations they reach.
type outcome struct {
	tiers []string
	dests []string
}

func (s *side) outcome(ev replay.Event) outcome { return s.outcomeUnder(ev, nil) }

// outcomeUnder is the outcome while an attack has disabled what t names: a rule it touched raises nothing,
// and a route whose topic, topic key or dead-letter queue it touched delivers nothing (the event still
// alerts in its tier when some route is left).
func (s *side) outcomeUnder(ev replay.Event, t touched) outcome {
	var o outcome
	for i := range s.rules {
		r := &s.rules[i]
		if !r.Matches(ev) {
			continue
		}
		if !slices.Contains(o.tiers, r.Tier) {
			o.tiers = append(o.tiers, r.Tier)
		}
		for _, rt := range s.routes[r.LogicalID] {
			if t["rule"][rt.rule] || t["topic"][rt.topic] || t["key"][rt.key] || (rt.queue != "" && t["queue"][rt.queue]) {
				continue
			}
			if !slices.Contains(o.dests, rt.dest) {
				o.dests = append(o.dests, rt.dest)
			}
		}
	}
	sort.Strings(o.tiers)
	sort.Strings(o.dests)
	return o
}

// diffAlerts replays the labelled corpus and the red-team attacks through both templates' rules (each
// filled with its own template's names), then every branch of every old rule through the new rules and
// every branch of every new rule through the old ones (renamed to the other template's names), and words
// each event whose tiers or destinations changed.
func diffAlerts(o, n *side) ([]Finding, error) {
	entries, err := labelledEvents()
	if err != nil {
		return nil, err
	}
	var out []Finding
	seen := map[string]bool{}
	add := func(f Finding) {
		if !seen[f.Text] {
			seen[f.Text] = true
			out = append(out, f)
		}
	}
	for _, e := range entries {
		oe, err := e.event(o.vars)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", e.source, e.Name, err)
		}
		ne, err := e.event(n.vars)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", e.source, e.Name, err)
		}
		name := e.Name
		if len(e.Touches) > 0 {
			name = fmt.Sprintf("the attack %q", e.Name)
		}
		for _, f := range compare(name, o.outcomeUnder(oe, e.touched(o.vars)), n.outcomeUnder(ne, e.touched(n.vars))) {
			add(f)
		}
	}
	// Branches: what one side's rules were written to catch, asked of the other side.
	branch := func(from, to *side, forward bool) error {
		pairs := renames(from, to)
		for i := range from.rules {
			r := &from.rules[i]
			var pattern map[string]any
			if err := json.Unmarshal(r.PatternJSON, &pattern); err != nil {
				return err
			}
			examples, err := ep.Examples(pattern)
			if err != nil {
				return fmt.Errorf("rule %s: %w", r.LogicalID, err)
			}
			for _, ex := range examples {
				fv, err := ep.ValueOf(ex)
				if err != nil {
					return err
				}
				tv, err := ep.ValueOf(renamed(ex, pairs))
				if err != nil {
					return err
				}
				d, _ := ex["detail"].(map[string]any)
				readOnly := d["readOnly"] == true
				fe := replay.Event{Value: fv, Delivered: true, ReadOnly: readOnly}
				te := replay.Event{Value: tv, Delivered: true, ReadOnly: readOnly}
				name := describeEvent(ex)
				if forward {
					for _, f := range compare(name, from.outcome(fe), to.outcome(te)) {
						add(f)
					}
				} else {
					for _, f := range compare(name, to.outcome(te), from.outcome(fe)) {
						add(f)
					}
				}
			}
		}
		return nil
	}
	if err := branch(o, n, true); err != nil {
		return nil, fmt.Errorf("old template: %w", err)
	}
	if err := branch(n, o, false); err != nil {
		return nil, fmt.Errorf("new template: %w", err)
	}
	return out, nil
}

// describeEvent names a branch event by its call: "cloudtrail StopLogging", or its detail-type.
func describeEvent(ev map[string]any) string {
	d, _ := ev["detail"].(map[string]any)
	name, _ := d["eventName"].(string)
	src, _ := d["eventSource"].(string)
	src = strings.TrimSuffix(src, ".amazonaws.com")
	if name != "" {
		s := src + " " + name
		// The generator fills an errorCode pattern with made-up values; what matters is denied or failed.
		if ec, ok := d["errorCode"].(string); ok && ec != "" {
			if strings.Contains(ec, "AccessDenied") || strings.Contains(ec, "Unauthorized") || strings.Contains(ec, "AuthorizationError") {
				s += " (denied)"
			} else {
				s += " (failed)"
			}
		}
		return s
	}
	dt, _ := ev["detail-type"].(string)
	if dt == "" {
		dt = "an event"
	}
	return strings.TrimSpace(fmt.Sprint(ev["source"]) + " " + dt)
}

// compare words one event's change: a tier lost is weaker, a destination lost (the event still alerting)
// is weaker, anything gained is not.
func compare(name string, a, b outcome) []Finding {
	var out []Finding
	for _, t := range a.tiers {
		if !slices.Contains(b.tiers, t) {
			text := fmt.Sprintf("%s no longer alerts (tier %s)", name, t)
			if len(b.tiers) > 0 {
				text = fmt.Sprintf("%s no longer alerts in tier %s (now %s)", name, t, strings.Join(b.tiers, ", "))
			}
			out = append(out, Finding{Area: AreaAlerts, Subject: t, Weaker: true, Text: text})
		}
	}
	for _, t := range b.tiers {
		if !slices.Contains(a.tiers, t) {
			out = append(out, Finding{Area: AreaAlerts, Subject: t, Text: fmt.Sprintf("%s now alerts (tier %s)", name, t)})
		}
	}
	if len(a.tiers) > 0 && len(b.tiers) > 0 {
		for _, d := range a.dests {
			if !slices.Contains(b.dests, d) {
				out = append(out, Finding{Area: AreaAlerts, Subject: strings.Join(b.tiers, ","), Weaker: true,
					Text: fmt.Sprintf("%s now reaches %s (was %s)", name, destWords(b.dests), destWords(a.dests))})
				break
			}
		}
		for _, d := range b.dests {
			if !slices.Contains(a.dests, d) {
				out = append(out, Finding{Area: AreaAlerts, Subject: strings.Join(b.tiers, ","),
					Text: fmt.Sprintf("%s now reaches %s (was %s)", name, destWords(b.dests), destWords(a.dests))})
				break
			}
		}
	}
	return out
}

func destWords(d []string) string {
	switch len(d) {
	case 0:
		return "no destination"
	case 1:
		return "only one destination (" + d[0] + ")"
	}
	return fmt.Sprintf("%d destinations (%s)", len(d), strings.Join(d, ", "))
}

// CorpusTiers replays the embedded labelled corpus through one template's rules, as the review does (its
// own names in the placeholders, the fixed stand-ins for deploy-time values), and returns the tiers each
// record raises, by the record's name. The tests compare it with the corpus labels, so the review and the
// detection tests read the corpus alike.
func CorpusTiers(templateJSON []byte) (map[string][]string, error) {
	s, err := load(templateJSON, "template")
	if err != nil {
		return nil, err
	}
	entries, err := labelledEvents()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		if e.source != "cloudtrail/corpus.jsonl" {
			continue
		}
		ev, err := e.event(s.vars)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", e.Name, err)
		}
		out[e.Name] = s.outcome(ev).tiers
	}
	return out, nil
}

// AttackDestinations replays the embedded red-team attacks through one template's rules as the review does
// and returns, by attack name, the destinations each still reaches over the routes it leaves working. The
// tests compare it with the red-team suite's own requirement.
func AttackDestinations(templateJSON []byte) (map[string][]string, error) {
	s, err := load(templateJSON, "template")
	if err != nil {
		return nil, err
	}
	entries, err := labelledEvents()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		if e.source == "cloudtrail/corpus.jsonl" {
			continue
		}
		ev, err := e.event(s.vars)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", e.Name, err)
		}
		out[e.Name] = s.outcomeUnder(ev, e.touched(s.vars)).dests
	}
	return out, nil
}
