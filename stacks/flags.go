package stacks

// FeatureFlags are the CDK feature flags the stack is written for. They live in code, not in cdk.json, so
// that `cdk synth`, the tests and anyone embedding the stack get the same template.
func FeatureFlags() map[string]any {
	return map[string]any{
		// Server access logs are granted to the log delivery service by bucket policy; the legacy ACL
		// grant cannot work on a bucket with ACLs disabled.
		"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
	}
}
