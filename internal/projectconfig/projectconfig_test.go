package projectconfig

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeProject(t *testing.T, cdkJSON string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cdk.json"), []byte(cdkJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStackNameFollowsCdkJSON(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"app":"go run ./bin","context":{"stackName":"PaymentsDbKey"}}`, "PaymentsDbKey"},
		{`{"app":"go run ./bin","context":{}}`, "KmsGuard"},
		{`{"app":"go run ./bin"}`, "KmsGuard"},
	} {
		got, err := StackName(writeProject(t, tc.json))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.json, got, err, tc.want)
		}
	}
}

func TestStackNameOfTheRepositoryIsWhatCdkJSONSays(t *testing.T) {
	got, err := StackName("../..")
	if err != nil {
		t.Fatal(err)
	}
	if got != "KmsGuard" { // the committed cdk.json sets no stackName
		t.Errorf("repository stack name %q", got)
	}
}

func TestStackNameReportsAnInvalidConfigurationByKey(t *testing.T) {
	_, err := StackName(writeProject(t, `{"context":{"stackName":"bad name!","allowedCidr":[]}}`))
	if err == nil || !strings.Contains(err.Error(), "stackName") || !strings.Contains(err.Error(), "allowedCidr") {
		t.Fatalf("want errors naming stackName and allowedCidr, got %v", err)
	}
	if _, err := StackName(writeProject(t, `{"context":`)); err == nil || !strings.Contains(err.Error(), "cdk.json") {
		t.Fatalf("malformed cdk.json: got %v", err)
	}
}

func TestCdkJSONWinsOverCachedContext(t *testing.T) {
	dir := writeProject(t, `{"context":{"stackName":"FromCdkJson"}}`)
	os.WriteFile(filepath.Join(dir, "cdk.context.json"), []byte(`{"stackName":"FromCache"}`), 0o644)
	if got, err := StackName(dir); err != nil || got != "FromCdkJson" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// isolateAWS points the SDK at an empty home and no instance metadata, so only what the test sets counts.
func isolateAWS(t *testing.T) {
	home := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestHasCredentialsSaysWhichWithoutPrintingThem(t *testing.T) {
	isolateAWS(t)
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"has-credentials"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "no AWS credentials") {
		t.Fatalf("without credentials: exit %d, %q %q", code, out.String(), errb.String())
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "exampleSecretThatMustNotBePrinted")
	out.Reset()
	if code := Main(context.Background(), []string{"has-credentials"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "AWS credentials found") {
		t.Fatalf("with credentials: exit %d, %q %q", code, out.String(), errb.String())
	}
	if s := out.String() + errb.String(); strings.Contains(s, "AKIAEXAMPLE") || strings.Contains(s, "exampleSecret") {
		t.Fatalf("printed a credential: %q", s)
	}
}

func TestCredentialSourceGivesUpWithinTheTimeout(t *testing.T) {
	isolateAWS(t)
	start := time.Now()
	if _, err := CredentialSource(context.Background(), 3*time.Second); err == nil {
		t.Fatal("found credentials in an empty environment")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

// TestCdkArgsSelectTheExampleOnlyWhileTheSafetySettingsAreUnset: make synth, diff and demo add
// "-c example=true" for a fresh clone's cdk.json, and nothing once the operator chose subscribers and
// networks (or recorded accepting the risks), so a real configuration is never mixed with example values.
func TestCdkArgsSelectTheExampleOnlyWhileTheSafetySettingsAreUnset(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"context":{}}`, "-c example=true"},
		{`{"context":{"alertEmails":["dba@example.org"]}}`, "-c example=true"},
		{`{"context":{"alertEmails":["dba@example.org"],"allowedCidrs":["203.0.113.0/24"]}}`, ""},
		{`{"context":{"acceptRisks":["no-alert-subscriber","any-network"]}}`, ""},
	} {
		_, args, err := Resolve(writeProject(t, tc.json))
		if err != nil || strings.Join(args, " ") != tc.want {
			t.Errorf("%s: args %q, %v; want %q", tc.json, args, err, tc.want)
		}
	}
	// The example never hides another mistake: the configuration's own problems come back, all of them.
	_, args, err := Resolve(writeProject(t, `{"context":{"stackName":"bad name!"}}`))
	if err == nil || args != nil || !strings.Contains(err.Error(), "stackName") || !strings.Contains(err.Error(), "alertEmails") {
		t.Errorf("invalid configuration: args %q, err %v", args, err)
	}
	// An explicit example=false is the operator's choice: no fallback.
	if _, _, err := Resolve(writeProject(t, `{"context":{"example":false}}`)); err == nil {
		t.Error("example=false fell back to the example values")
	}
	var out, errOut strings.Builder
	if rc := Main(context.Background(), []string{"--dir", writeProject(t, `{"context":{}}`), "cdk-args"}, &out, &errOut); rc != 0 || out.String() != "-c example=true\n" {
		t.Errorf("kmsguard-make cdk-args: rc %d out %q err %q", rc, out.String(), errOut.String())
	}
}
