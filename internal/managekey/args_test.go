package managekey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func writeOutputs(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "out.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const outputsJSON = `{"KmsGuard": {"KeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
 "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "KeyAlias": "alias/mariadb-encryption",
 "AdminUserArn": "arn:aws:iam::123456789012:user/MDBEncAdmin", "AlertTopicArn": "x", "TrailArn": "y", "TrailBucketName": "z"}}`

func TestParseArgsFlagsAnywhere(t *testing.T) {
	o, err := ParseArgs([]string{"--key-id", "k1", "window", "--for", "90s", "--mfa-serial=arn:aws:iam::111122223333:mfa/a", "--mfa-code", "123456", "--profile", "admin", "--region", "us-west-2"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.Command != "window" || o.KeyID != "k1" || o.For != 90*time.Second || o.MFACode != "123456" || o.Profile != "admin" || o.Region != "us-west-2" || o.MFASerial != "arn:aws:iam::111122223333:mfa/a" {
		t.Errorf("options = %+v", o)
	}
}

func TestParseArgsLegacyForm(t *testing.T) {
	env := map[string]string{"KMSGUARD_KEY_ID": "arn:aws:kms:us-east-1:551888181234:key/abc", "KMSGUARD_MFA_SERIAL": "arn:aws:iam::551888181234:mfa/MDBEncAdmin"}
	o, err := ParseArgs([]string{"d", "575290"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if o.Command != "disable" || o.MFACode != "575290" || o.KeyID != env["KMSGUARD_KEY_ID"] || o.Region != "us-east-1" || o.MFASerial != env["KMSGUARD_MFA_SERIAL"] {
		t.Errorf("options = %+v", o)
	}
}

func TestParseArgsOutputsFile(t *testing.T) {
	p := writeOutputs(t, outputsJSON)
	o, err := ParseArgs([]string{"--outputs", p, "enable"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.KeyID != "1234abcd-12ab-34cd-56ef-1234567890ab" || o.Region != "eu-west-1" || o.MFASerial != "arn:aws:iam::123456789012:mfa/MDBEncAdmin" {
		t.Errorf("options = %+v", o)
	}
	if len(o.Notes) != 1 || !strings.Contains(o.Notes[0], "derived from AdminUserArn") {
		t.Errorf("notes = %v", o.Notes)
	}
	o, err = ParseArgs([]string{"--outputs", p, "--mfa-serial", "arn:aws:iam::123456789012:mfa/phone", "--key-id", "other-key-id", "--stack", "KmsGuard", "enable"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if o.KeyID != "other-key-id" || o.MFASerial != "arn:aws:iam::123456789012:mfa/phone" || len(o.Notes) != 0 {
		t.Errorf("explicit flags must win: %+v", o)
	}
}

func TestParseArgsErrors(t *testing.T) {
	two := writeOutputs(t, `{"A": {"KeyId": "a"}, "B": {"KeyId": "b"}}`)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no command":        {[]string{"--key-id", "k"}, "no command"},
		"unknown command":   {[]string{"--key-id", "k", "rotate"}, `unknown command "rotate"`},
		"no key":            {[]string{"enable"}, "no key"},
		"bad code":          {[]string{"--key-id", "k", "enable", "12345"}, "not a 6-digit"},
		"code for status":   {[]string{"--key-id", "k", "status", "123456"}, "unexpected arguments"},
		"two codes":         {[]string{"--key-id", "k", "--mfa-code", "123456", "enable", "654321"}, "unexpected arguments"},
		"window too long":   {[]string{"--key-id", "k", "window", "--for", "2h"}, "outside"},
		"region mismatch":   {[]string{"--key-id", "arn:aws:kms:eu-west-1:111122223333:key/x", "--region", "us-east-1", "enable"}, "differs"},
		"several stacks":    {[]string{"--outputs", two, "status"}, "choose one with --stack"},
		"unknown stack":     {[]string{"--outputs", two, "--stack", "C", "status"}, `no stack "C" (it has: A, B)`},
		"stack no outputs":  {[]string{"--key-id", "k", "--stack", "A", "status"}, "--stack needs --outputs"},
		"unknown flag":      {[]string{"--key", "k", "status"}, "flag provided but not defined"},
		"alias to enable":   {[]string{"--key-id", "alias/mariadb-encryption", "enable"}, "EnableKey and DisableKey do not accept an alias"},
		"alias ARN window":  {[]string{"--key-id", "arn:aws:kms:eu-west-1:111122223333:alias/x", "window"}, "do not accept an alias"},
		"user as serial":    {[]string{"--key-id", "k", "--mfa-serial", "arn:aws:iam::111122223333:user/MDBEncAdmin", "disable"}, "--mfa-serial: \"arn:aws:iam::111122223333:user/MDBEncAdmin\" is a user's ARN"},
		"account as serial": {[]string{"--key-id", "k", "--mfa-serial", "111122223333", "enable"}, "is an account id, not an MFA device"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseArgs(tc.args, noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ParseArgs([]string{"--outputs", "/nonexistent.json", "status"}, noEnv); err == nil || errors.Is(err, ErrUsage) {
		t.Errorf("missing outputs file: err = %v (want a non-usage error)", err)
	}
}

func TestDeriveMFASerial(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:user/MDBEncAdmin":        "arn:aws:iam::123456789012:mfa/MDBEncAdmin",
		"arn:aws-cn:iam::123456789012:user/ops/MDBEncAdmin": "arn:aws-cn:iam::123456789012:mfa/MDBEncAdmin",
		"arn:aws:iam::123456789012:role/R":                  "",
		"MDBEncAdmin":                                       "",
		"arn:aws:iam::123456789012:user/":                   "",
	} {
		if got := DeriveMFASerial(in); got != want {
			t.Errorf("DeriveMFASerial(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAliasStillWorksForStatus: DescribeKey accepts an alias, so status keeps taking one.
func TestAliasStillWorksForStatus(t *testing.T) {
	if _, err := ParseArgs([]string{"--key-id", "alias/mariadb-encryption", "status"}, noEnv); err != nil {
		t.Fatal(err)
	}
}
