// Package cmk makes kmsguard's supporting customer managed keys (the audit key, the alert topic's key) the
// same way: rotated, a 30-day deletion window, retained when the stack goes, and tagged with their role in
// the template metadata so that tests and kmsguard-replay can tell the keys apart.
package cmk

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// New creates the key; role goes into the resource's kmsguard:role metadata.
func New(scope cdkconstructs.Construct, id, description, role string) awskms.Key {
	key := awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	key.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("kmsguard:role"), role)
	return key
}
