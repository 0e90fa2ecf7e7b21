package replay

import (
	"encoding/json"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

func mustWrap(t *testing.T, record string) Event {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(record), &m); err != nil {
		t.Fatal(err)
	}
	ev, err := WrapRecord(m)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestWrap(t *testing.T) {
	rec, err := ep.Parse([]byte(`{"eventVersion":"1.08","eventTime":"2024-05-01T10:11:12Z","eventSource":"monitoring.amazonaws.com",
		"eventName":"DeleteAlarms","awsRegion":"eu-west-1","eventID":"e-1","eventType":"AwsApiCall","recipientAccountId":"111122223333","readOnly":false}`))
	if err != nil {
		t.Fatal(err)
	}
	ev := Wrap(rec)
	got, _ := ev.Value.MarshalJSON()
	want := `{"version":"0","id":"e-1","detail-type":"AWS API Call via CloudTrail","source":"aws.monitoring","account":"111122223333","time":"2024-05-01T10:11:12Z","region":"eu-west-1","resources":[],"detail":` + string(mustJSON(t, rec)) + `}`
	if string(got) != want {
		t.Errorf("Wrap =\n%s\nwant\n%s", got, want)
	}
	if !ev.Delivered || ev.ReadOnly {
		t.Errorf("Delivered=%v ReadOnly=%v", ev.Delivered, ev.ReadOnly)
	}
}

func mustJSON(t *testing.T, v ep.Value) []byte {
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetailTypesAndReadOnly(t *testing.T) {
	cases := []struct {
		record, detailType string
		readOnly           bool
	}{
		{`{"eventType":"AwsConsoleSignIn","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","readOnly":false}`, "AWS Console Signin via CloudTrail", false},
		{`{"eventType":"AwsServiceEvent","eventName":"RotateKey","eventSource":"kms.amazonaws.com"}`, "AWS Service Event via CloudTrail", false},
		{`{"eventType":"AwsConsoleAction","eventName":"X"}`, "AWS Console Action via CloudTrail", false},
		{`{"eventType":"AwsApiCall","eventName":"Decrypt","readOnly":true}`, "AWS API Call via CloudTrail", true},
		{`{"eventType":"AwsApiCall","eventName":"DescribeKey"}`, "AWS API Call via CloudTrail", true},
		{`{"eventType":"AwsApiCall","eventName":"GetSessionToken","eventSource":"sts.amazonaws.com","readOnly":true}`, "AWS API Call via CloudTrail", false},
		{`{"eventType":"AwsApiCall","eventName":"GetObject","eventCategory":"Data","readOnly":true}`, "AWS API Call via CloudTrail", false},
		{`{"eventName":"ListKeys","readOnly":"true"}`, "AWS API Call via CloudTrail", true},
	}
	for _, c := range cases {
		ev := mustWrap(t, c.record)
		if dt := ev.Value.Path("detail-type").Str(); dt != c.detailType || ev.ReadOnly != c.readOnly {
			t.Errorf("%s: detail-type %q readOnly %v, want %q %v", c.record, dt, ev.ReadOnly, c.detailType, c.readOnly)
		}
	}
}

func TestSourceFor(t *testing.T) {
	for in, want := range map[string]string{
		"kms.amazonaws.com": "aws.kms", "monitoring.amazonaws.com": "aws.monitoring",
		"signin.amazonaws.com": "aws.signin", "cloudtrail-data.amazonaws.com": "aws.cloudtrail-data", "": "",
	} {
		if got := SourceFor(in); got != want {
			t.Errorf("SourceFor(%q) = %q, want %q", in, got, want)
		}
	}
}
