// Package serveruser builds the IAM user the MariaDB server runs as (MDBEnc of the guide) when the operator
// names no existing principal. Its only permission is the key policy's AllowUseOfTheKey.
package serveruser

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/check"
)

// Props configures the server user.
type Props struct {
	UserName string
}

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	if err := check.IAMUserName(p.UserName); err != nil {
		return fmt.Errorf("UserName: %w", err)
	}
	return nil
}

// ServerUser is the user; it has no identity policy, no access key and no password. A human creates the
// access key (and, with requireMfa, the MFA device) so no secret passes through a template.
type ServerUser struct {
	cdkconstructs.Construct
	User awsiam.User
}

// New creates the user; it panics on invalid props because the stack validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *ServerUser {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("serveruser: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	user := awsiam.NewUser(c, jsii.String("User"), &awsiam.UserProps{UserName: jsii.String(props.UserName)})
	return &ServerUser{Construct: c, User: user}
}
