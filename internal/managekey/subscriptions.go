package managekey

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

// SubscriptionReader is the part of SNS that status reads; *sns.Client satisfies it.
type SubscriptionReader interface {
	ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	GetSubscriptionAttributes(context.Context, *sns.GetSubscriptionAttributesInput, ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// SubscriptionFinding is one line of the alert-subscription check.
type SubscriptionFinding struct {
	Topic    string
	Endpoint string // empty for a topic-wide finding
	Problem  string // empty when the subscription is as it should be
	Detail   string
}

// CheckSubscriptions reads every subscription of each alert topic. An email subscription confirmed without
// AuthenticateOnUnsubscribe can be removed by anyone who holds one of its emails (the unsubscribe link needs
// no sign-in), and a topic without a confirmed subscriber alerts nobody: both are reported as problems
// (docs/testing-alerts.md, "Confirm subscriptions so that only a signed-in user can unsubscribe").
func CheckSubscriptions(ctx context.Context, c SubscriptionReader, topics []string) []SubscriptionFinding {
	var out []SubscriptionFinding
	for _, topic := range topics {
		var subs []string
		pending := 0
		p := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
		failed := false
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				out = append(out, SubscriptionFinding{Topic: topic, Problem: "could not list subscriptions", Detail: awsclient.Explain(err)})
				failed = true
				break
			}
			for _, s := range page.Subscriptions {
				if arn := aws.ToString(s.SubscriptionArn); strings.HasPrefix(arn, "arn:") {
					subs = append(subs, arn)
				} else {
					// SNS lists an unconfirmed subscription with SubscriptionArn "PendingConfirmation".
					pending++
				}
			}
		}
		if failed {
			continue
		}
		sort.Strings(subs)
		confirmed := 0
		for _, arn := range subs {
			f := readSubscription(ctx, c, topic, arn)
			if f.Problem == "" || f.Problem == "confirmed without AuthenticateOnUnsubscribe" {
				confirmed++
			}
			out = append(out, f)
		}
		if pending > 0 {
			out = append(out, SubscriptionFinding{Topic: topic, Detail: fmt.Sprintf("%d subscription(s) pending confirmation", pending)})
		}
		if confirmed == 0 {
			out = append(out, SubscriptionFinding{Topic: topic, Problem: "no confirmed subscriber",
				Detail: "alerts sent to this topic reach nobody: confirm a subscription (docs/testing-alerts.md)"})
		}
	}
	return out
}

func readSubscription(ctx context.Context, c SubscriptionReader, topic, arn string) SubscriptionFinding {
	f := SubscriptionFinding{Topic: topic, Endpoint: arn}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
	if err != nil {
		f.Problem, f.Detail = "could not read the subscription", awsclient.Explain(err)
		return f
	}
	a := attrs.Attributes
	if a["Endpoint"] != "" {
		f.Endpoint = a["Protocol"] + " " + a["Endpoint"]
	}
	switch {
	case a["PendingConfirmation"] == "true":
		f.Problem, f.Detail = "pending confirmation", "alerts do not reach it until the link in the confirmation email is used"
	case a["ConfirmationWasAuthenticated"] != "true":
		f.Problem = "confirmed without AuthenticateOnUnsubscribe"
		f.Detail = "anyone holding one of its emails can unsubscribe it without signing in; re-confirm it with " +
			"aws sns confirm-subscription --authenticate-on-unsubscribe true (docs/testing-alerts.md)"
	default:
		f.Detail = "confirmed; unsubscribing needs an AWS signature"
	}
	return f
}

// subscriptions adds the subscription check to the status block; it is skipped when no topic is known.
func subscriptions(ctx context.Context, o Options, d Deps, row func(k, v string)) {
	if len(o.TopicArns) == 0 || d.SNS == nil {
		return
	}
	for _, f := range CheckSubscriptions(ctx, d.SNS, o.TopicArns) {
		name := f.Topic[strings.LastIndex(f.Topic, ":")+1:]
		what := name
		if f.Endpoint != "" {
			what += ": " + f.Endpoint
		}
		if f.Problem != "" {
			row("alerts", "WARNING "+what+": "+f.Problem+" — "+f.Detail)
		} else {
			row("alerts", what+": "+f.Detail)
		}
	}
}
