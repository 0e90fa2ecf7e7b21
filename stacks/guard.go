// Package stacks wires the kmsguard constructs into the one stack an operator deploys, from a validated
// Config.
package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/alerting"
	"github.com/kmsguard/kmsguard/constructs/audittrail"
	"github.com/kmsguard/kmsguard/constructs/detection"
	"github.com/kmsguard/kmsguard/constructs/keyadmin"
	"github.com/kmsguard/kmsguard/constructs/masterkey"
	"github.com/kmsguard/kmsguard/constructs/serveruser"
)

// GuardStack exposes every part, so tests and later constructs can reach them without searching the tree.
type GuardStack struct {
	awscdk.Stack
	Config     Config
	MasterKey  *masterkey.MasterKey
	KeyAdmin   *keyadmin.KeyAdmin     // nil when the operator named an existing administrator (adminUserArn)
	ServerUser *serveruser.ServerUser // nil when the operator named existing key users
	AuditTrail *audittrail.AuditTrail
	Alerting   *alerting.Alerting
	Detection  *detection.Detection
}

// NewGuardStack builds the stack. It validates cfg again (cheaply) so that code that builds a Config by
// hand gets the same errors as `cdk synth`, and panics rather than synthesize a weakened policy.
func NewGuardStack(scope cdkconstructs.Construct, cfg Config) *GuardStack {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	stack := awscdk.NewStack(scope, jsii.String(cfg.StackName), &awscdk.StackProps{
		Description: jsii.String("kmsguard: MariaDB aws_key_management master key, key policy, audit trail and alerts"),
		// Deleting this stack by mistake must take a deliberate second step.
		TerminationProtection: jsii.Bool(true),
		// No CDK telemetry resource: the template holds only what the operator reviews.
		AnalyticsReporting: jsii.Bool(false),
	})
	g := &GuardStack{Stack: stack, Config: cfg}
	lock := cfg.Lock(stack) // who may still make the locked changes (docs/aws-facts.md, "Locked changes")

	adminArn := cfg.AdminUserArn
	if adminArn == "" {
		g.KeyAdmin = keyadmin.New(stack, "KeyAdmin", keyadmin.Props{UserName: cfg.AdminUserName, RequireMfa: cfg.AdminRequireMfa})
		adminArn = *g.KeyAdmin.User.UserArn()
	}
	keyUsers := cfg.KeyUserArns
	if len(keyUsers) == 0 {
		g.ServerUser = serveruser.New(stack, "ServerUser", serveruser.Props{UserName: cfg.ServerUserName})
		keyUsers = []string{*g.ServerUser.User.UserArn()}
	}
	g.MasterKey = masterkey.New(stack, "MasterKey", masterkey.Props{
		Alias:               cfg.KeyAlias,
		AccountID:           *awscdk.Aws_ACCOUNT_ID(),
		AccountRootArn:      "arn:" + *awscdk.Aws_PARTITION() + ":iam::" + *awscdk.Aws_ACCOUNT_ID() + ":root",
		KeyUserArns:         keyUsers,
		AdminArn:            adminArn,
		AllowedCidrs:        cfg.AllowedCidrs,
		AllowedVpcEndpoints: cfg.AllowedVpcEndpoints,
		RequireMfa:          cfg.RequireMfa,
		AdminRequireMfa:     cfg.AdminRequireMfa,
		Lock:                lock,
	})
	g.AuditTrail = audittrail.New(stack, "AuditTrail", audittrail.Props{TrailName: cfg.TrailName, LogRetentionDays: cfg.LogRetentionDays,
		ObjectLockMode: cfg.ObjectLockMode, Lock: lock})
	g.Alerting = alerting.New(stack, "Alerting", alerting.Props{Emails: cfg.AlertEmails, Lock: lock})
	g.Detection = detection.New(stack, "Detection", detection.Props{
		Targets:      g.detectionTargets(adminArn, keyUsers),
		NotifyKeyUse: cfg.NotifyKeyUse,
		Namespace:    "kmsguard/" + cfg.StackName,
	})
	// The metric filters name the log group by Ref, which also makes them wait for it.

	g.warnAboutWeakSettings()
	g.addOutputs()
	g.applyNagSuppressions() // stacks/nag.go: accepted cdk-nag findings, each with its reason
	return g
}

