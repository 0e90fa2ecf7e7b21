package inifile

import (
	"strings"
	"testing"
)

func TestParseGuideConfig(t *testing.T) {
	f, err := Parse([]byte("# comment\n[kms]\nkms_mfa_id = arn:aws:iam::551888187628:mfa/MDBEnc\nkms_mfa_socket: /tmp/kms_mfa_socket\n; other\n[Other]\nx='quoted value'\ny = \"a # in quotes\"\nz = a#b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f["kms"]["kms_mfa_id"]; got.Value != "arn:aws:iam::551888187628:mfa/MDBEnc" || got.Line != 3 {
		t.Errorf("kms_mfa_id = %+v", got)
	}
	if got := f["kms"]["kms_mfa_socket"].Value; got != "/tmp/kms_mfa_socket" {
		t.Errorf("kms_mfa_socket = %q", got)
	}
	if got := f["other"]["y"].Value + "|" + f["other"]["z"].Value; got != "a # in quotes|a#b" {
		t.Errorf("a # inside a quoted value or a word is part of the value: got %q", got)
	}
	if got := f["other"]["x"].Value; got != "quoted value" {
		t.Errorf("other.x = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"no value":     {"[kms]\njust words\n", "line 2: expected"},
		"open header":  {"[kms\n", "line 1: section header"},
		"empty header": {"[ ]\n", "invalid section name"},
		"duplicate":    {"[kms]\na=1\nA = 2\n", `line 3: key "a" already set on line 2`},
		"bad key":      {"[kms]\nbad key = 1\n", "line 2: invalid key name"},
		"too big":      {strings.Repeat("#", MaxSize+1), "more than"},
		"inline #":     {"[kms]\nmax_tries = 3   # 1-10\n", `line 2: max_tries: "# 1-10" after the value is not a comment here: comments must be on their own line`},
		"inline ;":     {"[kms]\nregion = us-east-1 ; optional\n", `line 2: region: "; optional" after the value`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
