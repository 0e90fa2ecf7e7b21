package wrapper

import (
	"strings"
	"time"

	"github.com/kmsguard/kmsguard/internal/awsclient"
)

// conflictingVars would make an AWS SDK in the child pick other credentials
// than the MFA session (a profile, a role, a container endpoint) or pair the
// new keys with a stale token; they are removed from the child's environment.
var conflictingVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
}

// ConflictingVars lists the variables BuildEnv removes, for the process's own
// environment scrub before the SDK loads its configuration.
func ConflictingVars() []string { return append([]string(nil), conflictingVars...) }

// BuildEnv returns environ without conflicting variables, plus the session's
// three credentials and its expiry (the name the AWS CLI and SDKs use). A
// configured region is passed on as AWS_REGION and AWS_DEFAULT_REGION.
func BuildEnv(environ []string, s awsclient.Session, region string) []string {
	drop := map[string]bool{}
	for _, v := range conflictingVars {
		drop[v] = true
	}
	if region != "" {
		drop["AWS_REGION"], drop["AWS_DEFAULT_REGION"] = true, true
	}
	out := make([]string, 0, len(environ)+6)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	out = append(out,
		"AWS_ACCESS_KEY_ID="+s.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+s.SecretAccessKey,
		"AWS_SESSION_TOKEN="+s.SessionToken,
		"AWS_CREDENTIAL_EXPIRATION="+s.Expiration.UTC().Format(time.RFC3339),
	)
	if region != "" {
		out = append(out, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return out
}
