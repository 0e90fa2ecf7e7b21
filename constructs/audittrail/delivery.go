package audittrail

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newDeliveryRole lets CloudTrail write to the audit log group. It returns the role and its policy: the
// trail must wait for the policy (the role itself it already references).
//
// The trust policy names the CloudTrail service and nothing else, without aws:SourceArn or
// aws:SourceAccount: CloudTrail's guide ("Role policy document for CloudTrail to use CloudWatch Logs for
// monitoring", docs/aws-facts.md) says this role does not support them, and with either condition
// CreateTrail fails its check of the role. The role stays narrow through its permissions: it may only
// create streams in, and put events into, the one audit log group, so any trail that used it could do no
// more than add records to kmsguard's own log.
func newDeliveryRole(scope cdkconstructs.Construct, sh *shared, logGroupArn *string) (awsiam.Role, awsiam.ManagedPolicy) {
	role := awsiam.NewRole(scope, jsii.String("LogDeliveryRole"), &awsiam.RoleProps{
		AssumedBy:   sh.cloudtrail,
		Description: jsii.String("kmsguard: CloudTrail delivery to the audit log group"),
	})
	// A customer managed policy rather than an inline one (cdk-nag NIST.800.53.R5-IAMNoInlinePolicy).
	policy := awsiam.NewManagedPolicy(role, jsii.String("DeliveryPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("kmsguard: CloudTrail may write to the audit log group, nothing else"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("DeliverToAuditLogGroup"),
			Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			// The log group's Arn attribute ends in ":*", which already covers its streams.
			Resources: &[]*string{logGroupArn},
		})},
	})
	return role, policy
}
