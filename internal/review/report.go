package review

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The three areas a finding belongs to.
const (
	AreaKeys      = "key policies"
	AreaAlerts    = "alert coverage"
	AreaLifecycle = "lifecycle"
)

var areaOrder = map[string]int{AreaKeys: 0, AreaAlerts: 1, AreaLifecycle: 2}

// Finding is one change, in the threat model's words. Weaker marks a change that lowers protection: a
// principal gains a call, an event stops alerting or reaches fewer destinations, something kept can now
// be deleted or replaced, a retention shrinks.
type Finding struct {
	Area    string `json:"area"`
	Subject string `json:"subject"` // the key, tier or logical id it is about
	Weaker  bool   `json:"weaker"`
	Text    string `json:"text"`
}

// ScopeNoKey is the Scope of a review of two templates without a master key (a fleet's central stacks and
// identity StackSet): no key policy to ask and no rules the CloudTrail corpus reaches as it is recorded,
// so only lifecycle and alert paths are compared (docs/review.md, "Fleet templates").
const ScopeNoKey = "lifecycle and alert paths only (no master key in this template)"

// Report is the review of one pair of templates.
type Report struct {
	Old string `json:"old"`
	New string `json:"new"`
	// Scope is empty for a full review, ScopeNoKey otherwise.
	Scope    string    `json:"scope,omitempty"`
	Findings []Finding `json:"findings"`
}

// Weaker reports whether any finding lowers protection (kmsguard-summary --diff then exits 1).
func (r *Report) Weaker() bool {
	for _, f := range r.Findings {
		if f.Weaker {
			return true
		}
	}
	return false
}

// Diff reviews the change from old to new (template JSON). oldName and newName only label the report.
func Diff(oldName string, oldJSON []byte, newName string, newJSON []byte) (*Report, error) {
	o, err := load(oldJSON, oldName)
	if err != nil {
		return nil, err
	}
	n, err := load(newJSON, newName)
	if err != nil {
		return nil, err
	}
	r := &Report{Old: oldName, New: newName, Findings: []Finding{}}
	if o.keyless != n.keyless {
		return nil, fmt.Errorf("%s and %s are not the same kind of kmsguard template: one holds the master key and the other does not", oldName, newName)
	}
	if o.keyless {
		r.Scope = ScopeNoKey
		r.Findings = append(r.Findings, diffKeyless(o, n)...)
		sortFindings(r.Findings)
		return r, nil
	}
	keys, err := diffKeys(o, n)
	if err != nil {
		return nil, err
	}
	alerts, err := diffAlerts(o, n)
	if err != nil {
		return nil, err
	}
	r.Findings = append(append(append(r.Findings, keys...), alerts...), diffLifecycle(o, n)...)
	sortFindings(r.Findings)
	return r, nil
}

// sortFindings puts weakening first, then orders by area; within those, the order each area produced
// (stable).
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Weaker != b.Weaker {
			return a.Weaker
		}
		return areaOrder[a.Area] < areaOrder[b.Area]
	})
}

func (r *Report) counts() (weaker, other int) {
	for _, f := range r.Findings {
		if f.Weaker {
			weaker++
		} else {
			other++
		}
	}
	return
}

// WriteText writes the short summary: one line per finding, weakening first.
func (r *Report) WriteText(w io.Writer) {
	weaker, other := r.counts()
	fmt.Fprintf(w, "kmsguard review: %s → %s\n", r.Old, r.New)
	if r.Scope != "" {
		fmt.Fprintf(w, "scope: %s\n", r.Scope)
	}
	switch {
	case weaker > 0:
		fmt.Fprintf(w, "PROTECTION WEAKER: %d finding(s) weaken protection, %d other change(s)\n", weaker, other)
	case other > 0:
		fmt.Fprintf(w, "nothing got weaker; %d change(s)\n", other)
	default:
		fmt.Fprintln(w, "no security-relevant change")
	}
	for _, f := range r.Findings {
		mark := "  "
		if f.Weaker {
			mark = "! "
		}
		fmt.Fprintf(w, "%s[%s] %s\n", mark, f.Area, f.Text)
	}
}

// WriteMarkdown writes a pull-request comment: a verdict, the weakening findings in bold, then the rest,
// each under its area.
func (r *Report) WriteMarkdown(w io.Writer) {
	weaker, other := r.counts()
	fmt.Fprintf(w, "### kmsguard review\n\n`%s` → `%s`\n\n", mdEscape(r.Old), mdEscape(r.New))
	if r.Scope != "" {
		fmt.Fprintf(w, "Scope: %s.\n\n", mdEscape(r.Scope))
	}
	switch {
	case weaker > 0:
		fmt.Fprintf(w, "**Protection gets weaker: %d finding(s).** %d other change(s).\n", weaker, other)
	case other > 0:
		fmt.Fprintf(w, "Nothing gets weaker. %d change(s).\n", other)
	default:
		fmt.Fprintln(w, "No security-relevant change.")
	}
	for _, weak := range []bool{true, false} {
		area := ""
		for _, f := range r.Findings {
			if f.Weaker != weak {
				continue
			}
			if area == "" {
				if weak {
					fmt.Fprintf(w, "\n#### Weaker\n")
				} else {
					fmt.Fprintf(w, "\n#### Other changes\n")
				}
			}
			if f.Area != area {
				area = f.Area
				fmt.Fprintf(w, "\n*%s*\n\n", area)
			}
			if weak {
				fmt.Fprintf(w, "- **%s**\n", mdEscape(f.Text))
			} else {
				fmt.Fprintf(w, "- %s\n", mdEscape(f.Text))
			}
		}
	}
}

func mdEscape(s string) string {
	r := strings.NewReplacer("*", `\*`, "_", `\_`, "`", "'", "<", "&lt;", ">", "&gt;", "|", `\|`)
	return r.Replace(s)
}

// WriteJSON writes the report for tools: {"old", "new", "weaker", "findings": [...]}.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Old      string    `json:"old"`
		New      string    `json:"new"`
		Scope    string    `json:"scope,omitempty"`
		Weaker   bool      `json:"weaker"`
		Findings []Finding `json:"findings"`
	}{r.Old, r.New, r.Scope, r.Weaker(), r.Findings})
}
