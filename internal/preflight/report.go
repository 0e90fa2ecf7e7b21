// Package preflight answers, with the caller's AWS credentials and before `cdk deploy`, what would make the
// deploy of the synthesized kmsguard template fail or surprise: a missing or old CDK bootstrap, names that
// already exist, per-region and per-bus quotas the account has already used, an organization trail that
// could be reused, KMS VPC endpoints the key policy would refuse, and missing permissions. Every AWS call goes
// through a small interface (aws.go), so the checks run against moto where moto has the API and against
// fakes where it does not (docs/preflight.md).
package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one check.
type Status string

const (
	// OK: nothing in the way.
	OK Status = "ok"
	// Fail: cdk deploy would fail (or the stack could not work) as things are.
	Fail Status = "fail"
	// Warn: the deploy would succeed, but something would not behave as the operator expects.
	Warn Status = "warn"
	// Unknown: the check could not be made (no permission to ask, an API error).
	Unknown Status = "unknown"
	// Skip: the check does not apply to this template or configuration.
	Skip Status = "skip"
)

// Result is one check's answer: what was found, and what to do about it.
type Result struct {
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	Fix     string `json:"fix,omitempty"`
}

// Report is every check's answer for one stack, account and region.
type Report struct {
	Stack    string   `json:"stack"`
	Account  string   `json:"account"`
	Region   string   `json:"region"`
	Template string   `json:"template"`
	Results  []Result `json:"checks"`
}

// Exit statuses: 2 stays "bad flags", as for every kmsguard command.
const (
	ExitReady         = 0
	ExitNotReady      = 1
	ExitUsage         = 2
	ExitCouldNotCheck = 3
)

// Verdict is the report in one word, and its exit status: not ready as soon as one check fails (a failure
// is certain even when another check could not be made), else could-not-check when one could not be made.
func (r Report) Verdict() (string, int) {
	unknown := false
	for _, res := range r.Results {
		switch res.Status {
		case Fail:
			return "not-ready", ExitNotReady
		case Unknown:
			unknown = true
		}
	}
	if unknown {
		return "could-not-check", ExitCouldNotCheck
	}
	return "ready", ExitReady
}

// count returns how many results have status s.
func (r Report) count(s Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// WriteText prints the report as one screen: a line per check, the fix under each problem, the verdict last.
func (r Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "kmsguard-preflight: stack %s, account %s, region %s (template %s)\n", r.Stack, r.Account, r.Region, r.Template)
	for _, res := range r.Results {
		label := strings.ToUpper(string(res.Status))
		if res.Status == OK || res.Status == Skip {
			label = string(res.Status)
		}
		fmt.Fprintf(w, "  %-7s %-16s %s\n", label, res.Check, res.Summary)
		if res.Fix != "" && res.Status != OK && res.Status != Skip {
			fmt.Fprintf(w, "  %-7s %-16s fix: %s\n", "", "", res.Fix)
		}
	}
	verdict, _ := r.Verdict()
	switch verdict {
	case "not-ready":
		fmt.Fprintf(w, "NOT READY: %d check(s) say cdk deploy would fail; %d warning(s), %d could not be checked.\n", r.count(Fail), r.count(Warn), r.count(Unknown))
	case "could-not-check":
		fmt.Fprintf(w, "COULD NOT CHECK: %d check(s) could not be made (see above); %d warning(s).\n", r.count(Unknown), r.count(Warn))
	default:
		fmt.Fprintf(w, "READY: nothing found that would make cdk deploy fail; %d warning(s).\n", r.count(Warn))
	}
}

// WriteJSON writes the report with its verdict, for pipelines.
func (r Report) WriteJSON(w io.Writer) error {
	verdict, code := r.Verdict()
	out := struct {
		Report
		Verdict  string `json:"verdict"`
		ExitCode int    `json:"exitCode"`
	}{r, verdict, code}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
