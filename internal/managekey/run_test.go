package managekey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

func apiErr(code, msg string) error {
	return fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: code, Message: msg})
}

type fakeSTS struct {
	code, serial string
	seconds      int32
	err          error
}

func (f *fakeSTS) GetSessionToken(_ context.Context, in *sts.GetSessionTokenInput, _ ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error) {
	f.code, f.serial, f.seconds = *in.TokenCode, *in.SerialNumber, *in.DurationSeconds
	if f.err != nil {
		return nil, f.err
	}
	exp := time.Now().Add(time.Hour)
	return &sts.GetSessionTokenOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String("ASIAFAKESESSION"), SecretAccessKey: aws.String("fakeSessionSecret"), SessionToken: aws.String("fakeSessionToken"), Expiration: &exp,
	}}, nil
}

// fakeKMS records calls in order and fails the ones listed in errs.
type fakeKMS struct {
	mu      sync.Mutex
	calls   []string
	errs    map[string]error
	session *awsclient.Session
	enabled bool
	onCall  func(op string)
}

func (f *fakeKMS) record(op, key string) error {
	f.mu.Lock()
	f.calls = append(f.calls, op+" "+key)
	f.mu.Unlock()
	if f.onCall != nil {
		f.onCall(op)
	}
	return f.errs[op]
}

func (f *fakeKMS) EnableKey(_ context.Context, in *kms.EnableKeyInput, _ ...func(*kms.Options)) (*kms.EnableKeyOutput, error) {
	if err := f.record("EnableKey", *in.KeyId); err != nil {
		return nil, err
	}
	f.enabled = true
	return &kms.EnableKeyOutput{}, nil
}

func (f *fakeKMS) DisableKey(_ context.Context, in *kms.DisableKeyInput, _ ...func(*kms.Options)) (*kms.DisableKeyOutput, error) {
	if err := f.record("DisableKey", *in.KeyId); err != nil {
		return nil, err
	}
	f.enabled = false
	return &kms.DisableKeyOutput{}, nil
}

func (f *fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	if err := f.record("DescribeKey", *in.KeyId); err != nil {
		return nil, err
	}
	del := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{
		KeyId: aws.String("kid"), Arn: aws.String("arn:aws:kms:us-east-1:1:key/kid"), KeyState: kmstypes.KeyStatePendingDeletion,
		Enabled: false, DeletionDate: &del, Description: aws.String("MariaDB master key"),
	}}, nil
}

func (f *fakeKMS) GetKeyRotationStatus(_ context.Context, in *kms.GetKeyRotationStatusInput, _ ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error) {
	if err := f.record("GetKeyRotationStatus", *in.KeyId); err != nil {
		return nil, err
	}
	return &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(365)}, nil
}

func (f *fakeKMS) ListAliases(_ context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	if err := f.record("ListAliases", *in.KeyId); err != nil {
		return nil, err
	}
	return &kms.ListAliasesOutput{Aliases: []kmstypes.AliasListEntry{{AliasName: aws.String("alias/mariadb-encryption")}}}, nil
}

type fakePrompt struct {
	answer string
	asked  int
}

func (p *fakePrompt) Prompt(string) (string, error) {
	p.asked++
	if p.answer == "" {
		return "", errors.New("no terminal")
	}
	return p.answer, nil
}

