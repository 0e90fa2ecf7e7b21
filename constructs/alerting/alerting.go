// Package alerting builds one alert destination: an SNS topic with its own customer managed key and its email
// subscriptions. The stack builds two, independent of each other (README.md, "Two alert destinations").
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
	"github.com/kmsguard/kmsguard/internal/cmk"
	"github.com/kmsguard/kmsguard/internal/lockdown"
	"github.com/kmsguard/kmsguard/internal/respolicy"
)

// Props configures one destination.
type Props struct {
	Emails []string
	// Name tells the destinations apart in the topic's display name, the key's description and the key's
	// kmsguard:role metadata (alerts-key, or NAME-alerts-key); empty means "alerts".
	Name string
	// Lock names who may still change the topic and its key (lockTopicStatements, and cmk.New for the
	// key): the break-glass principals (with MFA) and the role that deploys the stack. Required, so that no
	// destination is ever built unlocked.
	Lock lockdown.Exemptions
}

func (p Props) name() string {
	if p.Name == "" {
		return "alerts"
	}
	return p.Name
}

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	var errs []error
	for _, e := range p.Emails {
		if err := check.Email(e); err != nil {
			errs = append(errs, fmt.Errorf("Emails: %w", err))
		}
	}
	if err := p.Lock.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Lock: %w", err))
	}
	return errors.Join(errs...)
}

// Alerting exposes the topic so that rules and alarms can target it, and the topic's key so that the
// tamper rules can watch it.
type Alerting struct {
	cdkconstructs.Construct
	Topic awssns.Topic
	Key   awskms.Key
}

// New creates the topic; it panics on invalid props because the stack validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *Alerting {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("alerting: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	// The services that publish alerts, each with one principal object for the key's policy and the
	// topic's: each object made is a round trip to the CDK's process (docs/checks.md, "Benchmark").
	type publisher struct {
		sid, service, resource string
		format                 awscdk.ArnFormat
		principal              awsiam.IPrincipal
	}
	publishers := []publisher{
		{"AllowEventBridgeRulesToPublish", "events", "rule", awscdk.ArnFormat_SLASH_RESOURCE_NAME, nil},
		{"AllowCloudWatchAlarmsToPublish", "cloudwatch", "alarm", awscdk.ArnFormat_COLON_RESOURCE_NAME, nil},
	}
	principals := make([]awsiam.IPrincipal, len(publishers))
	for i := range publishers {
		publishers[i].principal = awsiam.NewServicePrincipal(jsii.String(publishers[i].service+".amazonaws.com"), nil)
		principals[i] = publishers[i].principal
	}
	key := newTopicKey(c, props.name(), principals, props.Lock)
	display := "kmsguard alerts"
	if props.name() != "alerts" {
		display = "kmsguard " + props.name() + " alerts"
	}
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		DisplayName: jsii.String(display),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topicArn := topic.TopicArn()
	// The lock's statements first, then the publishers' (the policy's order), added in one call
	// (internal/respolicy).
	sts := lockTopicStatements(*topicArn, props.Lock)
	stack := awscdk.Stack_Of(c)
	for _, pub := range publishers {
		sts = append(sts, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(pub.sid),
			Principals: &[]awsiam.IPrincipal{pub.principal},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{topicArn},
			// Only this account's rules and alarms: a confused-deputy guard that both services document.
			Conditions: &map[string]any{"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String(pub.service), Resource: jsii.String(pub.resource), ResourceName: jsii.String("*"), ArnFormat: pub.format,
			})}},
		}))
	}
	respolicy.Topic(topic, sts...)
	for _, email := range props.Emails {
		awssns.NewSubscription(c, jsii.String(subscriptionID(email)), &awssns.SubscriptionProps{
			Topic:    topic,
			Protocol: awssns.SubscriptionProtocol_EMAIL,
			Endpoint: jsii.String(email),
		})
	}
	return &Alerting{Construct: c, Topic: topic, Key: key}
}

// lockTopicStatements deny every change to the topic that a topic policy can deny (new subscriptions,
// attributes such as the policy and the key, permissions, the data protection policy, deletion) to every
// principal but the break-glass principals (with MFA) and the deploy roles of ex: DenyTopicChanges and
// DenyTopicChangesWithoutMfa. SNS accepts only its documented topic-policy actions there
// (docs/aws-facts.md); Unsubscribe and SetSubscriptionAttributes are not among them (README.md, "What
// kmsguard does not protect against", says what covers them).
func lockTopicStatements(topicArn string, ex lockdown.Exemptions) []awsiam.PolicyStatement {
	var sts []awsiam.PolicyStatement
	for _, st := range ex.Deny("DenyTopicChanges", lockdown.TopicActions, topicArn) {
		sts = append(sts, awsiam.PolicyStatement_FromJson(st))
	}
	return sts
}

// subscriptionID derives the construct id from the address, not its position, so removing one address does
// not replace (and re-confirm) every subscription after it.
func subscriptionID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "Email" + hex.EncodeToString(sum[:4])
}

// newTopicKey is the alert topic's own customer managed key. EventBridge and CloudWatch alarms publish as
// themselves; without this grant SNS drops their alerts silently (an AWS managed SNS key cannot grant them
// at all). AWS documents the statement without conditions: the services' KMS calls carry no caller account
// or source to test, and a condition that never matched would drop every alert. It is not the audit key, so
// that disabling one key cannot both stop the audit record and silence the alert about it.
func newTopicKey(scope cdkconstructs.Construct, name string, publishers []awsiam.IPrincipal, lock lockdown.Exemptions) awskms.Key {
	what, role := "alert topic", "alerts-key"
	if name != "alerts" {
		what, role = name+" alert topic", name+"-alerts-key"
	}
	return cmk.New(scope, "TopicKey", "kmsguard: "+what+" (never the MariaDB master key, the audit key or the other alert topic's key)", role, lock,
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowAlertPublishersToUseTheTopicKey"),
			Principals: &publishers,
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
			Resources:  jsii.Strings("*"),
		}))
}
