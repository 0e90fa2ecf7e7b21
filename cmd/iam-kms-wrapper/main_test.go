package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/kmsguard/kmsguard/internal/testmoto"
	"golang.org/x/sys/unix"
)

// The test binary plays three parts: the test runner, the wrapper itself
// (KMSGUARD_TEST_MAIN=1 runs main, which really execs), and the wrapped
// command (__printenv__ FILE writes the AWS variables it received to FILE).
// The argument check comes first because the exec'd helper inherits the env.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "__printenv__" {
		printEnv(os.Args[2])
		return
	}
	if os.Getenv("KMSGUARD_TEST_MAIN") == "1" {
		main()
		return
	}
	testmoto.Main(m)
}

func printEnv(path string) {
	got := map[string]string{"__args": strings.Join(os.Args[1:], " ")}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			got[k] = v
		}
	}
	b, _ := json.Marshal(got)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		os.Exit(3)
	}
}

const (
	code          = "246810"
	staleToken    = "staleInheritedSessionToken"
	staleProfile  = "stale-profile"
	helperMarker  = "__printenv__"
	sessionLength = 3600
)

type run struct {
	cmd    *exec.Cmd
	out    bytes.Buffer // stdout and stderr of the wrapper (the helper prints nothing)
	socket string
	envOut string
}

// startWrapper runs the wrapper subprocess with a config in a private
// directory; extra lines go into [kms].
func startWrapper(t *testing.T, env []string, extra string, command ...string) *run {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	r := &run{socket: filepath.Join(dir, "kms-mfa", "socket"), envOut: filepath.Join(dir, "env.json")}
	os.Mkdir(filepath.Dir(r.socket), 0o700)
	cfg := filepath.Join(dir, "iam-kms-wrapper.config")
	body := "[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\nkms_mfa_socket = " + r.socket + "\nsession_duration = 3600\n" + extra
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if len(command) == 0 {
		command = []string{os.Args[0], helperMarker, r.envOut}
	}
	r.cmd = exec.Command(os.Args[0], append([]string{"--config=" + cfg}, command...)...)
	r.cmd.Env = append(env, "KMSGUARD_TEST_MAIN=1")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	return r
}

func (r *run) waitFIFO(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, err := os.Lstat(r.socket); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
			return
		}
	}
	t.Fatalf("FIFO %s never appeared; output:\n%s", r.socket, r.out.String())
}

func (r *run) send(t *testing.T, s string) {
	t.Helper()
	r.waitFIFO(t)
	w, err := os.OpenFile(r.socket, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString(s)
	w.Close()
}

func (r *run) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		r.cmd.Process.Kill()
		t.Fatalf("wrapper did not exit; output:\n%s", r.out.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

func assertGone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after the wrapper exited", p)
	}
}

func motoEnv(t *testing.T) ([]string, string) {
	endpoint := testmoto.Endpoint(t)
	return append(testmoto.Env(t, endpoint), "AWS_PROFILE="+staleProfile, "AWS_SESSION_TOKEN="+staleToken), endpoint
}

func TestWrapperExecsCommandWithSessionCredentials(t *testing.T) {
	env, endpoint := motoEnv(t)
	r := startWrapper(t, env, "")
	r.send(t, "12345\n") // malformed: one failed try, not sent to STS
	r.send(t, code+"\n")
	if rc := r.wait(t); rc != 0 {
		t.Fatalf("exit %d; output:\n%s", rc, r.out.String())
	}
	raw, err := os.ReadFile(r.envOut)
	if err != nil {
		t.Fatalf("helper did not run: %v; output:\n%s", err, r.out.String())
	}
	var got map[string]string
	json.Unmarshal(raw, &got)

	// What moto hands out for GetSessionToken, asked directly.
	want, err := sts.NewFromConfig(testmoto.Config(t, endpoint)).GetSessionToken(context.Background(), &sts.GetSessionTokenInput{
		DurationSeconds: aws.Int32(sessionLength), SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/MDBEnc"), TokenCode: aws.String("135790"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := want.Credentials
	if got["AWS_ACCESS_KEY_ID"] != *c.AccessKeyId || got["AWS_SECRET_ACCESS_KEY"] != *c.SecretAccessKey || got["AWS_SESSION_TOKEN"] != *c.SessionToken {
		t.Errorf("child credentials differ from the STS session: %v", got)
	}
	if got["AWS_ACCESS_KEY_ID"] == testmoto.AccessKeyID || got["AWS_SESSION_TOKEN"] == staleToken {
		t.Error("child received long-term or stale credentials")
	}
	if _, ok := got["AWS_PROFILE"]; ok {
		t.Error("AWS_PROFILE was passed to the child")
	}
	exp, err := time.Parse(time.RFC3339, got["AWS_CREDENTIAL_EXPIRATION"])
	if err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 70*time.Minute {
		t.Errorf("AWS_CREDENTIAL_EXPIRATION = %q, want about 1h ahead (%v)", got["AWS_CREDENTIAL_EXPIRATION"], err)
	}
	if got["__args"] != helperMarker+" "+r.envOut {
		t.Errorf("child args = %q", got["__args"])
	}
	assertGone(t, r.socket)
	out := r.out.String()
	if !strings.Contains(out, "try 1 of 3 rejected") || !strings.Contains(out, "starting "+os.Args[0]) {
		t.Errorf("output does not tell the story:\n%s", out)
	}
	for _, secret := range []string{code, "12345", testmoto.AccessKeyID, testmoto.SecretAccessKey, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken, staleToken} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains secret %q:\n%s", secret, out)
		}
	}
}

