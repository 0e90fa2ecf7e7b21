// Package quota checks a synthesized template against the AWS service quotas that no emulator, linter or
// cdk-nag enforces: event-pattern and input-transformer sizes, rules per event bus and wildcard rules,
// metric-filter patterns, policy sizes and name lengths. Every reference is first given the longest value
// it can take at deploy time (cfntemplate.Longest), so a template that passes here fits in every partition
// and region, at any generated name. docs/quotas.md lists each quota, its value and the AWS page that
// states it.
//
// Per-bus and per-region quotas are shared with what the account already has; Check reports kmsguard's
// share in Usage and flags only what kmsguard alone would exceed.
package quota

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// Limits are the quotas, with kmsguard's own headroom where it keeps one.
const (
	// EventPatternQuota is EventBridge's default maximum event pattern size (Service Quotas L-664C5505).
	EventPatternQuota = 2048
	// EventPatternBudget is what kmsguard allows itself: 25 % below the quota, so that a longer name, a few
	// more key users or a changed serialization never turns a deploy red.
	EventPatternBudget = EventPatternQuota * 3 / 4
	// WildcardRulesPerBus is EventBridge's limit on rules with a wildcard filter per event bus (not
	// adjustable).
	WildcardRulesPerBus = 30
	// RulesPerBus is EventBridge's default rules per event bus (300; 100 in af-south-1 and eu-south-1, which
	// the checker assumes, being the smaller).
	RulesPerBus         = 300
	RulesPerBusSmallest = 100
	TargetsPerRule      = 5
	InputTemplateMax    = 8192
	InputPathsMax       = 100
	// MetricFilterPatternMax is CloudWatch Logs' limit on a filter pattern's length.
	MetricFilterPatternMax   = 1024
	MetricFiltersPerLogGroup = 100
	RegexPerFilter           = 2
	RegexPerLogGroup         = 5
	KeyPolicyMax             = 32768
	TopicPolicyMax           = 30 * 1024
	QueuePolicyMax           = 8192
	QueuePolicyStatementsMax = 20
	BucketPolicyMax          = 20 * 1024
	DashboardWidgetsMax      = 500
	// DashboardWidgetMetricsMax is kmsguard's bound on one metric widget's metrics and expressions: the
	// metric widget structure's 1 to 100 (docs/quotas.md), kept for dashboards too.
	DashboardWidgetMetricsMax = 100
	// TrailsPerRegion is CloudTrail's limit (not adjustable); a multi-region trail counts in every region.
	TrailsPerRegion = 5
)

// Finding is one quota a template would break.
type Finding struct {
	Resource string // logical id ("" for a per-template quota)
	Quota    string // what is limited, as docs/quotas.md names it
	Value    int
	Limit    int
	// Text is the resolved value that is too long (a pattern, a name), for naming the setting behind it.
	Text string
}

func (f Finding) String() string {
	where := f.Resource
	if where == "" {
		where = "template"
	}
	return fmt.Sprintf("%s: %s is %d, limit %d", where, f.Quota, f.Value, f.Limit)
}

// Usage is kmsguard's share of the quotas it shares with the rest of the account.
type Usage struct {
	RulesOnDefaultBus    int
	WildcardRules        int
	Trails               int // each multi-region: one in every region
	LargestEventPattern  int // characters, at the longest names
	LargestPatternRule   string
	LargestFilterPattern int
}

// Report is the outcome of one Check.
type Report struct {
	Findings []Finding
	Usage    Usage
}

