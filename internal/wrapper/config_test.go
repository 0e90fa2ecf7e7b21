package wrapper

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsguard/kmsguard/internal/awsclient"
	"github.com/kmsguard/kmsguard/internal/check"
)

func TestParseConfigGuideFile(t *testing.T) {
	cfg, err := ParseConfig([]byte("[kms]\nkms_mfa_id = arn:aws:iam::551888187628:mfa/MDBEnc\nkms_mfa_socket = /tmp/kms_mfa_socket\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{MFASerial: "arn:aws:iam::551888187628:mfa/MDBEnc", Socket: "/tmp/kms_mfa_socket",
		SessionDuration: 43200 * time.Second, WaitTimeout: DefaultWaitTimeout, MaxTries: DefaultMaxTries}
	if cfg != want {
		t.Errorf("cfg = %+v\nwant %+v", cfg, want)
	}
}

func TestParseConfigAllKeys(t *testing.T) {
	cfg, err := ParseConfig([]byte(`[kms]
kms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc
kms_mfa_socket = /run/kms-mfa/socket
session_duration = 2h
wait_timeout = 90
region = eu-central-1
socket_group = kmsmfa
max_tries = 5
[client]
user = ignored
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{MFASerial: "arn:aws:iam::123456789012:mfa/MDBEnc", Socket: "/run/kms-mfa/socket",
		SessionDuration: 2 * time.Hour, WaitTimeout: 90 * time.Second, Region: "eu-central-1", SocketGroup: "kmsmfa", MaxTries: 5}
	if cfg != want {
		t.Errorf("cfg = %+v\nwant %+v", cfg, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	const id = "kms_mfa_id = arn:aws:iam::123456789012:mfa/MDBEnc\n"
	for name, tc := range map[string]struct{ in, want string }{
		"unknown key":        {"[kms]\n" + id + "kms_mfa_sokcet = /run/x\n", `kms_mfa_sokcet: unknown key`},
		"missing id":         {"[kms]\nkms_mfa_socket = /run/x/s\n", "kms_mfa_id (the MFA device ARN) is required"},
		"no section":         {"[other]\na=1\n", "missing [kms] section"},
		"outside section":    {"stray = 1\n[kms]\n" + id, `key "stray" is outside`},
		"duration too short": {"[kms]\n" + id + "session_duration = 899\n", "session_duration: 899 is out of range 900–129600"},
		"duration too long":  {"[kms]\n" + id + "session_duration = 36h1s\n", "out of range"},
		"duration garbage":   {"[kms]\n" + id + "session_duration = soon\n", "must be seconds or a duration"},
		"fractional seconds": {"[kms]\n" + id + "wait_timeout = 1500ms\n", "whole seconds"},
		"relative socket":    {"[kms]\n" + id + "kms_mfa_socket = run/socket\n", "clean absolute path"},
		"socket with space":  {"[kms]\n" + id + "kms_mfa_socket = /run/a b\n", "clean absolute path"},
		"bad region":         {"[kms]\n" + id + "region = Mars\n", "not an AWS region"},
		"bad tries":          {"[kms]\n" + id + "max_tries = 0\n", "from 1 to 10"},
		"bad group":          {"[kms]\n" + id + "socket_group = a b\n", "not a group"},
		"bad id":             {"[kms]\nkms_mfa_id = x y\n", "not an MFA device ARN"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseConfigReportsAllProblems(t *testing.T) {
	_, err := ParseConfig([]byte("[kms]\nregion = x\nmax_tries = 99\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"region", "max_tries", "kms_mfa_id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.config")
	os.WriteFile(p, []byte("[kms]\n"), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("err = %v", err)
	}
	if _, err := LoadConfig(p + ".missing"); err == nil {
		t.Error("no error for a missing file")
	}
}

// FuzzParseConfig checks that any input either fails or yields a config that
// satisfies every documented bound, so no odd spelling slips past validation.
func FuzzParseConfig(f *testing.F) {
	f.Add("[kms]\nkms_mfa_id = arn:aws:iam::551888187628:mfa/MDBEnc\nkms_mfa_socket = /tmp/kms_mfa_socket\n")
	f.Add("[kms]\nkms_mfa_id=GAHT12345678\nsession_duration=129600\nwait_timeout=1s\nmax_tries=10\nsocket_group=0\n")
	f.Add("[KMS]\r\nKMS_MFA_ID: 'arn:aws:iam::1:mfa/x'\r\n; c\n# c\n[kms]\nregion=us-east-1\n")
	f.Add("\ufeff[kms]\nkms_mfa_id = \"arn:aws:iam::123456789012:mfa/a\"\nsession_duration = 12h\n")
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := ParseConfig([]byte(in))
		if err != nil {
			return
		}
		if check.MFADeviceARN(cfg.MFASerial) != nil {
			t.Fatalf("bad serial %q accepted", cfg.MFASerial)
		}
		if !filepath.IsAbs(cfg.Socket) || filepath.Clean(cfg.Socket) != cfg.Socket {
			t.Fatalf("bad socket %q accepted", cfg.Socket)
		}
		if cfg.SessionDuration < 900*time.Second || cfg.SessionDuration > 129600*time.Second || cfg.SessionDuration%time.Second != 0 {
			t.Fatalf("session duration %v accepted", cfg.SessionDuration)
		}
		if cfg.WaitTimeout < time.Second || cfg.WaitTimeout > maxWaitTimeout {
			t.Fatalf("wait timeout %v accepted", cfg.WaitTimeout)
		}
		if cfg.MaxTries < 1 || cfg.MaxTries > maxMaxTries {
			t.Fatalf("max tries %d accepted", cfg.MaxTries)
		}
		if cfg.Region != "" && !regionRE.MatchString(cfg.Region) {
			t.Fatalf("region %q accepted", cfg.Region)
		}
	})
}

// TestMFAIdMustBeADeviceARN: a user ARN or a bare account id in kms_mfa_id is refused when the config is
// read, with the key, the reason and the fix, instead of costing an MFA code at STS.
func TestMFAIdMustBeADeviceARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::123456789012:user/MDBEnc": "is a user's ARN, not its MFA device",
		"123456789012":                          "is an account id, not an MFA device",
		"MDBEnc":                                "is not an MFA device ARN",
	} {
		_, err := ParseConfig([]byte("[kms]\nkms_mfa_id = " + in + "\n"))
		if err == nil || !strings.Contains(err.Error(), "line 2: kms_mfa_id: ") || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "arn:aws:iam::ACCOUNT:mfa/NAME") {
			t.Errorf("%s: err = %v", in, err)
		}
	}
	if _, err := ParseConfig([]byte("[kms]\nkms_mfa_id = arn:aws-us-gov:iam::123456789012:mfa/ops/MDBEnc\n")); err != nil {
		t.Errorf("a device ARN with a path in another partition was refused: %v", err)
	}
}

// TestNoRegionHintNamesTheWrappersOwnSettings: the wrapper has no --region flag, so its hint names the
// config key and the EnvironmentFile variable.
func TestNoRegionHintNamesTheWrappersOwnSettings(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "none"))
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	_, err := awsclient.LoadLongTermConfig(context.Background(), "", "AKIAEXAMPLE", "secret")
	if err == nil || strings.Contains(err.Error(), "--region") || !strings.Contains(err.Error(), "region = REGION in the [kms] section") {
		t.Fatalf("err = %v", err)
	}
}
