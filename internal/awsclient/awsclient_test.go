package awsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

type fakeSTS struct {
	in  *sts.GetSessionTokenInput
	out *sts.GetSessionTokenOutput
	err error
}

func (f *fakeSTS) GetSessionToken(_ context.Context, in *sts.GetSessionTokenInput, _ ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error) {
	f.in = in
	return f.out, f.err
}

func TestGetSession(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &fakeSTS{out: &sts.GetSessionTokenOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String("ASIAKEY"), SecretAccessKey: aws.String("s3cret"), SessionToken: aws.String("tok"), Expiration: &exp,
	}}}
	s, err := GetSession(context.Background(), f, "arn:aws:iam::1:mfa/x", "123456", 3600)
	if err != nil {
		t.Fatal(err)
	}
	if s.AccessKeyID != "ASIAKEY" || s.SecretAccessKey != "s3cret" || s.SessionToken != "tok" || !s.Expiration.Equal(exp) {
		t.Errorf("session = %#v", s)
	}
	if *f.in.SerialNumber != "arn:aws:iam::1:mfa/x" || *f.in.TokenCode != "123456" || *f.in.DurationSeconds != 3600 {
		t.Errorf("input = %+v", f.in)
	}
	for _, shown := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v", s)} {
		if strings.Contains(shown, "s3cret") || strings.Contains(shown, "tok") || strings.Contains(shown, "ASIAKEY") {
			t.Errorf("String leaks a secret: %q", shown)
		}
	}
	if _, err := GetSession(context.Background(), &fakeSTS{out: &sts.GetSessionTokenOutput{}}, "s", "123456", 900); err == nil {
		t.Error("no error for a response without credentials")
	}
	boom := errors.New("boom")
	if _, err := GetSession(context.Background(), &fakeSTS{err: boom}, "s", "123456", 900); !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap boom", err)
	}
}

func apiErr(code, msg string) error {
	return fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: code, Message: msg})
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind Kind
		want string
	}{
		{apiErr("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code."), KindWrongMFA, "MFA code was rejected"},
		{apiErr("ExpiredTokenException", "The security token included in the request is expired"), KindExpired, "expired"},
		{apiErr("InvalidClientTokenId", "The security token included in the request is invalid."), KindBadKeys, "long-term access key"},
		{apiErr("AccessDeniedException", "User: arn:aws:iam::1:user/MDBEncAdmin is not authorized to perform: kms:DescribeKey"), KindAccessDenied, "kms:DescribeKey"},
		{apiErr("DisabledException", "key is disabled"), KindDisabled, "enable it first"},
		{apiErr("NotFoundException", "Invalid keyId alias/x"), KindNotFound, "key not found"},
		{apiErr("KMSInvalidStateException", "pending deletion"), KindInvalidState, "pending deletion"},
		{apiErr("ThrottlingException", "slow down"), KindOther, "AWS request failed"},
		{fmt.Errorf("x: %w", context.Canceled), KindOther, "interrupted"},
	} {
		if k := Classify(tc.err); k != tc.kind {
			t.Errorf("Classify(%v) = %d, want %d", tc.err, k, tc.kind)
		}
		if got := Explain(tc.err); !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("Explain(%v) = %q, want one line containing %q", tc.err, got, tc.want)
		}
	}
	got := Explain(apiErr("ValidationError", "Value '654321' at 'tokenCode' failed"), "654321")
	if strings.Contains(got, "654321") || !strings.Contains(got, "[redacted]") {
		t.Errorf("secret not masked: %q", got)
	}
}

func TestLoadLongTermConfigNeedsKeys(t *testing.T) {
	if _, err := LoadLongTermConfig(context.Background(), "us-east-1", "", "x"); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("AWS_SESSION_TOKEN", "inherited")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	cfg, err := LoadLongTermConfig(context.Background(), "eu-west-1", "AKIALONG", "secret")
	if err != nil {
		t.Fatal(err)
	}
	cr, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cr.AccessKeyID != "AKIALONG" || cr.SessionToken != "" || cfg.Region != "eu-west-1" {
		t.Errorf("creds %q token %q region %q", cr.AccessKeyID, cr.SessionToken, cfg.Region)
	}
}
