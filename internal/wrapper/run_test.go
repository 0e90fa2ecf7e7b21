package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/kmsguard/kmsguard/internal/awsclient"
)

const (
	sessKey    = "ASIASESSIONKEY000001"
	sessSecret = "sessionSecretNeverPrint"
	sessToken  = "sessionTokenNeverPrint"
)

// fakeSTS accepts only the code good and records every request.
type fakeSTS struct {
	mu    sync.Mutex
	good  string
	codes []string
	durs  []int32
	err   error // returned for every call when set
}

func (f *fakeSTS) GetSessionToken(_ context.Context, in *sts.GetSessionTokenInput, _ ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes = append(f.codes, *in.TokenCode)
	f.durs = append(f.durs, *in.DurationSeconds)
	if f.err != nil {
		return nil, f.err
	}
	if *in.TokenCode != f.good {
		return nil, fmt.Errorf("op: %w", &smithy.GenericAPIError{Code: "AccessDenied", Message: "MultiFactorAuthentication failed with invalid MFA one time pass code."})
	}
	exp := time.Now().Add(time.Duration(*in.DurationSeconds) * time.Second)
	return &sts.GetSessionTokenOutput{Credentials: &ststypes.Credentials{
		AccessKeyId: aws.String(sessKey), SecretAccessKey: aws.String(sessSecret), SessionToken: aws.String(sessToken), Expiration: &exp,
	}}, nil
}

type fakeExec struct {
	called     bool
	path       string
	argv, env  []string
	err        error
	socketSeen bool // whether the FIFO still existed at exec time
	socket     string
}

func (f *fakeExec) Exec(path string, argv, env []string) error {
	f.called, f.path, f.argv, f.env = true, path, argv, env
	_, err := os.Lstat(f.socket)
	f.socketSeen = err == nil
	return f.err
}

type harness struct {
	cfg  Config
	sts  *fakeSTS
	exec *fakeExec
	logs *bytes.Buffer
	deps Deps
}

func newHarness(t *testing.T) *harness {
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	h := &harness{
		cfg: Config{MFASerial: "arn:aws:iam::123456789012:mfa/MDBEnc", Socket: filepath.Join(dir, "socket"),
			SessionDuration: 2 * time.Hour, WaitTimeout: 5 * time.Second, MaxTries: 3},
		sts:  &fakeSTS{good: "654321"},
		logs: &bytes.Buffer{},
	}
	h.exec = &fakeExec{socket: h.cfg.Socket}
	h.deps = Deps{
		STS:         h.sts,
		Exec:        h.exec,
		LookPath:    func(f string) (string, error) { return "/usr/sbin/" + filepath.Base(f), nil },
		LookupGroup: func(string) (int, error) { return os.Getgid(), nil },
		Environ:     []string{"PATH=/usr/bin", "AWS_PROFILE=old", "AWS_SESSION_TOKEN=stale", "AWS_ACCESS_KEY_ID=AKIALONGTERM", "AWS_SECRET_ACCESS_KEY=longSecret", "AWS_REGION=us-east-1"},
		Log:         log.New(h.logs, "", 0),
	}
	return h
}

// feed writes each input as its own writer once the FIFO exists.
func feed(t *testing.T, path string, inputs ...string) {
	go func() {
		for _, in := range inputs {
			deadline := time.Now().Add(5 * time.Second)
			for {
				if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("FIFO %s never appeared", path)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Errorf("open FIFO: %v", err)
				return
			}
			w.WriteString(in)
			w.Close()
			time.Sleep(50 * time.Millisecond) // let the reader reopen
		}
	}()
}

func TestRunRetriesThenExecsWithSessionOnly(t *testing.T) {
	h := newHarness(t)
	feed(t, h.cfg.Socket, "12ab56\n", "111111\n", "654321\n")
	err := Run(context.Background(), h.cfg, []string{"mysqld", "--user=mysql"}, h.deps)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitExecFailed || !strings.Contains(err.Error(), "returned without error") {
		t.Fatalf("err = %v", err)
	}
	if !h.exec.called || h.exec.path != "/usr/sbin/mysqld" || !slices.Equal(h.exec.argv, []string{"mysqld", "--user=mysql"}) {
		t.Fatalf("exec = %+v", h.exec)
	}
	if h.exec.socketSeen {
		t.Error("FIFO still existed at exec time")
	}
	if !slices.Equal(h.sts.codes, []string{"111111", "654321"}) {
		t.Errorf("STS saw codes %v; the malformed one must not be sent", h.sts.codes)
	}
	if h.sts.durs[1] != 7200 {
		t.Errorf("duration %d, want 7200", h.sts.durs[1])
	}
	env := envMap(h.exec.env)
	for k, want := range map[string]string{"AWS_ACCESS_KEY_ID": sessKey, "AWS_SECRET_ACCESS_KEY": sessSecret, "AWS_SESSION_TOKEN": sessToken, "PATH": "/usr/bin", "AWS_REGION": "us-east-1"} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if _, ok := env["AWS_PROFILE"]; ok {
		t.Error("AWS_PROFILE passed on")
	}
	exp, err := time.Parse(time.RFC3339, env["AWS_CREDENTIAL_EXPIRATION"])
	if err != nil || time.Until(exp) < 119*time.Minute || time.Until(exp) > 121*time.Minute {
		t.Errorf("AWS_CREDENTIAL_EXPIRATION = %q (%v)", env["AWS_CREDENTIAL_EXPIRATION"], err)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "try 1 of 3 rejected: input is not a 6-digit MFA code") || !strings.Contains(logs, "try 2 of 3: the MFA code was rejected") {
		t.Errorf("logs do not explain both failures:\n%s", logs)
	}
	for _, secret := range []string{"12ab56", "111111", "654321", sessKey, sessSecret, sessToken, "AKIALONGTERM", "longSecret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains secret %q:\n%s", secret, logs)
		}
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; dup {
			m[k] = "DUPLICATE"
			continue
		}
		m[k] = v
	}
	return m
}

