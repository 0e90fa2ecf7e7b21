package awsclient

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// Kind sorts AWS failures into the few cases an operator acts on differently.
type Kind int

// The kinds of failure; KindOther covers everything else.
const (
	KindOther Kind = iota
	KindWrongMFA
	KindExpired
	KindBadKeys
	KindAccessDenied
	KindDisabled
	KindNotFound
	KindInvalidState
	KindNoCredentials
)

// Classify maps an error from the SDK to a Kind by its AWS error code.
func Classify(err error) Kind {
	var api smithy.APIError
	if !errors.As(err, &api) {
		if strings.Contains(err.Error(), "failed to retrieve credentials") || strings.Contains(err.Error(), "no EC2 IMDS role found") {
			return KindNoCredentials
		}
		return KindOther
	}
	code, msg := api.ErrorCode(), api.ErrorMessage()
	switch {
	case (code == "AccessDenied" || code == "AccessDeniedException") && strings.Contains(msg, "MultiFactorAuthentication"):
		return KindWrongMFA
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired":
		return KindExpired
	case code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "SignatureDoesNotMatch" || code == "IncompleteSignature":
		return KindBadKeys
	case strings.HasPrefix(code, "AccessDenied") || strings.HasSuffix(code, "UnauthorizedOperation"):
		return KindAccessDenied
	case code == "DisabledException":
		return KindDisabled
	case code == "NotFoundException":
		return KindNotFound
	case code == "KMSInvalidStateException":
		return KindInvalidState
	}
	return KindOther
}

// Explain turns an AWS error into one line that says what happened and what
// to do. Any of the given secrets (an MFA code, a key) that appear in the
// message are masked, because AWS validation messages may quote the input.
func Explain(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	var line string
	switch Classify(err) {
	case KindWrongMFA:
		line = "the MFA code was rejected (wrong, expired or already used, or the MFA serial is not this user's device): wait for the next code and try again"
	case KindExpired:
		line = "the session credentials have expired: start again with a fresh MFA code"
	case KindBadKeys:
		line = "AWS does not accept the long-term access key (wrong, deleted or inactive): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the --profile"
	case KindAccessDenied:
		line = "access denied: the key policy or IAM policy does not allow this principal this action (the admin user may only EnableKey/DisableKey, with MFA; status needs a principal allowed kms:DescribeKey, e.g. --profile of a key administrator)"
	case KindDisabled:
		line = "the key is disabled: enable it first (kms-manage-key enable)"
	case KindNotFound:
		line = "key not found: check --key-id and the region (key ids are per region and account; EnableKey/DisableKey need a key id or key ARN, not an alias)"
	case KindInvalidState:
		line = "the key is in a state that does not allow this (for example pending deletion or pending import)"
	case KindNoCredentials:
		line = "no AWS credentials found: use --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
	default:
		switch {
		case errors.Is(err, context.Canceled):
			line = "interrupted"
		case errors.Is(err, context.DeadlineExceeded):
			line = "timed out talking to AWS"
		default:
			line = "AWS request failed"
		}
	}
	detail := oneLine(err.Error())
	for _, s := range secrets {
		if s != "" {
			detail = strings.ReplaceAll(detail, s, "[redacted]")
		}
	}
	return line + " (" + detail + ")"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}