// Check resolves t at the longest names a stack named with stackNameLength characters can have and
// returns every quota it would break, in logical-id order, and kmsguard's usage of the shared quotas. A
// reference the checker cannot bound is a finding too: a size check must never pass on a guess.
func Check(t *cfntemplate.Template, stackNameLength int) Report {
	c := &checker{t: t, r: cfntemplate.Longest(t, stackNameLength, nil)}
	filtersPerLogGroup := map[string]int{}
	regexPerLogGroup := map[string]int{}
	for _, id := range t.IDs() {
		res := t.Resources[id]
		c.name(id, res)
		switch res.Type {
		case "AWS::Events::Rule":
			c.rule(id, res)
		case "AWS::Logs::MetricFilter":
			lg := c.str(id, res.Properties["LogGroupName"])
			filtersPerLogGroup[lg]++
			pattern := c.str(id, res.Properties["FilterPattern"])
			n := utf8.RuneCountInString(pattern)
			c.usage.LargestFilterPattern = max(c.usage.LargestFilterPattern, n)
			c.limit(id, "metric filter pattern length", n, MetricFilterPatternMax, pattern)
			re := len(regexTerm.FindAllString(pattern, -1))
			regexPerLogGroup[lg] += re
			c.limit(id, "regular expressions in a metric filter pattern", re, RegexPerFilter, pattern)
		case "AWS::KMS::Key":
			// The policy text goes into the finding, so that the stack can name the settings behind it.
			doc := c.json(id, res.Properties["KeyPolicy"])
			c.limit(id, "key policy size (bytes)", len(doc), KeyPolicyMax, string(doc))
		case "AWS::SNS::TopicPolicy":
			doc := c.json(id, res.Properties["PolicyDocument"])
			c.limit(id, "topic policy size (bytes)", len(doc), TopicPolicyMax, string(doc))
		case "AWS::SQS::QueuePolicy":
			doc := res.Properties["PolicyDocument"]
			c.limit(id, "queue policy size (bytes)", len(c.json(id, doc)), QueuePolicyMax, "")
			st, _ := doc.(map[string]any)["Statement"].([]any)
			c.limit(id, "queue policy statements", len(st), QueuePolicyStatementsMax, "")
		case "AWS::S3::BucketPolicy":
			doc := c.json(id, res.Properties["PolicyDocument"])
			c.limit(id, "bucket policy size (bytes)", len(doc), BucketPolicyMax, string(doc))
		case "AWS::CloudWatch::Dashboard":
			body := c.str(id, res.Properties["DashboardBody"])
			var parsed struct {
				Widgets []struct {
					Properties struct {
						Metrics []any `json:"metrics"`
					} `json:"properties"`
				} `json:"widgets"`
			}
			if err := json.Unmarshal([]byte(body), &parsed); err != nil {
				c.add(Finding{Resource: id, Quota: "dashboard body is not JSON once resolved: " + err.Error(), Value: 1, Limit: 0})
			}
			c.limit(id, "dashboard widgets", len(parsed.Widgets), DashboardWidgetsMax, "")
			for _, w := range parsed.Widgets {
				c.limit(id, "metrics and expressions in a dashboard widget", len(w.Properties.Metrics), DashboardWidgetMetricsMax, "")
			}
		case "AWS::CloudTrail::Trail":
			c.usage.Trails++
		}
	}
	for _, lg := range sortedKeys(filtersPerLogGroup) {
		c.limit("", "metric filters on log group "+lg, filtersPerLogGroup[lg], MetricFiltersPerLogGroup, "")
		c.limit("", "regular expressions in the metric filters of log group "+lg, regexPerLogGroup[lg], RegexPerLogGroup, "")
	}
	c.limit("", "rules on the default event bus (the smallest regional quota)", c.usage.RulesOnDefaultBus, RulesPerBusSmallest, "")
	c.limit("", "rules with a wildcard filter on the default event bus", c.usage.WildcardRules, WildcardRulesPerBus, "")
	c.limit("", "trails in a region (a multi-region trail counts in every region)", c.usage.Trails, TrailsPerRegion, "")
	return Report{Findings: c.findings, Usage: c.usage}
}

// regexTerm is a CloudWatch Logs regular-expression term: %…%.
var regexTerm = regexp.MustCompile(`%[^%]+%`)

type checker struct {
	t        *cfntemplate.Template
	r        *cfntemplate.Resolver
	findings []Finding
	usage    Usage
}

func (c *checker) add(f Finding) { c.findings = append(c.findings, f) }

func (c *checker) limit(id, quota string, value, limit int, text string) {
	if value > limit {
		c.add(Finding{Resource: id, Quota: quota, Value: value, Limit: limit, Text: text})
	}
}

// resolve resolves v at the longest names; what cannot be bounded is a finding.
func (c *checker) resolve(id string, v any) any {
	out, unresolved := c.r.Resolve(v)
	for _, u := range unresolved {
		c.add(Finding{Resource: id, Quota: "reference with no known longest value (" + u.What + ")", Value: 1, Limit: 0})
	}
	return out
}

func (c *checker) str(id string, v any) string {
	out := c.resolve(id, v)
	if s, ok := out.(string); ok {
		return s
	}
	return string(compact(out))
}

func (c *checker) json(id string, v any) []byte { return compact(c.resolve(id, v)) }

// compact is v as CloudFormation hands it to a service: compact JSON, without HTML escaping.
func compact(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// rule checks one EventBridge rule: pattern size against kmsguard's budget, wildcard use, targets and
// input transformers.
func (c *checker) rule(id string, res cfntemplate.Resource) {
	if bus, ok := res.Properties["EventBusName"]; !ok || bus == "default" {
		c.usage.RulesOnDefaultBus++
	}
	if raw, ok := res.Properties["EventPattern"]; ok {
		if s, isStr := raw.(string); isStr {
			_ = json.Unmarshal([]byte(s), &raw)
		}
		pattern := c.json(id, raw)
		n := utf8.RuneCount(pattern)
		if n > c.usage.LargestEventPattern {
			c.usage.LargestEventPattern, c.usage.LargestPatternRule = n, id
		}
		c.limit(id, fmt.Sprintf("event pattern length (kmsguard's budget, 75 %% of EventBridge's %d)", EventPatternQuota), n, EventPatternBudget, string(pattern))
		if usesWildcard(raw) {
			c.usage.WildcardRules++
		}
	}
	targets, _ := res.Properties["Targets"].([]any)
	c.limit(id, "targets per rule", len(targets), TargetsPerRule, "")
	for _, tg := range targets {
		it, _ := tg.(map[string]any)["InputTransformer"].(map[string]any)
		if it == nil {
			continue
		}
		tmpl := c.str(id, it["InputTemplate"])
		c.limit(id, "input transformer template length", utf8.RuneCountInString(tmpl), InputTemplateMax, "")
		paths, _ := it["InputPathsMap"].(map[string]any)
		c.limit(id, "input transformer input paths", len(paths), InputPathsMax, "")
	}
}

// UsesWildcard reports whether an event pattern (decoded JSON) uses the wildcard operator anywhere, which
// is what counts against EventBridge's per-bus quota of rules with a wildcard.
func UsesWildcard(pattern any) bool { return usesWildcard(pattern) }

// usesWildcard reports whether a pattern uses the wildcard operator anywhere.
func usesWildcard(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["wildcard"]; ok {
			return true
		}
		for _, e := range x {
			if usesWildcard(e) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(x, usesWildcard)
	}
	return false
}

// name checks a resource's name, given or generated, against its service's length limit.
func (c *checker) name(id string, res cfntemplate.Resource) {
	limit := cfntemplate.NameLimit(res.Type)
	if limit == 0 {
		return
	}
	n, ok := c.r.Value(cfntemplate.Ref{ID: id})
	if !ok || strings.HasPrefix(n, "arn:") || strings.HasPrefix(n, "https:") {
		n = nameOf(c, id, res) // Ref gives an ARN or URL for this type
	}
	if n == "" {
		return
	}
	c.limit(id, res.Type+" name length", utf8.RuneCountInString(n), limit, n)
}

func nameOf(c *checker, id string, res cfntemplate.Resource) string {
	for _, attr := range []string{"TopicName", "QueueName"} {
		if v, ok := c.r.Value(cfntemplate.Ref{ID: id, Attr: attr}); ok {
			return v
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