func TestRunGivesUpAfterMaxTries(t *testing.T) {
	h := newHarness(t)
	h.cfg.MaxTries = 2
	feed(t, h.cfg.Socket, "000000\n", "999999\n")
	err := Run(context.Background(), h.cfg, []string{"mysqld"}, h.deps)
	if err == nil || !strings.Contains(err.Error(), "no accepted MFA code after 2 tries") {
		t.Fatalf("err = %v", err)
	}
	if h.exec.called {
		t.Error("exec called")
	}
	assertNoPath(t, h.cfg.Socket)
}

func TestRunStopsOnNonMFAError(t *testing.T) {
	h := newHarness(t)
	h.sts.err = fmt.Errorf("op: %w", &smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."})
	feed(t, h.cfg.Socket, "654321\n")
	err := Run(context.Background(), h.cfg, []string{"mysqld"}, h.deps)
	if err == nil || !strings.Contains(err.Error(), "long-term access key") {
		t.Fatalf("err = %v", err)
	}
	if len(h.sts.codes) != 1 || h.exec.called {
		t.Errorf("codes %v exec %v", h.sts.codes, h.exec.called)
	}
	assertNoPath(t, h.cfg.Socket)
}

func TestRunTimeout(t *testing.T) {
	h := newHarness(t)
	h.cfg.WaitTimeout = 300 * time.Millisecond
	err := Run(context.Background(), h.cfg, []string{"mysqld"}, h.deps)
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms waiting for an MFA code on "+h.cfg.Socket) {
		t.Fatalf("err = %v", err)
	}
	assertNoPath(t, h.cfg.Socket)
}

func TestRunCancelled(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(200*time.Millisecond, func() { cancel(errors.New("got signal terminated")) })
	err := Run(ctx, h.cfg, []string{"mysqld"}, h.deps)
	if err == nil || !strings.Contains(err.Error(), "stopped by signal") || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("err = %v", err)
	}
	assertNoPath(t, h.cfg.Socket)
}

func TestRunChecksCommandBeforeReadingCode(t *testing.T) {
	h := newHarness(t)
	h.deps.LookPath = func(string) (string, error) { return "", os.ErrNotExist }
	err := Run(context.Background(), h.cfg, []string{"/usr/sbin/nope"}, h.deps)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitNoCommand {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(h.cfg.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Error("FIFO was created although the command is missing")
	}
	if err := Run(context.Background(), h.cfg, nil, h.deps); !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("no command: err = %v", err)
	}
}

