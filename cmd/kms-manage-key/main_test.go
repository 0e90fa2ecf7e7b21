package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/kmsguard/kmsguard/internal/testmoto"
)

// With KMSGUARD_TEST_MAIN=1 the test binary is the tool itself, run as a
// subprocess so signals and exit codes are real.
func TestMain(m *testing.M) {
	if os.Getenv("KMSGUARD_TEST_MAIN") == "1" {
		main()
		return
	}
	testmoto.Main(m)
}

const (
	mfaSerial = "arn:aws:iam::123456789012:mfa/MDBEncAdmin"
	mfaCode   = "314159"
)

type fixture struct {
	endpoint string
	env      []string
	kms      *kms.Client
}

func setup(t *testing.T) *fixture {
	endpoint := testmoto.Endpoint(t)
	return &fixture{endpoint: endpoint, env: testmoto.Env(t, endpoint), kms: kms.NewFromConfig(testmoto.Config(t, endpoint))}
}

func (f *fixture) newKey(t *testing.T, alias string) (id, arn string) {
	t.Helper()
	out, err := f.kms.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("test master key")})
	if err != nil {
		t.Fatal(err)
	}
	if alias != "" {
		if _, err := f.kms.CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
			t.Fatal(err)
		}
	}
	return *out.KeyMetadata.KeyId, *out.KeyMetadata.Arn
}

func (f *fixture) enabled(t *testing.T, id string) bool {
	t.Helper()
	out, err := f.kms.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata.Enabled
}

func (f *fixture) command(extraEnv []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(append([]string{}, f.env...), "KMSGUARD_TEST_MAIN=1"), extraEnv...)
	// A new session has no controlling terminal, so the prompt can never
	// block on the developer's /dev/tty.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func (f *fixture) run(t *testing.T, extraEnv []string, args ...string) (int, string, string) {
	t.Helper()
	cmd, stdout, stderr := f.command(extraEnv, args...)
	cmd.Run()
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

