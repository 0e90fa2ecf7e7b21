package managekey

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// fakeSNS answers with fixed subscriptions. moto cannot play these answers: it confirms email subscriptions at
// once and always says ConfirmationWasAuthenticated=true.
type fakeSNS struct {
	subs  map[string][]string          // topic → subscription ARNs ("PendingConfirmation" for unconfirmed)
	attrs map[string]map[string]string // subscription ARN → attributes
}

func (f *fakeSNS) ListSubscriptionsByTopic(_ context.Context, in *sns.ListSubscriptionsByTopicInput, _ ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	var out []snstypes.Subscription
	for _, arn := range f.subs[*in.TopicArn] {
		out = append(out, snstypes.Subscription{SubscriptionArn: aws.String(arn), TopicArn: in.TopicArn})
	}
	return &sns.ListSubscriptionsByTopicOutput{Subscriptions: out}, nil
}

func (f *fakeSNS) GetSubscriptionAttributes(_ context.Context, in *sns.GetSubscriptionAttributesInput, _ ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error) {
	return &sns.GetSubscriptionAttributesOutput{Attributes: f.attrs[*in.SubscriptionArn]}, nil
}

const (
	alertsTopic   = "arn:aws:sns:us-east-1:1:KmsGuard-AlertingTopic-XYZ"
	securityTopic = "arn:aws:sns:us-east-1:1:KmsGuard-SecurityAlertingTopic-UVW"
)

func emailSub(endpoint, authenticated string) map[string]string {
	return map[string]string{"Protocol": "email", "Endpoint": endpoint, "PendingConfirmation": "false", "ConfirmationWasAuthenticated": authenticated}
}

func TestStatusWarnsAboutUnsubscribableAlerts(t *testing.T) {
	e := newEnv()
	e.opts.MFACode = ""
	e.opts.TopicArns = []string{alertsTopic, securityTopic}
	e.deps.SNS = &fakeSNS{
		subs: map[string][]string{
			alertsTopic:   {alertsTopic + ":a", alertsTopic + ":b", "PendingConfirmation"},
			securityTopic: {"PendingConfirmation"},
		},
		attrs: map[string]map[string]string{
			alertsTopic + ":a": emailSub("dba@example.com", "true"),
			alertsTopic + ":b": emailSub("oncall@example.com", "false"),
		},
	}
	if err := e.run("status"); err != nil {
		t.Fatal(err)
	}
	out := squeezeSpaces(e.out.String())
	for _, want := range []string{
		"alerts: KmsGuard-AlertingTopic-XYZ: email dba@example.com: confirmed; unsubscribing needs an AWS signature",
		"alerts: WARNING KmsGuard-AlertingTopic-XYZ: email oncall@example.com: confirmed without AuthenticateOnUnsubscribe",
		"--authenticate-on-unsubscribe true",
		"alerts: KmsGuard-AlertingTopic-XYZ: 1 subscription(s) pending confirmation",
		"alerts: WARNING KmsGuard-SecurityAlertingTopic-UVW: no confirmed subscriber",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	// Control: the authenticated subscription must not be flagged, or every line would be a warning.
	if strings.Contains(out, "WARNING KmsGuard-AlertingTopic-XYZ: email dba@example.com") {
		t.Errorf("an authenticated subscription was flagged:\n%s", out)
	}
	// A topic whose only subscription is unauthenticated still has a subscriber: no "no confirmed subscriber".
	if strings.Contains(out, "WARNING KmsGuard-AlertingTopic-XYZ: no confirmed subscriber") {
		t.Errorf("a topic with confirmed subscribers was called empty:\n%s", out)
	}
}

func TestStatusReadsAlertTopicsFromTheOutputsFile(t *testing.T) {
	path := writeOutputs(t, `{"KmsGuard": {"KeyId": "kid", "KeyArn": "arn:aws:kms:us-east-1:1:key/kid", "AlertTopicArn": "`+alertsTopic+`", "SecurityAlertTopicArn": "`+securityTopic+`"}}`)
	o, err := ParseArgs([]string{"status", "--outputs", path}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.TopicArns, ",") != alertsTopic+","+securityTopic {
		t.Errorf("TopicArns = %v", o.TopicArns)
	}
	// An explicit --topic-arn wins over the file.
	o, err = ParseArgs([]string{"status", "--outputs", path, "--topic-arn", securityTopic}, func(string) string { return "" })
	if err != nil || strings.Join(o.TopicArns, ",") != securityTopic {
		t.Errorf("TopicArns = %v, %v", o.TopicArns, err)
	}
	if _, err := ParseArgs([]string{"status", "--key-id", "kid", "--topic-arn", "KmsGuard-AlertingTopic"}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "--topic-arn") {
		t.Errorf("a topic name instead of an ARN was accepted: %v", err)
	}
}

func squeezeSpaces(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}
