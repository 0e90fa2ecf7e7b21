package preflight

import (
	"context"
	"fmt"
	"strings"

	"github.com/kmsguard/kmsguard/internal/alertsubs"
)

// subscriptionsFix is how a subscriber closes the unauthenticated unsubscribe link (docs/testing-alerts.md).
const subscriptionsFix = "confirm each email subscription with the token from its confirmation link: aws sns confirm-subscription " +
	"--topic-arn TOPIC --token TOKEN --authenticate-on-unsubscribe true (docs/testing-alerts.md); kms-manage-key status lists them too"

// subscriptions: on an existing stack, every subscription of its alert topics (both destinations, the
// stack's AWS::SNS::Topic resources) that anyone holding one of its emails could cancel without signing in
// (confirmed without AuthenticateOnUnsubscribe), that is still pending, or a topic with no confirmed
// subscriber. The deploy would not fail, so these are warnings; a call the caller may not make is "could
// not check". The reading is kms-manage-key status's (internal/alertsubs).
func (r *run) subscriptions(ctx context.Context) {
	switch {
	case r.stack == "absent":
		r.add(Skip, "subscriptions", "no stack yet: after cdk deploy, confirm each subscription with --authenticate-on-unsubscribe true and run the preflight again", "")
		return
	case r.stack == "":
		r.add(Unknown, "subscriptions", "the stack's alert topics are unknown (cloudformation:DescribeStackResources failed, above)",
			"allow the caller cloudformation:DescribeStackResources (read-only), or run kms-manage-key status")
		return
	case len(r.topics) == 0:
		r.add(Skip, "subscriptions", fmt.Sprintf("stack %s has no SNS topic", r.plan.Stack), "")
		return
	case r.d.Subscriptions == nil:
		r.add(Unknown, "subscriptions", "no SNS client", "")
		return
	}
	findings := alertsubs.Check(ctx, r.d.Subscriptions, r.topics)
	var problems, failures []string
	subs := 0
	for _, f := range findings {
		what := alertsubs.TopicName(f.Topic)
		if f.Endpoint != "" {
			what += " " + f.Endpoint
			subs++
		}
		switch {
		case f.Failed():
			failures = append(failures, what+": "+f.Problem+": "+f.Detail)
		case f.Problem != "":
			problems = append(problems, what+": "+f.Problem)
		case f.PendingCount > 0:
			subs += f.PendingCount
			problems = append(problems, what+": "+f.Detail)
		}
	}
	switch {
	case len(failures) > 0:
		r.add(Unknown, "subscriptions", strings.Join(failures, "; "),
			"allow the caller sns:ListSubscriptionsByTopic and sns:GetSubscriptionAttributes (read-only), or run kms-manage-key status")
	case len(problems) > 0:
		r.add(Warn, "subscriptions", fmt.Sprintf("%d finding(s) on %d alert topic(s): %s", len(problems), len(r.topics), strings.Join(problems, "; ")), subscriptionsFix)
	default:
		r.add(OK, "subscriptions", fmt.Sprintf("all %d subscription(s) of %d alert topic(s) confirmed with AuthenticateOnUnsubscribe", subs, len(r.topics)), "")
	}
}
