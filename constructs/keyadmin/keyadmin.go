// Package keyadmin builds the key administrator (MDBEncAdmin of the guide): an IAM user whose only power
// over the master key, granted by the key policy, is EnableKey/DisableKey.
package keyadmin

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/check"
)

// Props configures the administrator.
type Props struct {
	UserName   string
	RequireMfa bool
}

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	if err := check.IAMUserName(p.UserName); err != nil {
		return fmt.Errorf("UserName: %w", err)
	}
	return nil
}

// KeyAdmin is the user and the group that carries its policy (IAM best practice: permissions on groups,
// not on users). The stack creates no access key and no console password: a human creates the access key
// and the MFA device, so no secret ever passes through a template.
type KeyAdmin struct {
	cdkconstructs.Construct
	User  awsiam.User
	Group awsiam.Group
}

// New creates the administrator; it panics on invalid props because the stack validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *KeyAdmin {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("keyadmin: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	group := awsiam.NewGroup(c, jsii.String("Group"), &awsiam.GroupProps{})
	user := awsiam.NewUser(c, jsii.String("User"), &awsiam.UserProps{
		UserName: jsii.String(props.UserName),
		Groups:   &[]awsiam.IGroup{group},
	})
	if props.RequireMfa {
		// A customer managed policy, not an inline one (NIST 800-53 AC-6 via cdk-nag IAMNoInlinePolicy):
		// it is versioned, so a change to it can be reviewed and rolled back.
		group.AddManagedPolicy(awsiam.NewManagedPolicy(c, jsii.String("RequireMfa"), &awsiam.ManagedPolicyProps{
			Description: jsii.String("kmsguard: without MFA the key administrator can only manage its own MFA device"),
			Statements:  ForceMfaStatements(c),
		}))
	}
	return &KeyAdmin{Construct: c, User: user, Group: group}
}

// ForceMfaStatements is AWS's documented "manage your own MFA device, nothing else without MFA" policy. It
// backs up the key policy's DenyAdminWithoutMfa: stolen long-term keys of the administrator can do nothing
// but fetch an MFA session, which needs the device.
func ForceMfaStatements(scope cdkconstructs.Construct) *[]awsiam.PolicyStatement {
	ownIam := func(resource string) *string {
		return awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
			Resource: jsii.String(resource), ResourceName: jsii.String("${aws:username}"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})
	}
	return &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AllowListMfaDevices"),
			Actions:   jsii.Strings("iam:ListVirtualMFADevices"),
			Resources: jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AllowManageOwnVirtualMfaDevice"),
			Actions:   jsii.Strings("iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"),
			Resources: &[]*string{ownIam("mfa")},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("AllowManageOwnUserMfa"),
			Actions:   jsii.Strings("iam:DeactivateMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ResyncMFADevice"),
			Resources: &[]*string{ownIam("user")},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:    jsii.String("DenyAllExceptListedIfNoMfa"),
			Effect: awsiam.Effect_DENY,
			NotActions: jsii.Strings("iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser",
				"iam:ListMFADevices", "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"}},
		}),
	}
}
