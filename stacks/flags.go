package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// FeatureFlags are the CDK feature flags the stack is written for. They live in code, not in cdk.json, so
// that `cdk synth`, the tests and anyone embedding the stack get the same template.
func FeatureFlags() map[string]any {
	return map[string]any{
		// Server access logs are granted to the log delivery service by bucket policy; the legacy ACL
		// grant cannot work on a bucket with ACLs disabled.
		"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
		// When the built-in template validation runs (TestBuiltinCloudFormationValidation), its errors
		// fail the synth instead of being downgraded to warnings.
		"@aws-cdk/core:strictCfnValidateErrors": true,
	}
}

// NewApp is the one way kmsguard creates a CDK app (bin/, the tests, the cdk-nag report), so all of them
// synthesize the same template. outdir "" means the CDK default (CDK_OUTDIR from the CLI).
//
// The CDK's built-in CloudFormation validation (a WASM rule engine) costs about 2 s of every synth, more
// than the whole stack construction, and finds nothing cfn-lint does not: it is off for `cdk synth` and
// runs as a gate in the test suite (validate=true), next to cfn-lint.
func NewApp(outdir string, validate bool) awscdk.App {
	flags := FeatureFlags()
	// StackTraces off: the construct creation traces only go to the assembly's metadata, and the CDK CLI
	// prints the first frame of each (a jsii-runtime program.js line) above every configuration warning.
	// The creation stacks of the stack and of every CloudFormation element are off too: from a Go app they
	// never hold a frame of ours ("...jsii runtime, node internals..."), yet capturing and parsing them is
	// work on every resource and output of every synth (docs/checks.md, "Benchmark").
	flags["aws:cdk:disable-creation-stack-traces"] = true
	props := &awscdk.AppProps{PostCliContext: &flags, BuiltinCloudFormationValidation: jsii.Bool(validate), StackTraces: jsii.Bool(false)}
	if outdir != "" {
		props.Outdir = jsii.String(outdir)
	}
	return awscdk.NewApp(props)
}
