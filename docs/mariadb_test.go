package docs

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsguard/kmsguard/internal/motoserver"
	"github.com/kmsguard/kmsguard/internal/testmoto"
)

// mfaBlocks are the shell blocks of docs/mariadb.md that create the users' access keys and MFA devices.
func mfaBlocks(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("mariadb.md")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blocks("mariadb.md", string(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		if b.info == "sh" && strings.Contains(b.text, "aws iam enable-mfa-device") {
			out = append(out, b.text)
		}
	}
	if len(out) != 2 {
		t.Fatalf("docs/mariadb.md has %d MFA device blocks, want 2 (server user, key administrator)", len(out))
	}
	return out
}

// mfaMoto is a moto_server for the MFA-device blocks, with the AWS CLI's environment pointed at it.
type mfaMoto struct {
	srv *motoserver.Server
	env []string
}

func startMFAMoto(t *testing.T) *mfaMoto {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the AWS CLI is not on PATH and CI=true: %v", err)
		}
		t.Skipf("the AWS CLI is not on PATH: %v", err)
	}
	srv, err := motoserver.Start(motoserver.Options{ReadyTimeout: 60 * time.Second})
	if errors.Is(err, exec.ErrNotFound) && os.Getenv("CI") != "true" {
		t.Skipf("moto_server not on PATH: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return &mfaMoto{srv: srv, env: append(testmoto.Env(t, srv.Endpoint()), "AWS_DEFAULT_REGION="+testmoto.Region)}
}

// run runs script with bash -e in dir against a reset moto that has the two IAM users the stack creates,
// then lists both users' MFA devices. The output is returned, not logged: the AWS CLI writes moto's fake
// access keys into files, never a real secret.
func (m *mfaMoto) run(t *testing.T, dir, script string) (string, error) {
	t.Helper()
	resp, err := http.Post(m.srv.Endpoint()+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sh := func(s string) (string, error) {
		cmd := exec.Command("bash", "-e", "-c", s)
		cmd.Dir, cmd.Env = dir, m.env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sh("aws iam create-user --user-name MDBEnc >/dev/null\naws iam create-user --user-name MDBEncAdmin >/dev/null"); err != nil {
		t.Fatalf("creating the users: %v\n%s", err, out)
	}
	out, err := sh(script)
	if err == nil {
		var check string
		check, err = sh("aws iam list-mfa-devices --user-name MDBEnc --output text\naws iam list-mfa-devices --user-name MDBEncAdmin --output text")
		out += check
	}
	return out, err
}

// TestMFADeviceCommandsRunAgainstMoto: the access-key and MFA-device commands of docs/mariadb.md, pasted
// as they are, run with the real AWS CLI against moto: each user ends with an access key in the file the
// guide names, a QR code file, and the MFA device the guide's serial number names. The control: the same
// blocks with one flag misspelled fail, so the AWS CLI really checks what the guide says to paste.
func TestMFADeviceCommandsRunAgainstMoto(t *testing.T) {
	m := startMFAMoto(t)
	script := strings.Join(mfaBlocks(t), "\n")
	dir := t.TempDir()
	out, err := m.run(t, dir, script)
	if err != nil {
		t.Fatalf("the documented commands failed against moto: %v\n%s", err, out)
	}
	for _, user := range []string{"MDBEnc", "MDBEncAdmin"} {
		if !strings.Contains(out, "arn:aws:iam::111122223333:mfa/"+user) {
			t.Errorf("no MFA device %s after the documented commands:\n%s", user, out)
		}
		key, err := os.ReadFile(filepath.Join(dir, strings.ToLower(user)+"-key.json"))
		if err != nil || !strings.Contains(string(key), `"AccessKeyId"`) {
			t.Errorf("%s-key.json: %v (no access key in it)", strings.ToLower(user), err)
		}
		if st, err := os.Stat(filepath.Join(dir, user+"-qr.png")); err != nil || st.Size() == 0 {
			t.Errorf("%s-qr.png: %v (no QR code written)", user, err)
		}
	}

	broken := strings.Replace(script, "enable-mfa-device --user-name", "enable-mfa-device --username", 1)
	if broken == script {
		t.Fatal("control: no enable-mfa-device --user-name to misspell")
	}
	if out, err := m.run(t, t.TempDir(), broken); err == nil || !strings.Contains(out, "--user-name") {
		t.Errorf("control: a misspelled --user-name: err %v, output:\n%s", err, out)
	}
}