// fakeClock fires at once and counts the time "waited".
type fakeClock struct {
	mu     sync.Mutex
	waited time.Duration
	onWait func(total time.Duration)
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waited += d
	total := c.waited
	c.mu.Unlock()
	if c.onWait != nil {
		c.onWait(total)
	}
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

type env struct {
	sts    *fakeSTS
	kms    *fakeKMS
	prompt *fakePrompt
	clock  *fakeClock
	out    bytes.Buffer
	err    bytes.Buffer
	deps   Deps
	opts   Options
}

func newEnv() *env {
	e := &env{sts: &fakeSTS{}, kms: &fakeKMS{errs: map[string]error{}}, prompt: &fakePrompt{}, clock: &fakeClock{}}
	e.deps = Deps{STS: e.sts, Prompt: e.prompt, Clock: e.clock, Out: &e.out, Err: &e.err,
		KMS: func(s *awsclient.Session) KMS { e.kms.session = s; return e.kms }}
	e.opts = Options{KeyID: "kid", MFASerial: "arn:aws:iam::1:mfa/MDBEncAdmin", MFACode: "123456", For: 2 * time.Minute}
	return e
}

func (e *env) run(cmd string) error {
	e.opts.Command = cmd
	return Execute(context.Background(), e.opts, e.deps)
}

func TestEnableDisableUseMFASession(t *testing.T) {
	for _, cmd := range []string{"enable", "disable"} {
		e := newEnv()
		if err := e.run(cmd); err != nil {
			t.Fatal(err)
		}
		op := map[string]string{"enable": "EnableKey", "disable": "DisableKey"}[cmd]
		if strings.Join(e.kms.calls, ",") != op+" kid" {
			t.Errorf("%s: calls = %v", cmd, e.kms.calls)
		}
		if e.kms.session == nil || e.kms.session.SessionToken != "fakeSessionToken" {
			t.Errorf("%s: KMS client not built from the MFA session", cmd)
		}
		if e.sts.code != "123456" || e.sts.serial != "arn:aws:iam::1:mfa/MDBEncAdmin" || e.sts.seconds != 900 {
			t.Errorf("%s: STS input %+v", cmd, e.sts)
		}
		if got := e.out.String(); got != "key kid "+cmd+"d\n" {
			t.Errorf("%s: out = %q", cmd, got)
		}
	}
}

func TestPromptsWhenNoCode(t *testing.T) {
	e := newEnv()
	e.opts.MFACode = ""
	e.prompt.answer = " 654321\n"
	if err := e.run("enable"); err != nil {
		t.Fatal(err)
	}
	if e.prompt.asked != 1 || e.sts.code != "654321" {
		t.Errorf("asked %d, code sent %q", e.prompt.asked, e.sts.code)
	}
	e = newEnv()
	e.opts.MFACode = ""
	e.prompt.answer = "12x456"
	if err := e.run("enable"); err == nil || strings.Contains(err.Error(), "12x456") || len(e.kms.calls) != 0 {
		t.Errorf("malformed prompt answer: err = %v, calls %v", err, e.kms.calls)
	}
	e = newEnv()
	e.opts.MFACode = ""
	if err := e.run("disable"); err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("no terminal: err = %v", err)
	}
}

func TestErrorsAreOneClearLine(t *testing.T) {
	for name, tc := range map[string]struct {
		stsErr, kmsErr error
		want           string
	}{
		"wrong code":    {apiErr("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. "), nil, "MFA code was rejected"},
		"expired":       {nil, apiErr("ExpiredTokenException", "The security token included in the request is expired"), "session credentials have expired"},
		"access denied": {nil, apiErr("AccessDeniedException", "User: arn:aws:iam::1:user/MDBEncAdmin is not authorized to perform: kms:EnableKey"), "key policy"},
		"disabled":      {nil, apiErr("DisabledException", "arn:aws:kms:us-east-1:1:key/kid is disabled."), "key is disabled"},
		"not found":     {nil, apiErr("NotFoundException", "Invalid keyId kid"), "key not found"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv()
			e.sts.err = tc.stsErr
			e.kms.errs["EnableKey"] = tc.kmsErr
			err := e.run("enable")
			if err == nil {
				t.Fatal("no error")
			}
			var buf bytes.Buffer
			if code := ExitCode(err, &buf); code != ExitFailure {
				t.Errorf("exit %d", code)
			}
			line := buf.String()
			if !strings.Contains(line, tc.want) || strings.Count(line, "\n") != 1 || strings.Contains(line, "123456") {
				t.Errorf("error output %q, want one line with %q and without the code", line, tc.want)
			}
		})
	}
}

func TestStatusBlock(t *testing.T) {
	e := newEnv()
	e.opts.MFACode = ""
	e.opts.KeyID = "alias/mariadb-encryption"
	if err := e.run("status"); err != nil {
		t.Fatal(err)
	}
	if e.kms.session != nil || e.sts.code != "" {
		t.Error("status without a code must use the base credentials, not STS")
	}
	out := e.out.String()
	for _, want := range []string{"key:", "arn:aws:kms:us-east-1:1:key/kid", "alias:", "alias/mariadb-encryption", "state:", "PendingDeletion",
		"enabled:", "no", "rotation:", "enabled (every 365 days)", "deletion:", "PENDING, scheduled for 2030-05-06T07:08:09Z", "MariaDB master key"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	// Alias input: rotation is asked by the ARN, aliases by key id.
	if got := strings.Join(e.kms.calls, ","); got != "DescribeKey alias/mariadb-encryption,ListAliases kid,GetKeyRotationStatus arn:aws:kms:us-east-1:1:key/kid" {
		t.Errorf("calls = %s", got)
	}
}

func TestStatusAccessDenied(t *testing.T) {
	e := newEnv()
	e.opts.MFACode = ""
	e.kms.errs["DescribeKey"] = apiErr("AccessDeniedException", "User: arn:aws:iam::1:user/MDBEncAdmin is not authorized to perform: kms:DescribeKey")
	err := e.run("status")
	if err == nil || !strings.Contains(err.Error(), "status needs a principal allowed kms:DescribeKey") {
		t.Fatalf("err = %v", err)
	}
	e = newEnv()
	e.opts.MFACode = ""
	e.kms.errs["GetKeyRotationStatus"] = apiErr("AccessDeniedException", "not authorized")
	if err := e.run("status"); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`rotation: +unknown: access denied`).MatchString(e.out.String()) {
		t.Errorf("partial status:\n%s", e.out.String())
	}
}

