package test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/detection"
	"github.com/kmsguard/kmsguard/internal/replay"
	"github.com/kmsguard/kmsguard/stacks"
)

// With existingTrailArn the stack uses a trail it does not own (README.md, "Using an existing trail").

// TestAnExistingTrailIsUsedNotCreated: no trail, trail buckets, audit key, log group or delivery role of
// the stack's own (a second region's stack would otherwise add a second multi-region trail); with
// existingTrailLogGroup the metric filters are on that group. Control: the default configuration has them.
func TestAnExistingTrailIsUsedNotCreated(t *testing.T) {
	notOurs := []string{"AWS::CloudTrail::Trail", "AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::Logs::LogGroup", "AWS::IAM::Role"}
	for _, name := range []string{"existing-trail", "existing-trail-no-logs"} {
		s := synth(t, name)
		for _, typ := range notOurs {
			if n := len(s.resourcesOfType(typ)); n != 0 {
				t.Errorf("%s: %d %s in the template; the existing trail's are used", name, n, typ)
			}
		}
		if n := len(s.resourcesOfType("AWS::KMS::Key")); n != 3 {
			t.Errorf("%s: want 3 keys (master, each alert topic's), got %d", name, n)
		}
	}
	for _, typ := range notOurs {
		if len(synth(t, "default").resourcesOfType(typ)) == 0 {
			t.Errorf("control: default has no %s", typ)
		}
	}
	s := synth(t, "existing-trail")
	filters := s.resourcesOfType("AWS::Logs::MetricFilter")
	if len(filters) == 0 {
		t.Fatal("existing-trail: no metric filters, although existingTrailLogGroup is set")
	}
	for id, f := range filters {
		if got := props(f)["LogGroupName"]; got != s.Stack.Config.ExistingTrailLogGroup {
			t.Errorf("existing-trail: filter %s is on %v, want the existing trail's log group %s", id, got, s.Stack.Config.ExistingTrailLogGroup)
		}
	}
}

