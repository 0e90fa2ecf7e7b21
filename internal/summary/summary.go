// Package summary turns a synthesized kmsguard template into the short human summary `make synth` prints,
// so an operator sees what would be deployed without reading 60 KB of CloudFormation.
package summary

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

type (
	template = *cfntemplate.Template
	resource = cfntemplate.Resource
)

// Write prints the summary of the template in raw to w.
func Write(w io.Writer, raw []byte) error {
	t, err := cfntemplate.Parse(raw)
	if err != nil {
		return err
	}
	p := &printer{w: w}
	p.line("%s", t.Description)
	p.line("%d resources would be deployed.", len(t.Resources))
	for _, id := range sortedIDs(t.Resources) {
		r := t.Resources[id]
		if r.Type == "AWS::KMS::Key" && r.Metadata["kmsguard:role"] == "master-key" {
			p.masterKey(t, id, r)
		}
	}
	p.users(t)
	p.trail(t)
	p.alerts(t)
	p.line("")
	p.line("Resources by type:")
	counts := map[string]int{}
	for _, r := range t.Resources {
		counts[r.Type]++
	}
	for _, typ := range sortedIDs(counts) {
		p.line("  %3d  %s", counts[typ], typ)
	}
	p.line("Outputs: %s", strings.Join(sortedIDs(t.Outputs), ", "))
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) masterKey(t template, id string, r resource) {
	alias := ""
	for _, a := range t.Resources {
		if a.Type == "AWS::KMS::Alias" {
			alias = Render(a.Properties["AliasName"])
		}
	}
	p.line("")
	p.line("Master key %s: %s, rotation %v, deletion policy %s", alias, Render(r.Properties["KeySpec"]),
		r.Properties["EnableKeyRotation"], orDefault(r.DeletionPolicy, "Delete"))
	policy, _ := r.Properties["KeyPolicy"].(map[string]any)
	statements, _ := policy["Statement"].([]any)
	for _, s := range statements {
		st, _ := s.(map[string]any)
		p.line("  %-22s %-5s %s", Render(st["Sid"]), Render(st["Effect"]), principal(st["Principal"]))
		p.line("  %-22s       %s", "", actions(st["Action"]))
		if cond, ok := st["Condition"]; ok {
			p.line("  %-22s       when %s", "", Render(cond))
		}
	}
}

func (p *printer) users(t template) {
	for _, id := range sortedIDs(t.Resources) {
		if r := t.Resources[id]; r.Type == "AWS::IAM::User" {
			p.line("IAM user %s (no password, no access key: create them by hand)", Render(r.Properties["UserName"]))
		}
	}
}

func (p *printer) trail(t template) {
	for _, id := range sortedIDs(t.Resources) {
		r := t.Resources[id]
		switch r.Type {
		case "AWS::CloudTrail::Trail":
			pr := r.Properties
			p.line("Trail %s: multi-region %v, log file validation %v, encrypted %v, CloudWatch Logs %v",
				Render(pr["TrailName"]), pr["IsMultiRegionTrail"], pr["EnableLogFileValidation"], pr["KMSKeyId"] != nil,
				pr["CloudWatchLogsLogGroupArn"] != nil)
		case "AWS::Logs::LogGroup":
			p.line("Log group %s: %v days, deletion protection %v", Render(r.Properties["LogGroupName"]),
				r.Properties["RetentionInDays"], r.Properties["DeletionProtectionEnabled"])
		}
	}
}

func (p *printer) alerts(t template) {
	tiers := map[string][]string{}
	emails, alarms, topics := 0, 0, 0
	for _, id := range sortedIDs(t.Resources) {
		r := t.Resources[id]
		switch r.Type {
		case "AWS::Events::Rule":
			tier := Render(r.Metadata["kmsguard:tier"])
			tiers[tier] = append(tiers[tier], Render(r.Properties["Name"])+" ["+Render(r.Properties["State"])+"]")
		case "AWS::SNS::Subscription":
			emails++
		case "AWS::SNS::Topic":
			topics++
		case "AWS::CloudWatch::Alarm":
			alarms++
		}
	}
	switch {
	case topics > 0:
		p.line("Alert topic with %d email subscription(s) (each must be confirmed from its email); %d alarm(s)", emails, alarms)
	case alarms > 0 || len(tiers) > 0:
		// A fleet member template emails nobody: its rules forward to the security account (docs/fleet.md).
		p.line("No alert topic (the rules forward to the security account); %d alarm(s)", alarms)
	}
	for _, tier := range sortedIDs(tiers) {
		p.line("  %-12s %s", tier, strings.Join(tiers[tier], ", "))
	}
}

// display resolves every reference to a compact placeholder: <Logical.Attr>, <Logical>, <Region>.
var display = &cfntemplate.Resolver{Fallback: func(r cfntemplate.Ref) (string, bool) {
	return "<" + strings.TrimPrefix(r.String(), "AWS::") + ">", true
}}

// Render shows a template value as text, with intrinsics in a compact form (<Logical.Attr>, <Logical>).
func Render(v any) string {
	resolved, _ := display.Resolve(v)
	return text(resolved)
}

// text shows a resolved value: lists joined with commas, maps as {key value; ...} in key order.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = text(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := sortedIDs(x)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " " + text(x[k])
		}
		return "{" + strings.Join(parts, "; ") + "}"
	default:
		return fmt.Sprint(x)
	}
}

func principal(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return Render(v)
	}
	if aws, ok := m["AWS"]; ok {
		return Render(aws)
	}
	return Render(m)
}

func actions(v any) string {
	list, ok := v.([]any)
	if !ok || len(list) <= 6 {
		return Render(v)
	}
	return fmt.Sprintf("%d actions: %s, ...", len(list), Render(list[:5]))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func sortedIDs[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
