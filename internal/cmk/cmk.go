// Package cmk makes kmsguard's supporting customer managed keys (the audit key, the alert topic's key) the
// same way: rotated, a 30-day deletion window, retained when the stack goes (but deleted by the rollback of
// the create that made them, docs/teardown.md), and tagged with their role in the template metadata so that
// tests and kmsguard-replay can tell the keys apart.
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
		// RetainExceptOnCreate: kept by stack deletion and replacement, but a failed first create schedules
		// it for deletion instead of leaving a live key behind (a key has no name, so it never blocks a
		// retry; it would only cost money).
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	key.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("kmsguard:role"), role)
	return key
}
