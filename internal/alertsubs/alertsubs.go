// Package alertsubs reads the subscriptions of kmsguard's alert topics and says which of them could be
// silenced without an AWS signature, which are still waiting for confirmation, and which topic reaches
// nobody. kms-manage-key status and kmsguard-preflight both report them (docs/testing-alerts.md, "Confirm
// subscriptions so that only a signed-in user can unsubscribe"), from this one reading.
package alertsubs

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

// Reader is the part of SNS the check reads; *sns.Client satisfies it.
type Reader interface {
	ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	GetSubscriptionAttributes(context.Context, *sns.GetSubscriptionAttributesInput, ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// Problems a Finding may carry.
const (
	// Unauthenticated: confirmed without AuthenticateOnUnsubscribe, so the unsubscribe link in any of its
	// emails removes it without signing in.
	Unauthenticated = "confirmed without AuthenticateOnUnsubscribe"
	// Pending: not confirmed yet, so alerts do not reach it.
	Pending = "pending confirmation"
	// NoSubscriber: the topic has no confirmed subscription at all.
	NoSubscriber = "no confirmed subscriber"
	// CouldNotList and CouldNotRead: the caller may not ask (or SNS failed); nothing is known.
	CouldNotList = "could not list subscriptions"
	CouldNotRead = "could not read the subscription"
)

// Finding is one line of the check.
type Finding struct {
	Topic    string
	Endpoint string // empty for a topic-wide finding
	Problem  string // empty when the subscription is as it should be; else one of the constants above
	Detail   string
	// PendingCount is set on the topic-wide finding for the subscriptions SNS lists only as
	// "PendingConfirmation" (their attributes cannot be read until they are confirmed).
	PendingCount int
}

// Failed reports whether the finding is a call that could not be made rather than something found.
func (f Finding) Failed() bool { return f.Problem == CouldNotList || f.Problem == CouldNotRead }

// Check reads every subscription of each topic. An email subscription confirmed without
// AuthenticateOnUnsubscribe can be removed by anyone who holds one of its emails (the unsubscribe link needs
// no sign-in), a pending one receives nothing, and a topic without a confirmed subscriber alerts nobody.
// Subscriptions are reported in ARN order, each topic's pending count and emptiness after them.
func Check(ctx context.Context, c Reader, topics []string) []Finding {
	var out []Finding
	for _, topic := range topics {
		var subs []string
		pending := 0
		p := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topic)})
		failed := false
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				out = append(out, Finding{Topic: topic, Problem: CouldNotList, Detail: awsclient.Explain(err)})
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
			f := read(ctx, c, topic, arn)
			if f.Problem == "" || f.Problem == Unauthenticated {
				confirmed++
			}
			out = append(out, f)
		}
		if pending > 0 {
			out = append(out, Finding{Topic: topic, PendingCount: pending, Detail: fmt.Sprintf("%d subscription(s) pending confirmation", pending)})
		}
		if confirmed == 0 {
			out = append(out, Finding{Topic: topic, Problem: NoSubscriber,
				Detail: "alerts sent to this topic reach nobody: confirm a subscription (docs/testing-alerts.md)"})
		}
	}
	return out
}

func read(ctx context.Context, c Reader, topic, arn string) Finding {
	f := Finding{Topic: topic, Endpoint: arn}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
	if err != nil {
		f.Problem, f.Detail = CouldNotRead, awsclient.Explain(err)
		return f
	}
	a := attrs.Attributes
	if a["Endpoint"] != "" {
		f.Endpoint = a["Protocol"] + " " + a["Endpoint"]
	}
	switch {
	case a["PendingConfirmation"] == "true":
		f.Problem, f.Detail = Pending, "alerts do not reach it until the link in the confirmation email is used"
	case a["ConfirmationWasAuthenticated"] != "true":
		f.Problem = Unauthenticated
		f.Detail = "anyone holding one of its emails can unsubscribe it without signing in; re-confirm it with " +
			"aws sns confirm-subscription --authenticate-on-unsubscribe true (docs/testing-alerts.md)"
	default:
		f.Detail = "confirmed; unsubscribing needs an AWS signature"
	}
	return f
}

// TopicName is the last part of a topic ARN, for display.
func TopicName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }
