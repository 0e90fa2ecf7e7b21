package audittrail

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cmk"
	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// newAuditKey makes the key for the trail's log files and the log group. Each service may use it only for
// its own resource (encryption-context and source conditions); the account keeps the usual IAM-delegated
// administration so that auditors can read the logs. The alert topic has a key of its own: one DisableKey
// must not both stop the audit record and silence the alert about it.
func newAuditKey(scope cdkconstructs.Construct, sh *shared, trailArn, logGroupName string, lock lockdown.Exemptions) awskms.Key {
	// The pipeline's one CloudTrail principal; the statements go into the policy in cmk.New's one call.
	cloudtrail := []awsiam.IPrincipal{sh.cloudtrail}
	return cmk.New(scope, "AuditKey", "kmsguard: audit trail and audit logs (never the MariaDB master key)", "audit-key", lock,
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowCloudTrailToEncryptLogs"),
			Principals: &cloudtrail,
			Actions:    jsii.Strings("kms:GenerateDataKey*"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceArn": trailArn},
				"StringLike": map[string]any{"kms:EncryptionContext:aws:cloudtrail:arn": sh.arn("cloudtrail", jsii.String("*"), "trail", "*",
					awscdk.ArnFormat_SLASH_RESOURCE_NAME)},
			},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowCloudTrailToDescribeKey"),
			Principals: &cloudtrail,
			Actions:    jsii.Strings("kms:DescribeKey"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}},
		}),
		// The trail bucket uses an S3 Bucket Key, and CloudTrail's guide ("Configure AWS KMS key policies for
		// CloudTrail", docs/aws-facts.md) requires kms:Decrypt for CloudTrail to create or update a trail with
		// SSE-KMS on such a bucket. Scoped to this trail by aws:SourceArn, as the guide recommends for every
		// CloudTrail statement; not by the CloudTrail encryption context, which S3's Bucket Key calls do not carry.
		// The Bucket Key stays: it cuts the KMS requests (and their cost and throttling) for every log file.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowCloudTrailToDecryptForTheBucketKey"),
			Principals: &cloudtrail,
			Actions:    jsii.Strings("kms:Decrypt"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowCloudWatchLogsForTheAuditLogGroup"),
			Principals: &[]awsiam.IPrincipal{servicePrincipal("logs." + *awscdk.Aws_REGION() + ".amazonaws.com")},
			Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{
				"ArnEquals": map[string]any{"kms:EncryptionContext:aws:logs:arn": sh.arn("logs", nil, "log-group", logGroupName,
					awscdk.ArnFormat_COLON_RESOURCE_NAME)},
			},
		}))
}
