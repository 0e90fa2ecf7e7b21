package test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// costCounts are the phrases of docs/costs.md that count the default template's resources, by type.
var costCounts = []struct{ phrase, resourceType string }{
	{`(\d+) KMS keys`, "AWS::KMS::Key"},
	{`(\d+) standard alarms`, "AWS::CloudWatch::Alarm"},
	{`(\d+) dashboard`, "AWS::CloudWatch::Dashboard"},
	{`(\d+) metric filters`, "AWS::Logs::MetricFilter"},
	{`(\d+) rules on the default bus`, "AWS::Events::Rule"},
	{`(\d+) topics`, "AWS::SNS::Topic"},
	{`(\d+) queues`, "AWS::SQS::Queue"},
}

// costCountProblems compares each counting phrase of the costs page with the template's resources.
func costCountProblems(page string, count func(resourceType string) int) []string {
	var problems []string
	for _, c := range costCounts {
		m := regexp.MustCompile(c.phrase).FindStringSubmatch(page)
		if m == nil {
			problems = append(problems, fmt.Sprintf("docs/costs.md no longer says %q: keep the count, or change costCounts", c.phrase))
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n != count(c.resourceType) {
			problems = append(problems, fmt.Sprintf("docs/costs.md says %q, the default template has %d %s: update the row and its price",
				m[0], count(c.resourceType), c.resourceType))
		}
	}
	return problems
}

// TestCostsPageCountsWhatTheDefaultTemplateDeploys: the per-resource prices of docs/costs.md are multiplied
// by counts (keys, alarms, filters, rules, topics, queues) that must be the default template's, or the
// month's estimate is wrong the day a resource is added.
func TestCostsPageCountsWhatTheDefaultTemplateDeploys(t *testing.T) {
	page, err := os.ReadFile("../docs/costs.md")
	if err != nil {
		t.Fatal(err)
	}
	s := synth(t, "default")
	for _, p := range costCountProblems(string(page), func(typ string) int { return len(s.resourcesOfType(typ)) }) {
		t.Error(p)
	}
}

// TestCostsCountCheckCatchesAStaleCount is the control: the page as it was before the counts were checked
// (3 keys and 8 alarms) is reported, and a page with the right counts is not.
func TestCostsCountCheckCatchesAStaleCount(t *testing.T) {
	counts := map[string]int{"AWS::KMS::Key": 4, "AWS::CloudWatch::Alarm": 13, "AWS::CloudWatch::Dashboard": 1, "AWS::Logs::MetricFilter": 11,
		"AWS::Events::Rule": 35, "AWS::SNS::Topic": 2, "AWS::SQS::Queue": 2}
	count := func(typ string) int { return counts[typ] }
	right := "4 KMS keys, 13 standard alarms, 1 dashboard, 11 metric filters, 35 rules on the default bus, 2 topics, 2 queues"
	if p := costCountProblems(right, count); len(p) != 0 {
		t.Errorf("right counts reported: %v", p)
	}
	stale := "3 KMS keys, 8 standard alarms, 1 dashboard, 11 metric filters, 35 rules on the default bus, 2 topics, 2 queues"
	if p := costCountProblems(stale, count); len(p) != 2 {
		t.Errorf("stale counts: want 2 problems, got %v", p)
	}
}
