package stacks

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one configuration mistake, tied to the context key that caused it so the operator knows
// exactly which `-c key=value` (or cdk.json entry) to fix.
type Problem struct {
	Key     string
	Message string
}

// Problems collects every configuration mistake so that one synth reports all of them at once instead of
// making the operator fix and re-run one error at a time.
type Problems []Problem

// Add records a problem for key; the message should say what is wrong and how to fix it.
func (p *Problems) Add(key, format string, args ...any) {
	*p = append(*p, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, so callers can write `if err := c.Validate(); err != nil`.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return p
}

// Error lists the problems sorted by key, one per line, so the output is stable and easy to scan.
func (p Problems) Error() string {
	sorted := append(Problems(nil), p...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	var b strings.Builder
	fmt.Fprintf(&b, "kmsguard: %d configuration problem(s); nothing was synthesized:", len(sorted))
	for _, pr := range sorted {
		fmt.Fprintf(&b, "\n  - %s: %s", pr.Key, pr.Message)
	}
	return b.String()
}