// alarmedFilters are the metric filters that have an alarm: what the metric-filter route gives.
func alarmedFilters() []string {
	var ids []string
	for _, f := range detection.MetricFilters(detection.Targets{UserNames: []string{"u"}}) {
		if f.Threshold > 0 {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

func warnings(s *Synth) []string {
	var out []string
	for _, m := range *assertions.Annotations_FromStack(s.Stack.Stack).FindWarning(jsii.String("*"), assertions.Match_AnyValue()) {
		out = append(out, fmt.Sprint(m.Entry.Data))
	}
	return out
}

// TestWithoutTheTrailsLogGroupTheMetricRouteIsOffWithAWarningNamingWhatIsLost: no metric filters and no
// alarm but the undelivered-alerts one, and a warning naming every alarm lost and the IAM blind spot.
// Controls: the warning is absent when the log group is named, and the text names each alarm the default
// stack has (a new alarm must be added to it).
func TestWithoutTheTrailsLogGroupTheMetricRouteIsOffWithAWarningNamingWhatIsLost(t *testing.T) {
	s := synth(t, "existing-trail-no-logs")
	if n := len(s.resourcesOfType("AWS::Logs::MetricFilter")); n != 0 {
		t.Errorf("%d metric filters without a log group to put them on", n)
	}
	for id, a := range s.resourcesOfType("AWS::CloudWatch::Alarm") {
		if name, _ := props(a)["AlarmName"].(string); !strings.HasSuffix(name, "UndeliveredAlerts") {
			t.Errorf("alarm %s (%v) without its metric filter", id, props(a)["AlarmName"])
		}
	}
	var warning string
	for _, w := range warnings(s) {
		if strings.Contains(w, "kmsguard:noMetricFilterRoute") {
			warning = w
		}
	}
	if warning == "" {
		t.Fatalf("no kmsguard:noMetricFilterRoute warning; warnings: %v", warnings(s))
	}
	for _, id := range alarmedFilters() {
		if !strings.Contains(warning, id) {
			t.Errorf("the warning does not name the lost alarm %s: %s", id, warning)
		}
	}
	for _, lost := range []string{"IAM events reach EventBridge only in us-east-1", "existingTrailLogGroup"} {
		if !strings.Contains(warning, lost) {
			t.Errorf("the warning does not say %q: %s", lost, warning)
		}
	}
	if !slices.ContainsFunc(warnings(s), func(w string) bool {
		return strings.Contains(w, "kmsguard:existingTrail]") || strings.Contains(w, stacks.ExistingTrailWarning[:40])
	}) {
		t.Errorf("no warning about the tamper coverage of a trail that is not the stack's: %v", warnings(s))
	}
	for _, w := range warnings(synth(t, "existing-trail")) {
		if strings.Contains(w, "kmsguard:noMetricFilterRoute") {
			t.Errorf("control: existing-trail names its log group, yet warns: %s", w)
		}
	}
	for _, w := range warnings(synth(t, "default")) {
		if strings.Contains(w, "kmsguard:existingTrail") || strings.Contains(w, "kmsguard:noMetricFilterRoute") {
			t.Errorf("control: the default stack warns about an existing trail: %s", w)
		}
	}
}

// TestTheTamperRulesWatchTheNamedTrail: StopLogging, DeleteTrail and UpdateTrail on the existing trail
// (by name or ARN) raise audit-tamper; the same calls on another trail raise nothing. Replayed through the
// synthesized rules with the full outputs file.
func TestTheTamperRulesWatchTheNamedTrail(t *testing.T) {
	for _, name := range []string{"existing-trail", "existing-trail-no-logs"} {
		s := synth(t, name)
		res, err := replay.NewResolver(fakeMasterKeyArn)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.AddOutputs(s.Bytes, fullOutputsFile(t, s)); err != nil {
			t.Fatal(err)
		}
		rules, warns, err := replay.LoadRules(s.Bytes, res)
		if err != nil || len(warns) > 0 {
			t.Fatalf("%s: %v %v", name, err, warns)
		}
		arn := s.Stack.Config.ExistingTrailArn
		trail := arn[strings.LastIndex(arn, "/")+1:]
		for _, tc := range []struct {
			event, target string
			want          []string
		}{
			{"StopLogging", trail, []string{"audit-tamper"}},
			{"StopLogging", arn, []string{"audit-tamper"}},
			{"DeleteTrail", trail, []string{"audit-tamper"}},
			{"UpdateTrail", arn, []string{"audit-tamper"}},
			{"StopLogging", "someone-elses-trail", nil},
			{"StopLogging", "mariadb-encryption-key", nil}, // the default trailName: not created here
		} {
			ev, err := replay.WrapRecord(map[string]any{
				"eventVersion": "1.09", "eventSource": "cloudtrail.amazonaws.com", "eventName": tc.event,
				"eventType": "AwsApiCall", "readOnly": false, "awsRegion": "us-east-1", "recipientAccountId": fakeAccount,
				"userIdentity":      map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory"},
				"requestParameters": map[string]any{"name": tc.target},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := rules.Tiers(ev); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %s on %s: got %v, want %v", name, tc.event, tc.target, got, tc.want)
			}
		}
	}
}

// TestALongExistingLogGroupIsRefusedNamingTheSetting: the tamper rules name existingTrailLogGroup several
// times, and CloudWatch accepts names of 512 characters; one that would push a rule past kmsguard's pattern
// budget is refused at synth, naming existingTrailLogGroup. Control: the existing-trail configuration fits.
func TestALongExistingLogGroupIsRefusedNamingTheSetting(t *testing.T) {
	ctx := map[string]any{}
	for k, v := range configs["existing-trail"] {
		ctx[k] = v
	}
	ctx["existingTrailLogGroup"] = "/org/" + strings.Repeat("g", 400)
	_, err := synthesize("long-log-group", ctx, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "- existingTrailLogGroup") || !strings.Contains(err.Error(), "event pattern length") {
		t.Errorf("a 405-character existingTrailLogGroup: got %v, want a quota error naming existingTrailLogGroup", err)
	}
	synth(t, "existing-trail") // the control: synth fails the test on a quota error
}
