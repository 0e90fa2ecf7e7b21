package replay

import (
	"encoding/json"
	"strings"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// guideEvent is the EC2 event of the EventBridge user guide's "Amazon EventBridge input transformation".
const guideEvent = `{"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
 "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "account": "123456789012",
 "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
 "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
 "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}}`

func guideValue(t *testing.T) ep.Value {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(guideEvent), &m); err != nil {
		t.Fatal(err)
	}
	v, err := ep.ValueOf(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRenderGivesTheGuidesOutputs: the alert emails in docs/alert-emails.md are what Render prints, so
// Render must print what the EventBridge user guide's examples say EventBridge sends.
func TestRenderGivesTheGuidesOutputs(t *testing.T) {
	paths := map[string]string{"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
	for _, tc := range []struct{ name, template, want string }{
		{"simple string", `"instance <instance> is in <state>"`, `"instance i-0123456789 is in RUNNING"`},
		{"string with escaped quotes", `"instance \"<instance>\" is in <state>"`, `"instance \"i-0123456789\" is in RUNNING"`},
		{"simple JSON", `{"instance" : <instance>, "state": <state>}`, `{"instance" : "i-0123456789", "state": "RUNNING"}`},
		{"JSON with strings and variables", `{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}`,
			`{"instance" : "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \"i-0123456789\" is in RUNNING"}`},
		{"mix of variables and static values", `{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}`,
			`{"instance" : "i-0123456789", "state": [ 9, "RUNNING", true ], "Transformed" : "Yes"}`},
		// kmsguard's own shape: one JSON string per line.
		{"one string per line", "\"<instance>\"\n\"is <state> since <timestamp>\"", "\"i-0123456789\"\n\"is RUNNING since 2015-11-11T21:29:54Z\""},
		// "If you specify a variable to match a JSON path that doesn't exist in the event, that variable
		// isn't created and doesn't appear in the output."
		{"a path the event lacks", `"error: <missing>."`, `"error: ."`},
		// A <word> that is not a declared variable is text.
		{"undeclared placeholder", `"a <b> c"`, `"a <b> c"`},
	} {
		p := map[string]string{"missing": "$.detail.errorCode"}
		for k, v := range paths {
			p[k] = v
		}
		got, err := (&InputTransformer{InputPathsMap: p, InputTemplate: tc.template}).Render(guideValue(t))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, got, tc.want)
		}
	}
}

// TestRenderRefusesWhatItCannotRender is the control for the path subset: a path syntax Render does not
// implement, an unresolved (empty) template and a missing transformer are errors, never a wrong email.
func TestRenderRefusesWhatItCannotRender(t *testing.T) {
	for name, it := range map[string]*InputTransformer{
		"array index":        {InputPathsMap: map[string]string{"r": "$.resources[0]"}, InputTemplate: `"<r>"`},
		"empty template":     {InputPathsMap: map[string]string{}, InputTemplate: ""},
		"nil transformer":    nil,
		"bracketed notation": {InputPathsMap: map[string]string{"r": "$['detail']"}, InputTemplate: `"<r>"`},
	} {
		if _, err := it.Render(guideValue(t)); err == nil {
			t.Errorf("%s: rendered without an error", name)
		} else if !strings.Contains(err.Error(), "InputPathsMap") && !strings.Contains(err.Error(), "InputTemplate") && !strings.Contains(err.Error(), "InputTransformer") {
			t.Errorf("%s: the error %q names no field", name, err)
		}
	}
}
