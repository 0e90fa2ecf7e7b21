package audittrail

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newAuditKey makes the key for the trail's log files, the log group and the alert topic. Each service may
// use it only for its own resource (encryption-context and source conditions); the account keeps the usual
// IAM-delegated administration so that auditors can read the logs.
func newAuditKey(scope cdkconstructs.Construct, trailArn, logGroupName string) awskms.Key {
	key := awskms.NewKey(scope, jsii.String("AuditKey"), &awskms.KeyProps{
		Description:       jsii.String("kmsguard: audit trail, audit logs and alert topic (never the MariaDB master key)"),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudTrailToEncryptLogs"),
		Principals: &[]awsiam.IPrincipal{servicePrincipal("cloudtrail.amazonaws.com")},
		Actions:    jsii.Strings("kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceArn": trailArn},
			"StringLike":   map[string]any{"kms:EncryptionContext:aws:cloudtrail:arn": arn("cloudtrail", "*", "trail/*")},
		},
	}), jsii.Bool(false))
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudTrailToDescribeKey"),
		Principals: &[]awsiam.IPrincipal{servicePrincipal("cloudtrail.amazonaws.com")},
		Actions:    jsii.Strings("kms:DescribeKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}},
	}), jsii.Bool(false))
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchLogsForTheAuditLogGroup"),
		Principals: &[]awsiam.IPrincipal{servicePrincipal("logs." + *awscdk.Aws_REGION() + ".amazonaws.com")},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{
			"ArnEquals": map[string]any{"kms:EncryptionContext:aws:logs:arn": arn("logs", *awscdk.Aws_REGION(), "log-group:"+logGroupName)},
		},
	}), jsii.Bool(false))
	// EventBridge and CloudWatch alarms publish to the encrypted alert topic as themselves; without these
	// grants SNS drops their alerts silently (an AWS managed SNS key cannot grant them at all). AWS documents
	// this statement without conditions: the services' KMS calls carry no caller account or source to
	// test, and a condition that never matches would drop every alert.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AllowAlertPublishersToUseTheTopicKey"),
		Principals: &[]awsiam.IPrincipal{
			servicePrincipal("events.amazonaws.com"),
			servicePrincipal("cloudwatch.amazonaws.com"),
		},
		Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources: jsii.Strings("*"),
	}), jsii.Bool(false))
	return key
}
