package preflight

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/kmsguard/kmsguard/internal/alertsubs"
)

// unauthenticatedSNS passes every call to moto, except for what moto cannot play: moto 5.2.1 confirms an
// email subscription at once and answers ConfirmationWasAuthenticated "true" for every subscription, and
// never lists one as "PendingConfirmation". This fake, behind the same small interface (alertsubs.Reader),
// answers "false" for the subscriptions in unauthenticated, lists pending extra unconfirmed subscriptions
// per topic, and fails every call when err is set.
type unauthenticatedSNS struct {
	moto            alertsubs.Reader
	unauthenticated map[string]bool
	pending         map[string]int
	err             error
}

func (f *unauthenticatedSNS) ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput, opts ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	out, err := f.moto.ListSubscriptionsByTopic(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	for i := 0; i < f.pending[aws.ToString(in.TopicArn)]; i++ {
		out.Subscriptions = append(out.Subscriptions, snstypes.Subscription{SubscriptionArn: aws.String("PendingConfirmation"), TopicArn: in.TopicArn})
	}
	return out, nil
}

func (f *unauthenticatedSNS) GetSubscriptionAttributes(ctx context.Context, in *sns.GetSubscriptionAttributesInput, opts ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	out, err := f.moto.GetSubscriptionAttributes(ctx, in, opts...)
	if err == nil && f.unauthenticated[aws.ToString(in.SubscriptionArn)] {
		out.Attributes["ConfirmationWasAuthenticated"] = "false"
	}
	return out, err
}

// deployAlertTopics creates, in moto, a stack named like the configured one with two topics (the two
// destinations) and subscribes an email address to each; it returns the topics and subscriptions by name.
func (e *env) deployAlertTopics() (topics, subs map[string]string) {
	e.t.Helper()
	ctx := context.Background()
	cf := cloudformation.NewFromConfig(e.cfg)
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("KmsGuard"),
		TemplateBody: aws.String(`{"Resources":{"AlertingTopic":{"Type":"AWS::SNS::Topic"},"SecurityAlertingTopic":{"Type":"AWS::SNS::Topic"}}}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("KmsGuard")})
	if err != nil {
		e.t.Fatal(err)
	}
	topics, subs = map[string]string{}, map[string]string{}
	client := sns.NewFromConfig(e.cfg)
	for _, r := range out.StackResources {
		arn := aws.ToString(r.PhysicalResourceId)
		topics[aws.ToString(r.LogicalResourceId)] = arn
		s, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("email"),
			Endpoint: aws.String(strings.ToLower(aws.ToString(r.LogicalResourceId)) + "@example.com"), ReturnSubscriptionArn: true})
		if err != nil {
			e.t.Fatal(err)
		}
		subs[aws.ToString(r.LogicalResourceId)] = aws.ToString(s.SubscriptionArn)
	}
	if len(topics) != 2 {
		e.t.Fatalf("moto stack resources: %+v", out.StackResources)
	}
	return topics, subs
}

// TestSubscriptionsAnyoneCanCancelAreReported: on a deployed stack, a subscription of either destination's
// topic confirmed without AuthenticateOnUnsubscribe, and one still pending, are warnings naming the topic
// and the endpoint (the deploy itself would not fail: the verdict stays ready). moto plays the stack, the
// topics and the subscriptions; the unauthenticated and pending answers come from unauthenticatedSNS (moto
// cannot give them). Controls: the same subscriptions as moto answers them (authenticated) are ok; before
// the stack exists the check does not apply; a refused call is "could not check", never ok.
func TestSubscriptionsAnyoneCanCancelAreReported(t *testing.T) {
	e := newEnv(t)
	e.bootstrap("30")
	raw, cfg := defaultTemplate(t)
	want(t, e.run(raw, cfg), "subscriptions", Skip, "no stack yet", "--authenticate-on-unsubscribe true")

	topics, subs := e.deployAlertTopics()
	fake := &unauthenticatedSNS{moto: e.deps.Subscriptions}
	e.deps.Subscriptions = fake
	want(t, e.run(raw, cfg), "subscriptions", OK, "all 2 subscription(s) of 2 alert topic(s) confirmed with AuthenticateOnUnsubscribe")

	fake.unauthenticated = map[string]bool{subs["SecurityAlertingTopic"]: true}
	fake.pending = map[string]int{topics["AlertingTopic"]: 1}
	r := e.run(raw, cfg)
	want(t, r, "subscriptions", Warn,
		alertsubs.TopicName(topics["SecurityAlertingTopic"])+" email securityalertingtopic@example.com: confirmed without AuthenticateOnUnsubscribe",
		alertsubs.TopicName(topics["AlertingTopic"])+": 1 subscription(s) pending confirmation",
		"aws sns confirm-subscription", "--authenticate-on-unsubscribe true")
	if strings.Contains(result(t, r, "subscriptions").Summary, " email alertingtopic@example.com") {
		t.Errorf("the authenticated subscription was reported: %s", result(t, r, "subscriptions").Summary)
	}
	if v, code := (Report{Results: []Result{result(t, r, "subscriptions")}}).Verdict(); v != "ready" || code != ExitReady {
		t.Errorf("a subscription warning alone: verdict %s %d, want ready 0", v, code)
	}

	// A topic whose only subscription is gone reaches nobody.
	fake.unauthenticated, fake.pending = nil, nil
	if _, err := sns.NewFromConfig(e.cfg).Unsubscribe(context.Background(), &sns.UnsubscribeInput{SubscriptionArn: aws.String(subs["AlertingTopic"])}); err != nil {
		t.Fatal(err)
	}
	want(t, e.run(raw, cfg), "subscriptions", Warn, alertsubs.TopicName(topics["AlertingTopic"])+": no confirmed subscriber")

	fake.err = &smithy.GenericAPIError{Code: "AuthorizationError", Message: "not authorized to perform sns:ListSubscriptionsByTopic"}
	want(t, e.run(raw, cfg), "subscriptions", Unknown, "could not list subscriptions", "sns:ListSubscriptionsByTopic")
}