func TestRunExecFailure(t *testing.T) {
	h := newHarness(t)
	h.exec.err = os.ErrPermission
	feed(t, h.cfg.Socket, "654321\n")
	err := Run(context.Background(), h.cfg, []string{"mysqld"}, h.deps)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitExecFailed || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunSocketGroup(t *testing.T) {
	h := newHarness(t)
	h.cfg.SocketGroup = "kmsmfa"
	gid := os.Getgid()
	h.deps.LookupGroup = func(name string) (int, error) {
		if name != "kmsmfa" {
			return 0, errors.New("unknown group")
		}
		return gid, nil
	}
	h.cfg.WaitTimeout = 3 * time.Second
	// Send the code only once the socket has mode 0620 (mkfifo makes it 0600;
	// fchmod follows), so the check cannot miss the FIFO's short life.
	saw := make(chan bool, 1)
	go func() {
		for i := 0; i < 200; i++ {
			if st, err := os.Lstat(h.cfg.Socket); err == nil && st.Mode().Perm() == 0o620 {
				saw <- true
				feed(t, h.cfg.Socket, "654321\n")
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		saw <- false
	}()
	err := Run(context.Background(), h.cfg, []string{"mysqld"}, h.deps)
	if !<-saw {
		t.Fatal("socket never had mode 0620")
	}
	if !h.exec.called {
		t.Fatalf("exec not called: %v", err)
	}
	h.cfg.SocketGroup = "nosuch"
	if err := Run(context.Background(), h.cfg, []string{"mysqld"}, h.deps); err == nil || !strings.Contains(err.Error(), `socket_group "nosuch"`) {
		t.Errorf("err = %v", err)
	}
}

func assertNoPath(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists", p)
	}
}

func TestBuildEnvRemovesConflicts(t *testing.T) {
	s := awsclient.Session{AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T", Expiration: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	env := BuildEnv([]string{"HOME=/", "AWS_PROFILE=p", "AWS_ROLE_ARN=r", "AWS_SESSION_TOKEN=x", "AWS_SESSION_TOKEN=y", "AWS_REGION=us-west-2", "AWS_ENDPOINT_URL=http://e"}, s, "eu-west-1")
	m := envMap(env)
	want := map[string]string{"HOME": "/", "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T",
		"AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://e"}
	if len(m) != len(want) {
		t.Errorf("env = %v", env)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}

func TestPrintDropin(t *testing.T) {
	var b bytes.Buffer
	cfg := Config{MFASerial: "arn:aws:iam::1:mfa/x", Socket: "/run/kms-mfa/socket", WaitTimeout: 5 * time.Minute, SocketGroup: "kmsmfa"}
	err := PrintDropin(&b, DropinParams{Wrapper: "/usr/local/bin/iam-kms-wrapper", ConfigPath: "/etc/my.cnf.d/iam-kms-wrapper.config", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"EnvironmentFile=/etc/systemd/system/mariadb.service.d/aws-kms.env",
		"ExecStart=\nExecStart=/usr/local/bin/iam-kms-wrapper --config=/etc/my.cnf.d/iam-kms-wrapper.config /usr/sbin/mariadbd $MYSQLD_OPTS $_WSREP_NEW_CLUSTER $_WSREP_START_POSITION\n",
		"RuntimeDirectory=kms-mfa\n", "SupplementaryGroups=kmsmfa\n", "TimeoutStartSec=1200\n",
		"[ -e /etc/systemd/system/mariadb.service.d/aws-kms.env ] || install -m 0600 -o root -g root /dev/null /etc/systemd/system/mariadb.service.d/aws-kms.env",
		"chmod 0600 /etc/systemd/system/mariadb.service.d/aws-kms.env",
		"chown root:root /etc/my.cnf.d/iam-kms-wrapper.config", "echo 123456 > /run/kms-mfa/socket", "systemctl daemon-reload",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drop-in lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	cfg.Socket, cfg.SocketGroup = "/var/lib/kms/socket", ""
	PrintDropin(&b, DropinParams{Wrapper: "/w", ConfigPath: "/c", Command: []string{"/usr/sbin/mariadbd", "$MYSQLD_OPTS", "$_WSREP_NEW_CLUSTER"}, Config: cfg})
	if out := b.String(); strings.Contains(out, "RuntimeDirectory") || strings.Contains(out, "SupplementaryGroups") || !strings.Contains(out, "/w --config=/c /usr/sbin/mariadbd $MYSQLD_OPTS $_WSREP_NEW_CLUSTER\n") || !strings.Contains(out, "/var/lib/kms is not directly under /run") {
		t.Errorf("non-/run drop-in:\n%s", out)
	}
	if err := PrintDropin(&b, DropinParams{Wrapper: "/w", ConfigPath: "/c d", Config: cfg}); err == nil {
		t.Error("path with a space accepted")
	}
}

// TestDropinKeepsGaleraVariablesAndNeverTouchesTmp: the drop-in's ExecStart is MariaDB's own (with the
// Galera variables galera_new_cluster relies on), and a socket in /tmp never leads to advice that changes
// /tmp's owner or mode.
func TestDropinKeepsGaleraVariablesAndNeverTouchesTmp(t *testing.T) {
	cfg := Config{MFASerial: "arn:aws:iam::123456789012:mfa/MDBEnc", Socket: "/tmp/kms_mfa_socket", WaitTimeout: 5 * time.Minute}
	var b bytes.Buffer
	if err := PrintDropin(&b, DropinParams{Wrapper: "/usr/local/bin/iam-kms-wrapper", ConfigPath: DefaultConfigPath, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, " /usr/sbin/mariadbd $MYSQLD_OPTS $_WSREP_NEW_CLUSTER $_WSREP_START_POSITION\n") {
		t.Errorf("ExecStart is not MariaDB's (Galera variables dropped):\n%s", out)
	}
	for _, bad := range []string{"mode 0750", "owned by the service user", "chown mysql", "chmod 07"} {
		if strings.Contains(out, bad) {
			t.Errorf("advice for /tmp contains %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "leave /tmp\n# exactly as it is") || !strings.Contains(out, "prefer kms_mfa_socket = /run/kms-mfa/socket") {
		t.Errorf("no advice to leave /tmp alone and use /run/kms-mfa:\n%s", out)
	}
	// Control: a private directory outside /run still gets the ownership advice.
	b.Reset()
	cfg.Socket = "/var/lib/kms/socket"
	PrintDropin(&b, DropinParams{Wrapper: "/w", ConfigPath: "/c", Config: cfg})
	if !strings.Contains(b.String(), "owned by the service user") {
		t.Errorf("private directory lost its advice:\n%s", b.String())
	}
}