func TestWrapperExecFailureIsReported(t *testing.T) {
	env, _ := motoEnv(t)
	bad := filepath.Join(t.TempDir(), "not-a-program")
	os.WriteFile(bad, []byte("\x00\x01\x02 not an executable format"), 0o755)
	r := startWrapper(t, env, "", bad)
	r.send(t, code+"\n")
	if rc := r.wait(t); rc != 126 {
		t.Fatalf("exit %d, want 126; output:\n%s", rc, r.out.String())
	}
	if !strings.Contains(r.out.String(), "exec "+bad+": exec format error") {
		t.Errorf("output:\n%s", r.out.String())
	}
	assertGone(t, r.socket)
}

func TestWrapperChecksCommandFirst(t *testing.T) {
	r := startWrapper(t, []string{"PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=y", "AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/nonexistent"}, "", "/nonexistent/mysqld")
	if rc := r.wait(t); rc != 127 {
		t.Fatalf("exit %d, want 127; output:\n%s", rc, r.out.String())
	}
	if !strings.Contains(r.out.String(), `command "/nonexistent/mysqld" cannot be run`) || strings.Contains(r.out.String(), "waiting for MFA code") {
		t.Errorf("output:\n%s", r.out.String())
	}
	assertGone(t, r.socket)
}

func offlineEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=AKIAOFFLINE", "AWS_SECRET_ACCESS_KEY=offlineSecret", "AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/nonexistent", "AWS_ENDPOINT_URL=http://127.0.0.1:9"}
}

func TestWrapperSignalRemovesFIFO(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			r := startWrapper(t, offlineEnv(), "", "/bin/true")
			r.waitFIFO(t)
			r.cmd.Process.Signal(sig)
			if rc := r.wait(t); rc != 1 {
				t.Fatalf("exit %d, want 1; output:\n%s", rc, r.out.String())
			}
			if !strings.Contains(r.out.String(), "stopped by signal") {
				t.Errorf("output:\n%s", r.out.String())
			}
			assertGone(t, r.socket)
		})
	}
}

func TestWrapperTimeoutRemovesFIFO(t *testing.T) {
	r := startWrapper(t, offlineEnv(), "wait_timeout = 1\n", "/bin/true")
	if rc := r.wait(t); rc != 1 {
		t.Fatalf("exit %d; output:\n%s", rc, r.out.String())
	}
	if !strings.Contains(r.out.String(), "timed out after 1s waiting for an MFA code on "+r.socket) {
		t.Errorf("output:\n%s", r.out.String())
	}
	assertGone(t, r.socket)
}

func TestWrapperRefusesPrecreatedPaths(t *testing.T) {
	for name, setup := range map[string]func(p string) error{
		"fifo":    func(p string) error { return unix.Mkfifo(p, 0o666) },
		"symlink": func(p string) error { return os.Symlink("/etc/passwd", p) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.Chmod(dir, 0o700)
			sock := filepath.Join(dir, "socket")
			if err := setup(sock); err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(dir, "w.config")
			os.WriteFile(cfg, []byte("[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\nkms_mfa_socket = "+sock+"\n"), 0o644)
			cmd := exec.Command(os.Args[0], "--config="+cfg, "/bin/true")
			cmd.Env = append(offlineEnv(), "KMSGUARD_TEST_MAIN=1")
			out, _ := cmd.CombinedOutput()
			if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "already exists") {
				t.Fatalf("exit %d; output:\n%s", cmd.ProcessState.ExitCode(), out)
			}
			if _, err := os.Lstat(sock); err != nil {
				t.Errorf("pre-existing %s was removed", name)
			}
		})
	}
}

func TestWrapperRefusesWorldWritableDir(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	cfg := filepath.Join(dir, "w.config")
	os.WriteFile(cfg, []byte("[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\nkms_mfa_socket = "+open+"/socket\n"), 0o644)
	cmd := exec.Command(os.Args[0], "--config="+cfg, "/bin/true")
	cmd.Env = append(offlineEnv(), "KMSGUARD_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "without the sticky bit") {
		t.Fatalf("exit %d; output:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	assertGone(t, open+"/socket")
}

func TestWrapperBadConfigAndDropin(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "w.config")
	os.WriteFile(cfg, []byte("[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\nsession_duration = 60\nkms_mfa_sockt = /run/x\n"), 0o644)
	cmd := exec.Command(os.Args[0], "--config="+cfg, "/bin/true")
	cmd.Env = append(offlineEnv(), "KMSGUARD_TEST_MAIN=1")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "kms_mfa_sockt: unknown key") || !strings.Contains(string(out), "session_duration: 60 is out of range") {
		t.Fatalf("exit %d; output:\n%s", cmd.ProcessState.ExitCode(), out)
	}

	os.WriteFile(cfg, []byte("[kms]\nkms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\nsocket_group = kmsmfa\n"), 0o644)
	cmd = exec.Command(os.Args[0], "--config="+cfg, "--print-systemd-dropin")
	cmd.Env = append(offlineEnv(), "KMSGUARD_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	self, _ := os.Executable()
	for _, want := range []string{"ExecStart=" + self + " --config=" + cfg + " /usr/sbin/mariadbd $MYSQLD_OPTS $_WSREP_NEW_CLUSTER $_WSREP_START_POSITION", "RuntimeDirectory=kms-mfa", "SupplementaryGroups=kmsmfa", "install -m 0600 -o root -g root /dev/null"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("drop-in lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "AKIAOFFLINE") || strings.Contains(stdout.String(), "offlineSecret") {
		t.Error("drop-in contains the keys from the environment")
	}
}