// detectionTargets names everything the alerts watch. Rules and alarms are named after the stack so that
// the tamper rules can recognise them.
func (g *GuardStack) detectionTargets(adminArn string, keyUsers []string) detection.Targets {
	cfg := g.Config
	users := []string{adminArn}
	for _, arn := range keyUsers {
		if !strings.Contains(arn, ":role/") {
			users = append(users, arn)
		}
	}
	return detection.Targets{
		KeyArn:       *g.MasterKey.Key.AttrArn(),
		KeyID:        *g.MasterKey.Key.AttrKeyId(),
		KeyAlias:     cfg.KeyAlias,
		AliasArn:     "arn:" + *awscdk.Aws_PARTITION() + ":kms:" + *awscdk.Aws_REGION() + ":" + *awscdk.Aws_ACCOUNT_ID() + ":" + cfg.KeyAlias,
		AuditKeyArns: []string{*g.AuditTrail.AuditKey.KeyArn(), *g.Alerting.Key.KeyArn()},
		TrailName:    cfg.TrailName,
		BucketNames:  []string{*g.AuditTrail.Bucket.BucketName(), *g.AuditTrail.AccessLogBucket.BucketName()},
		LogGroupName: g.AuditTrail.LogGroupName,
		TopicArn:     *g.Alerting.Topic.TopicArn(),
		NamePrefix:   cfg.StackName,
		UserArns:     users,
		UserNames:    cfg.watchedUserNames(),
	}
}

// warnAboutWeakSettings flags choices that are allowed but leave a gap; `cdk synth --strict` turns them
// into errors for teams that want that.
func (g *GuardStack) warnAboutWeakSettings() {
	ann := awscdk.Annotations_Of(g.Stack)
	if len(g.Config.AllowedCidrs) == 0 && len(g.Config.AllowedVpcEndpoints) == 0 {
		ann.AddWarningV2(jsii.String("kmsguard:noNetworkRestriction"), jsii.String(
			"allowedCidrs and allowedVpcEndpoints are empty: stolen credentials can use the master key from anywhere"), nil)
	}
	if len(g.Config.AlertEmails) == 0 {
		ann.AddWarningV2(jsii.String("kmsguard:noAlertEmails"), jsii.String(
			"alertEmails is empty: alerts go to a topic nobody is subscribed to"), nil)
	}
}

func (g *GuardStack) addOutputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(g.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("KeyArn", "Master key ARN (aws_key_management_master_key_id may also use the alias)", g.MasterKey.Key.AttrArn())
	out("KeyId", "Master key id (kms-manage-key --key-id)", g.MasterKey.Key.AttrKeyId())
	out("KeyAlias", "Master key alias", jsii.String(g.Config.KeyAlias))
	adminArn := jsii.String(g.Config.AdminUserArn)
	if g.KeyAdmin != nil {
		adminArn = g.KeyAdmin.User.UserArn()
	}
	out("AdminUserArn", "Key administrator: create its access key and MFA device by hand", adminArn)
	if g.ServerUser != nil {
		out("ServerUserArn", "MariaDB server user: create its access key by hand", g.ServerUser.User.UserArn())
	}
	out("AlertTopicArn", "Alert topic: confirm each email subscription", g.Alerting.Topic.TopicArn())
	out("TrailArn", "CloudTrail trail that records every call on the key", g.AuditTrail.Trail.AttrArn())
	out("TrailBucketName", "S3 bucket with the trail's log files", g.AuditTrail.Bucket.BucketName())
	out("AuditLogGroupName", "CloudWatch Logs log group with the trail's events", g.AuditTrail.LogGroup.Ref())
}
