package audittrail

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newDeliveryRole lets this trail, and only this trail, write to the audit log group.
func newDeliveryRole(scope cdkconstructs.Construct, group awslogs.CfnLogGroup, trailArn string) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String("LogDeliveryRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("cloudtrail.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": trailArn}},
		}),
		Description: jsii.String("kmsguard: CloudTrail delivery to the audit log group"),
	})
	// The log group's Arn attribute ends in ":*", which already covers its streams.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DeliverToAuditLogGroup"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{group.AttrArn()},
	}))
	return role
}
