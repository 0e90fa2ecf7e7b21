package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// After a failed first create, CloudFormation rolls back; the retry must then succeed. A resource the
// rollback keeps (DeletionPolicy Retain) survives it, and if it has a fixed name the retry fails on that
// name. So every resource is one of:
//   - deleted: no DeletionPolicy (or Delete); a rollback and cdk destroy remove it;
//   - retained-except-on-create: RetainExceptOnCreate; kept by updates and stack deletion, removed by the
//     rollback of the create that made it;
//   - retained-with-generated-name: Retain, for what a rollback cannot delete (a bucket that may hold
//     Object-Locked files, a log group under deletion protection); its name is new for every stack, so a
//     leftover never collides.
// Neither moto nor any emulator honours RetainExceptOnCreate or rolls back, so this is checked on the
// templates themselves; docs/teardown.md carries the same table.

// nameProperty is each resource type's name property; "" for types without a name (they can never
// collide). A type missing here fails the test: it must be classified when it is added.
var nameProperty = map[string]string{
	"AWS::KMS::Key":                      "",
	"AWS::KMS::Alias":                    "AliasName",
	"AWS::S3::Bucket":                    "BucketName",
	"AWS::S3::BucketPolicy":              "",
	"AWS::Logs::LogGroup":                "LogGroupName",
	"AWS::Logs::MetricFilter":            "FilterName",
	"AWS::IAM::User":                     "UserName",
	"AWS::IAM::Group":                    "GroupName",
	"AWS::IAM::Role":                     "RoleName",
	"AWS::IAM::ManagedPolicy":            "ManagedPolicyName",
	"AWS::CloudTrail::Trail":             "TrailName",
	"AWS::SNS::Topic":                    "TopicName",
	"AWS::SNS::TopicPolicy":              "",
	"AWS::SNS::Subscription":             "",
	"AWS::SQS::Queue":                    "QueueName",
	"AWS::SQS::QueuePolicy":              "",
	"AWS::Events::Rule":                  "Name",
	"AWS::CloudWatch::Alarm":             "AlarmName",
	"AWS::CloudWatch::Dashboard":         "DashboardName",
	"AWS::CloudFormation::WaitCondition": "",
}

// removal classes, as docs/teardown.md names them.
const (
	removeDeleted        = "deleted"
	removeExceptOnCreate = "retained-except-on-create"
	removeGenerated      = "retained-with-generated-name"
)

// generatedName says whether a name property makes a new name for every stack: absent (CloudFormation
// generates one) or built from AWS::StackId.
func generatedName(props map[string]any, prop string) bool {
	if prop == "" {
		return true
	}
	v, ok := props[prop]
	if !ok {
		return true
	}
	b, _ := json.Marshal(v)
	return strings.Contains(string(b), `{"Ref":"AWS::StackId"}`)
}

// classifyRemoval returns the class of one resource, or an error saying why it would block a retry.
func classifyRemoval(id string, r map[string]any) (string, error) {
	typ, _ := r["Type"].(string)
	prop, known := nameProperty[typ]
	if !known {
		return "", fmt.Errorf("%s: type %s is not classified (add its name property to nameProperty and its row to docs/teardown.md)", id, typ)
	}
	props, _ := r["Properties"].(map[string]any)
	switch policy, _ := r["DeletionPolicy"].(string); policy {
	case "", "Delete":
		return removeDeleted, nil
	case "RetainExceptOnCreate":
		if rp, _ := r["UpdateReplacePolicy"].(string); rp != "Retain" {
			return "", fmt.Errorf("%s (%s): RetainExceptOnCreate but UpdateReplacePolicy %q: a replacement would delete it", id, typ, rp)
		}
		return removeExceptOnCreate, nil
	case "Retain":
		if !generatedName(props, prop) {
			return "", fmt.Errorf("%s (%s): Retain with the fixed %s %v: a rolled-back create leaves it behind and the retry fails on the name; "+
				"use RetainExceptOnCreate, or a name built from AWS::StackId", id, typ, prop, props[prop])
		}
		return removeGenerated, nil
	default:
		return "", fmt.Errorf("%s (%s): DeletionPolicy %q is not one kmsguard uses", id, typ, policy)
	}
}

