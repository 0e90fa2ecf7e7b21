// Package alerting builds the SNS topic that every kmsguard alert goes to, with its email subscriptions.
package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/check"
)

// Props configures the alert topic. The key must allow events.amazonaws.com and cloudwatch.amazonaws.com
// to use it (the audit key does), or SNS drops their alerts without a trace.
type Props struct {
	Emails []string
	Key    awskms.IKey
}

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	var errs []error
	for _, e := range p.Emails {
		if err := check.Email(e); err != nil {
			errs = append(errs, fmt.Errorf("Emails: %w", err))
		}
	}
	if p.Key == nil {
		errs = append(errs, errors.New("Key: required: a customer managed key that lets EventBridge and CloudWatch publish"))
	}
	return errors.Join(errs...)
}

// Alerting exposes the topic so that rules and alarms can target it.
type Alerting struct {
	cdkconstructs.Construct
	Topic awssns.Topic
}

// New creates the topic; it panics on invalid props because the stack validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *Alerting {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("alerting: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String("kmsguard alerts"),
		MasterKey:   props.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	for _, pub := range []struct{ sid, service, source string }{
		{"AllowEventBridgeRulesToPublish", "events", "rule/*"},
		{"AllowCloudWatchAlarmsToPublish", "cloudwatch", "alarm:*"},
	} {
		topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(pub.sid),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(pub.service+".amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{topic.TopicArn()},
			// Only this account's rules and alarms: a confused-deputy guard that both services document.
			Conditions: &map[string]any{"ArnLike": map[string]any{"aws:SourceArn": "arn:" + *awscdk.Aws_PARTITION() + ":" +
				pub.service + ":" + *awscdk.Aws_REGION() + ":" + *awscdk.Aws_ACCOUNT_ID() + ":" + pub.source}},
		}))
	}
	for _, email := range props.Emails {
		awssns.NewSubscription(c, jsii.String(subscriptionID(email)), &awssns.SubscriptionProps{
			Topic:    topic,
			Protocol: awssns.SubscriptionProtocol_EMAIL,
			Endpoint: jsii.String(email),
		})
	}
	return &Alerting{Construct: c, Topic: topic}
}

// subscriptionID derives the construct id from the address, not its position, so removing one address does
// not replace (and re-confirm) every subscription after it.
func subscriptionID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "Email" + hex.EncodeToString(sum[:4])
}
