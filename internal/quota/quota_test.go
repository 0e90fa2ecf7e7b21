package quota

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

func rule(pattern map[string]any, targets ...any) cfntemplate.Resource {
	if targets == nil {
		targets = []any{map[string]any{"Id": "t", "Arn": "arn"}}
	}
	return cfntemplate.Resource{Type: "AWS::Events::Rule", Properties: map[string]any{"Name": "r", "EventPattern": pattern, "Targets": targets}}
}

func quotas(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Quota)
	}
	return out
}

func has(r Report, quota string) bool {
	for _, q := range quotas(r) {
		if strings.Contains(q, quota) {
			return true
		}
	}
	return false
}

// TestPatternOverTheBudgetIsCaught: a 1,600-character pattern fits EventBridge's 2,048 but not kmsguard's
// 25 % headroom, and is reported; a 1,500-character one is not.
func TestPatternOverTheBudgetIsCaught(t *testing.T) {
	for _, c := range []struct {
		size int
		want bool
	}{{1600, true}, {1500, false}} {
		// {"source":["xxx…"]} is 15 characters plus the value.
		p := map[string]any{"source": []any{strings.Repeat("x", c.size-15)}}
		r := Check(&cfntemplate.Template{Resources: map[string]cfntemplate.Resource{"R": rule(p)}}, 40)
		if has(r, "event pattern length") != c.want || r.Usage.LargestEventPattern != c.size {
			t.Errorf("%d-character pattern: findings %v, largest %d", c.size, quotas(r), r.Usage.LargestEventPattern)
		}
	}
}

// TestPatternSizeUsesTheLongestValueOfEachReference: a pattern that is short as written but names a
// generated bucket and the longest region is measured at their longest.
func TestPatternSizeUsesTheLongestValueOfEachReference(t *testing.T) {
	refs := []any{}
	for i := 0; i < 30; i++ {
		refs = append(refs, map[string]any{"Fn::GetAtt": []any{fmt.Sprintf("Bucket%d", i), "Arn"}})
	}
	tpl := &cfntemplate.Template{Resources: map[string]cfntemplate.Resource{"R": rule(map[string]any{"resources": refs})}}
	for i := 0; i < 30; i++ {
		tpl.Resources[fmt.Sprintf("Bucket%d", i)] = cfntemplate.Resource{Type: "AWS::S3::Bucket"}
	}
	if r := Check(tpl, 40); !has(r, "event pattern length") {
		t.Errorf("30 generated bucket ARNs (about 2,900 characters at their longest) passed: %v", quotas(r))
	}
	if r := Check(tpl, 1); r.Usage.LargestEventPattern >= Check(tpl, 40).Usage.LargestEventPattern {
		t.Errorf("the stack name length does not reach generated names")
	}
}

// TestTooManyWildcardRulesAreCaught: 31 rules with a wildcard exceed EventBridge's fixed 30 per bus.
func TestTooManyWildcardRulesAreCaught(t *testing.T) {
	tpl := &cfntemplate.Template{Resources: map[string]cfntemplate.Resource{}}
	for i := 0; i < 31; i++ {
		tpl.Resources[fmt.Sprintf("R%02d", i)] = rule(map[string]any{"detail": map[string]any{"errorCode": []any{map[string]any{"wildcard": "*Denied*"}}}})
	}
	r := Check(tpl, 40)
	if !has(r, "rules with a wildcard") || r.Usage.WildcardRules != 31 {
		t.Errorf("31 wildcard rules: %v, usage %+v", quotas(r), r.Usage)
	}
	delete(tpl.Resources, "R00")
	if r := Check(tpl, 40); has(r, "rules with a wildcard") {
		t.Errorf("30 wildcard rules reported: %v", quotas(r))
	}
}

// TestOversizedInputTransformerIsCaught: a template over 8,192 characters, or over 100 input paths, and
// more than five targets.
func TestOversizedInputTransformerIsCaught(t *testing.T) {
	paths := map[string]any{}
	for i := 0; i < 101; i++ {
		paths[fmt.Sprintf("p%d", i)] = "$.detail"
	}
	target := map[string]any{"Id": "t", "Arn": "arn", "InputTransformer": map[string]any{
		"InputTemplate": strings.Repeat("y", 8193), "InputPathsMap": paths}}
	targets := []any{target, target, target, target, target, target}
	r := Check(&cfntemplate.Template{Resources: map[string]cfntemplate.Resource{"R": rule(map[string]any{"source": []any{"aws.kms"}}, targets...)}}, 40)
	for _, want := range []string{"input transformer template length", "input transformer input paths", "targets per rule"} {
		if !has(r, want) {
			t.Errorf("not reported: %s (findings %v)", want, quotas(r))
		}
	}
}

// TestMetricFilterAndPolicyLimits: a filter pattern over 1,024 characters, too many regular expressions,
// and a key policy over 32 KB are reported; names over their service's limit too.
func TestMetricFilterAndPolicyLimits(t *testing.T) {
	tpl := &cfntemplate.Template{Resources: map[string]cfntemplate.Resource{
		"F": {Type: "AWS::Logs::MetricFilter", Properties: map[string]any{"LogGroupName": "lg",
			"FilterPattern": "{ $.x = %a% || $.y = %b% || $.z = %c% }" + strings.Repeat(" ", 1000)}},
		"K": {Type: "AWS::KMS::Key", Properties: map[string]any{"KeyPolicy": map[string]any{"Statement": strings.Repeat("s", 33000)}}},
		"A": {Type: "AWS::CloudWatch::Alarm", Properties: map[string]any{"AlarmName": strings.Repeat("a", 256)}},
	}}
	r := Check(tpl, 40)
	for _, want := range []string{"metric filter pattern length", "regular expressions in a metric filter pattern", "key policy size", "AWS::CloudWatch::Alarm name length"} {
		if !has(r, want) {
			t.Errorf("not reported: %s (findings %v)", want, quotas(r))
		}
	}
}

// TestUnboundedReferenceIsAFinding: a reference to a resource type whose longest value is unknown fails
// the check rather than being measured as a guess.
func TestUnboundedReferenceIsAFinding(t *testing.T) {
	tpl := &cfntemplate.Template{Resources: map[string]cfntemplate.Resource{
		"R":  rule(map[string]any{"resources": []any{map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}}}),
		"Fn": {Type: "AWS::Lambda::Function"},
	}}
	if r := Check(tpl, 40); !has(r, "no known longest value (Fn.Arn)") {
		t.Errorf("findings %v", quotas(r))
	}
}

// TestDashboardWidgetWithTooManyMetricsIsCaught: a metric widget of 101 metrics is reported; one of 100
// (the control) is not.
func TestDashboardWidgetWithTooManyMetricsIsCaught(t *testing.T) {
	for _, c := range []struct {
		metrics int
		want    bool
	}{{101, true}, {100, false}} {
		var metrics []string
		for i := 0; i < c.metrics; i++ {
			metrics = append(metrics, fmt.Sprintf(`["AWS/Events","TriggeredRules","RuleName","r%d"]`, i))
		}
		body := `{"widgets":[{"type":"metric","properties":{"region":"eu-west-1","metrics":[` + strings.Join(metrics, ",") + `]}}]}`
		tpl := &cfntemplate.Template{Resources: map[string]cfntemplate.Resource{
			"D": {Type: "AWS::CloudWatch::Dashboard", Properties: map[string]any{"DashboardName": "d", "DashboardBody": body}}}}
		if r := Check(tpl, 40); has(r, "metrics and expressions in a dashboard widget") != c.want {
			t.Errorf("%d metrics: findings %v", c.metrics, quotas(r))
		}
	}
}