func TestEnableDisableStatus(t *testing.T) {
	f := setup(t)
	id, arn := f.newKey(t, "alias/mariadb-encryption-it1")
	base := []string{"--key-id", id, "--mfa-serial", mfaSerial, "--mfa-code", mfaCode}

	rc, out, errOut := f.run(t, nil, append(base, "disable")...)
	if rc != 0 || out != "key "+id+" disabled\n" || f.enabled(t, id) {
		t.Fatalf("disable: rc %d out %q err %q", rc, out, errOut)
	}
	rc, out, errOut = f.run(t, nil, "status", "--key-id", id)
	out = squeeze(out)
	if rc != 0 {
		t.Fatalf("status: rc %d err %q", rc, errOut)
	}
	for _, want := range []string{"key: " + arn, "alias: alias/mariadb-encryption-it1", "state: Disabled", "enabled: no", "rotation: disabled", "deletion: not scheduled", "description: test master key"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	rc, out, errOut = f.run(t, nil, append(base, "enable")...)
	if rc != 0 || out != "key "+id+" enabled\n" || !f.enabled(t, id) {
		t.Fatalf("enable: rc %d out %q err %q", rc, out, errOut)
	}
	if _, err := f.kms.EnableKeyRotation(context.Background(), &kms.EnableKeyRotationInput{KeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	rc, out, _ = f.run(t, nil, "status", "--key-id", "alias/mariadb-encryption-it1")
	out = squeeze(out)
	if rc != 0 || !strings.Contains(out, "state: Enabled") || !strings.Contains(out, "rotation: enabled") {
		t.Errorf("status by alias after enable: rc %d\n%s", rc, out)
	}
}

func TestStatusPendingDeletion(t *testing.T) {
	f := setup(t)
	id, _ := f.newKey(t, "")
	if _, err := f.kms.ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	desc, err := f.kms.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil || desc.KeyMetadata.DeletionDate == nil {
		t.Fatalf("moto did not schedule deletion: %v", err)
	}
	rc, out, errOut := f.run(t, nil, "status", "--key-id", id)
	out = squeeze(out)
	want := "PENDING, scheduled for " + desc.KeyMetadata.DeletionDate.UTC().Format(time.RFC3339)
	if rc != 0 || !strings.Contains(out, "state: PendingDeletion") || !strings.Contains(out, want) {
		t.Errorf("rc %d err %q out:\n%s", rc, errOut, out)
	}
}

func TestLegacyFormAndOutputsFile(t *testing.T) {
	f := setup(t)
	id, arn := f.newKey(t, "")
	rc, _, errOut := f.run(t, []string{"KMSGUARD_KEY_ID=" + id, "KMSGUARD_MFA_SERIAL=" + mfaSerial}, "disable", "575290")
	if rc != 0 || f.enabled(t, id) {
		t.Fatalf("legacy disable: rc %d err %q", rc, errOut)
	}
	outputs := filepath.Join(t.TempDir(), "out.json")
	body := fmt.Sprintf(`{"KmsGuardStack": {"KeyArn": %q, "KeyId": %q, "KeyAlias": "alias/x", "AdminUserArn": "arn:aws:iam::123456789012:user/MDBEncAdmin", "AlertTopicArn": "a", "TrailArn": "b", "TrailBucketName": "c"}}`, arn, id)
	os.WriteFile(outputs, []byte(body), 0o644)
	rc, out, errOut := f.run(t, nil, "--outputs", outputs, "enable", mfaCode)
	if rc != 0 || !f.enabled(t, id) || out != "key "+id+" enabled\n" {
		t.Fatalf("enable from outputs: rc %d out %q err %q", rc, out, errOut)
	}
	if !strings.Contains(errOut, "note: using MFA device "+mfaSerial+" derived from AdminUserArn") {
		t.Errorf("no note about the derived serial: %q", errOut)
	}
}

func TestErrorsAndNoTerminal(t *testing.T) {
	f := setup(t)
	rc, out, errOut := f.run(t, nil, "--key-id", "11111111-2222-3333-4444-555555555555", "--mfa-serial", mfaSerial, "--mfa-code", mfaCode, "enable")
	note, errLine, _ := strings.Cut(errOut, "\n")
	if !strings.HasPrefix(note, "note: an MFA code on the command line is visible in ps") {
		t.Errorf("no warning about the code on the command line: %q", errOut)
	}
	if rc != 1 || out != "" || !strings.Contains(errLine, "key not found") || strings.Count(errLine, "\n") != 1 {
		t.Errorf("not found: rc %d out %q err %q", rc, out, errOut)
	}
	id, _ := f.newKey(t, "")
	rc, _, errOut = f.run(t, nil, "--key-id", id, "--mfa-serial", mfaSerial, "enable")
	if rc != 1 || !strings.Contains(errOut, "no terminal to ask on: pass --mfa-code") {
		t.Errorf("no tty: rc %d err %q", rc, errOut)
	}
	rc, _, errOut = f.run(t, nil, "--key-id", id, "enable", "12345")
	if rc != 2 || !strings.Contains(errOut, "not a 6-digit MFA code") || strings.Contains(errOut, "12345 ") {
		t.Errorf("bad code: rc %d err %q", rc, errOut)
	}
}

func TestWindow(t *testing.T) {
	f := setup(t)
	id, _ := f.newKey(t, "")
	if _, err := f.kms.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	cmd, stdout, stderr := f.command(nil, "--key-id", id, "--mfa-serial", mfaSerial, "--mfa-code", mfaCode, "window", "--for", "3s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sawEnabled := waitFor(func() bool { return f.enabled(t, id) }, 10*time.Second)
	err := cmd.Wait()
	if err != nil || !sawEnabled || f.enabled(t, id) {
		t.Fatalf("window: err %v, saw enabled %v, enabled after %v\nout %s\nerr %s", err, sawEnabled, f.enabled(t, id), stdout, stderr)
	}
	if !strings.Contains(stdout.String(), "enabled for 3s") || !strings.Contains(stdout.String(), "key "+id+" disabled") || !strings.Contains(stderr.String(), "disabling the key in 3s") {
		t.Errorf("out %q err %q", stdout, stderr)
	}
	assertNoSecrets(t, f, stdout.String()+stderr.String())
}

func TestWindowSIGTERMDisables(t *testing.T) {
	f := setup(t)
	id, _ := f.newKey(t, "")
	f.kms.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(id)})
	cmd, stdout, stderr := f.command(nil, "--key-id", id, "--mfa-serial", mfaSerial, "--mfa-code", mfaCode, "window", "--for", "10m")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return f.enabled(t, id) }, 10*time.Second) {
		cmd.Process.Kill()
		t.Fatalf("key never enabled: %s", stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("window did not stop on SIGTERM")
	}
	if rc := cmd.ProcessState.ExitCode(); rc != 1 || f.enabled(t, id) {
		t.Fatalf("rc %d, enabled %v\nout %s\nerr %s", rc, f.enabled(t, id), stdout, stderr)
	}
	if !strings.Contains(stderr.String(), "window ended early, key disabled again") || !strings.Contains(stdout.String(), "key "+id+" disabled") {
		t.Errorf("out %q err %q", stdout, stderr)
	}
}

// squeeze collapses the status block's column padding, which depends on the
// longest label shown.
func squeeze(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }

func waitFor(cond func() bool, limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// assertNoSecrets checks output against the code and what moto hands out as
// session credentials (asked directly, not hard-coded).
func assertNoSecrets(t *testing.T, f *fixture, output string) {
	t.Helper()
	s, err := sts.NewFromConfig(testmoto.Config(t, f.endpoint)).GetSessionToken(context.Background(), &sts.GetSessionTokenInput{
		SerialNumber: aws.String(mfaSerial), TokenCode: aws.String("000000"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{mfaCode, *s.Credentials.AccessKeyId, *s.Credentials.SecretAccessKey, *s.Credentials.SessionToken, testmoto.SecretAccessKey, testmoto.AccessKeyID} {
		if strings.Contains(output, secret) {
			t.Errorf("output contains a secret %q:\n%s", secret, output)
		}
	}
}

// TestStatusReportsAlertSubscriptions runs the subscription check against moto's SNS. moto confirms every
// email subscription at once and always answers ConfirmationWasAuthenticated=true, so this test proves the
// calls and the healthy line; the unauthenticated and pending answers are covered with a fake in
// internal/managekey (TestStatusWarnsAboutUnsubscribableAlerts).
func TestStatusReportsAlertSubscriptions(t *testing.T) {
	f := setup(t)
	id, _ := f.newKey(t, "")
	client := sns.NewFromConfig(testmoto.Config(t, f.endpoint))
	ctx := context.Background()
	subscribed, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("kmsguard-status-subscribed")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: subscribed.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("dba@example.com")}); err != nil {
		t.Fatal(err)
	}
	empty, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("kmsguard-status-empty")})
	if err != nil {
		t.Fatal(err)
	}
	rc, out, errOut := f.run(t, nil, "status", "--key-id", id, "--topic-arn", *subscribed.TopicArn, "--topic-arn", *empty.TopicArn)
	out = squeeze(out)
	if rc != 0 {
		t.Fatalf("status: rc %d err %q", rc, errOut)
	}
	for _, want := range []string{
		"alerts: kmsguard-status-subscribed: email dba@example.com: confirmed; unsubscribing needs an AWS signature",
		"alerts: WARNING kmsguard-status-empty: no confirmed subscriber",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "WARNING kmsguard-status-subscribed") {
		t.Errorf("a confirmed, authenticated subscription was reported as a problem:\n%s", out)
	}
}