func TestWindowEnablesWaitsDisables(t *testing.T) {
	e := newEnv()
	e.opts.For = 90 * time.Second
	e.clock.onWait = func(time.Duration) {
		if !e.kms.enabled {
			t.Error("key not enabled during the countdown")
		}
	}
	if err := e.run("window"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.kms.calls, ","); got != "EnableKey kid,DisableKey kid" {
		t.Errorf("calls = %s", got)
	}
	if e.clock.waited != 90*time.Second {
		t.Errorf("waited %v", e.clock.waited)
	}
	if e.sts.seconds != 900 {
		t.Errorf("session of %d s, want the 900 s minimum", e.sts.seconds)
	}
	if !strings.Contains(e.err.String(), "disabling the key in 1m30s") || !strings.Contains(e.err.String(), "disabling the key in 30s") {
		t.Errorf("countdown:\n%s", e.err.String())
	}
}

func TestWindowSessionOutlastsLongWindow(t *testing.T) {
	e := newEnv()
	e.opts.For = time.Hour
	if err := e.run("window"); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(e.sts.seconds) * time.Second; got < time.Hour+5*time.Minute {
		t.Errorf("session of %v does not outlast a 1h window", got)
	}
}

func TestWindowSignalDisables(t *testing.T) {
	e := newEnv()
	ctx, cancel := context.WithCancelCause(context.Background())
	e.clock.onWait = func(total time.Duration) {
		if total == 10*time.Second {
			cancel(errors.New("got signal interrupt"))
		}
	}
	e.opts.Command = "window"
	err := Execute(ctx, e.opts, e.deps)
	if err == nil || !strings.Contains(err.Error(), "window ended early, key disabled again: got signal interrupt") {
		t.Fatalf("err = %v", err)
	}
	if e.kms.enabled || strings.Join(e.kms.calls, ",") != "EnableKey kid,DisableKey kid" {
		t.Errorf("calls = %v enabled = %v", e.kms.calls, e.kms.enabled)
	}
	if e.clock.waited > 11*time.Second {
		t.Errorf("kept waiting after the signal: %v", e.clock.waited)
	}
}

func TestWindowEnableRefusedDoesNotDisable(t *testing.T) {
	e := newEnv()
	e.kms.errs["EnableKey"] = apiErr("AccessDeniedException", "not authorized")
	if err := e.run("window"); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(e.kms.calls, ",") != "EnableKey kid" {
		t.Errorf("calls = %v", e.kms.calls)
	}
}

func TestWindowEnableWithoutAnswerDisables(t *testing.T) {
	e := newEnv()
	e.kms.errs["EnableKey"] = errors.New("connection reset by peer")
	if err := e.run("window"); err == nil || !strings.Contains(err.Error(), "key disabled again") {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(e.kms.calls, ",") != "EnableKey kid,DisableKey kid" {
		t.Errorf("calls = %v", e.kms.calls)
	}
}

func TestWindowFinalDisableFailsLoudly(t *testing.T) {
	e := newEnv()
	e.kms.errs["DisableKey"] = apiErr("ExpiredTokenException", "expired")
	err := e.run("window")
	var buf bytes.Buffer
	if code := ExitCode(err, &buf); code != ExitLeftEnabled {
		t.Fatalf("exit %d, err %v", code, err)
	}
	if !strings.Contains(buf.String(), "!!! THE KEY MAY STILL BE ENABLED") || !strings.Contains(buf.String(), "kms-manage-key disable --key-id kid") {
		t.Errorf("message:\n%s", buf.String())
	}
}

func TestNoSecretsInOutput(t *testing.T) {
	e := newEnv()
	e.kms.errs["DisableKey"] = apiErr("ValidationException", "value 123456 ASIAFAKESESSION")
	err := e.run("window")
	ExitCode(err, &e.err)
	all := e.out.String() + e.err.String()
	for _, s := range []string{"123456", "fakeSessionSecret", "fakeSessionToken"} {
		if strings.Contains(all, s) {
			t.Errorf("output contains %q:\n%s", s, all)
		}
	}
}