// teardownTable reads docs/teardown.md's "| `AWS::...` | class | reason |" rows.
func teardownTable(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "teardown.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	row := regexp.MustCompile("(?m)^\\| `(AWS::[A-Za-z0-9:]+)` \\| ([a-z-]+) \\| (.+) \\|$")
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		if strings.TrimSpace(m[3]) == "" {
			t.Errorf("docs/teardown.md: %s has no reason", m[1])
		}
		out[m[1]] = m[2]
	}
	return out
}

func TestFailedCreateLeavesNothingThatBlocksTheRetry(t *testing.T) {
	doc := teardownTable(t)
	seen := map[string]string{}
	for _, name := range slices.Sorted(mapKeys(configs)) {
		s := synth(t, name)
		for _, id := range slices.Sorted(mapKeys(s.JSON["Resources"].(map[string]any))) {
			r := s.JSON["Resources"].(map[string]any)[id].(map[string]any)
			class, err := classifyRemoval(id, r)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			typ := r["Type"].(string)
			want, ok := doc[typ]
			switch {
			case !ok:
				t.Errorf("%s: %s (%s) is %s, and docs/teardown.md has no row for %s", name, id, typ, class, typ)
			case want != class:
				t.Errorf("%s: %s (%s) is %s, docs/teardown.md says %s", name, id, typ, class, want)
			}
			seen[typ] = class
		}
	}
	// The classes that matter must each occur, or the table proves nothing about them.
	for typ, want := range map[string]string{"AWS::KMS::Key": removeExceptOnCreate, "AWS::KMS::Alias": removeExceptOnCreate,
		"AWS::S3::Bucket": removeGenerated, "AWS::Logs::LogGroup": removeGenerated, "AWS::IAM::User": removeDeleted} {
		if seen[typ] != want {
			t.Errorf("%s: want %s in some template, got %q", typ, want, seen[typ])
		}
	}
	for typ := range doc {
		if _, ok := seen[typ]; !ok {
			t.Errorf("docs/teardown.md lists %s, which no template has", typ)
		}
	}
}

// TestRemovalClassificationCatchesFixedNamesUnderRetain is the control: the layouts that made a retry fail
// (a retained alias, a retained log group with a fixed name) and an unknown type are refused.
func TestRemovalClassificationCatchesFixedNamesUnderRetain(t *testing.T) {
	for _, tc := range []struct {
		what string
		r    map[string]any
		want string
	}{
		{"retained alias", map[string]any{"Type": "AWS::KMS::Alias", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{"AliasName": "alias/mariadb-encryption"}}, "fixed AliasName"},
		{"retained log group with a fixed name", map[string]any{"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
			"Properties": map[string]any{"LogGroupName": "/kmsguard/cloudtrail/mariadb-encryption-key"}}, "fixed LogGroupName"},
		{"retained log group named from the stack name only", map[string]any{"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
			"Properties": map[string]any{"LogGroupName": map[string]any{"Fn::Join": []any{"", []any{"/x/", map[string]any{"Ref": "AWS::StackName"}}}}}}, "fixed LogGroupName"},
		{"RetainExceptOnCreate replaced away", map[string]any{"Type": "AWS::KMS::Key", "DeletionPolicy": "RetainExceptOnCreate"}, "UpdateReplacePolicy"},
		{"unclassified type", map[string]any{"Type": "AWS::DynamoDB::Table"}, "not classified"},
	} {
		if _, err := classifyRemoval("X", tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error about %s", tc.what, err, tc.want)
		}
	}
	ok := map[string]any{"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
		"Properties": map[string]any{"LogGroupName": map[string]any{"Fn::Join": []any{"", []any{"/x/", map[string]any{"Fn::Select": []any{2, map[string]any{"Fn::Split": []any{"/", map[string]any{"Ref": "AWS::StackId"}}}}}}}}}}
	if class, err := classifyRemoval("X", ok); err != nil || class != removeGenerated {
		t.Errorf("a log group named from AWS::StackId: %s %v", class, err)
	}
}
