package check

import (
	"strings"
	"testing"
)

func TestPublicCIDRAccepts(t *testing.T) {
	for _, ok := range []string{"203.0.113.0/24", "198.51.100.7/32", "2001:db8:1234::/48", "52.0.0.0/8"} {
		if err := PublicCIDR(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestPublicCIDRRejectsNonPublic(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/8", "172.16.5.0/24", "192.168.12.34/32", "100.64.0.0/16", "127.0.0.1/32",
		"169.254.169.254/32", "fd00::/8", "fe80::/64", "::1/128", "224.0.0.0/8"} {
		if err := PublicCIDR(bad); err == nil {
			t.Errorf("%s: accepted, but aws:SourceIp never holds such an address", bad)
		}
	}
}

func TestPrincipalARNKinds(t *testing.T) {
	for arn, want := range map[string]PrincipalKind{
		"arn:aws:iam::111122223333:user/MDBEnc":          IAMUser,
		"arn:aws:iam::111122223333:user/db/team/MDBEnc":  IAMUser,
		"arn:aws:iam::111122223333:role/mariadb":         IAMRole,
		"arn:aws-us-gov:iam::111122223333:role/x/mysqld": IAMRole,
	} {
		got, err := PrincipalARN(arn)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", arn, got, err, want)
		}
	}
}

func TestLogRetention(t *testing.T) {
	for _, d := range RetentionDays {
		if err := LogRetention(d); err != nil {
			t.Errorf("%d: %v", d, err)
		}
	}
	for days, hint := range map[int]string{0: "1", 2: "1 or 3", 9999: "3653"} {
		err := LogRetention(days)
		if err == nil || !strings.Contains(err.Error(), "nearest valid values: "+hint) {
			t.Errorf("%d: want hint %q, got %v", days, hint, err)
		}
	}
}

func TestTrailNameRules(t *testing.T) {
	for _, ok := range []string{"mariadb-encryption-key", "abc", "a.b_c-d"} {
		if err := TrailName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"ab", "-abc", "abc-", "a_-b", "my trail", "10.0.0.1"} {
		if err := TrailName(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestMFASerialAcceptsDeviceARNsAndHardwareSerials: GetSessionToken takes a virtual device's ARN or a
// hardware token's serial number; a user ARN or an account id is refused with the fix.
func TestMFASerialAcceptsDeviceARNsAndHardwareSerials(t *testing.T) {
	for _, ok := range []string{"arn:aws:iam::111122223333:mfa/MDBEncAdmin", "arn:aws-us-gov:iam::111122223333:mfa/path/dev", "GAHT12345678"} {
		if err := MFADeviceARN(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for bad, why := range map[string]string{
		"arn:aws:iam::111122223333:user/MDBEncAdmin": "a user's ARN",
		"111122223333":                  "an account id",
		"arn:aws:iam::111122223333:x/y": "not an MFA device ARN",
		"short":                         "not an MFA device ARN",
		"GAHT 1234 5678":                "not an MFA device ARN",
	} {
		if err := MFADeviceARN(bad); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want %q", bad, err, why)
		}
	}
}

func TestTrailARNGivesTheNameAndAccount(t *testing.T) {
	for arn, want := range map[string][2]string{
		"arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail":         {"org-trail", "111122223333"},
		"arn:aws-us-gov:cloudtrail:us-gov-west-1:444455556666:trail/a.b_c":  {"a.b_c", "444455556666"},
		"arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/mariadb-trail": {"mariadb-trail", "111122223333"},
	} {
		name, account, err := TrailARN(arn)
		if err != nil || name != want[0] || account != want[1] {
			t.Errorf("%s: got %q %q %v, want %q %q", arn, name, account, err, want[0], want[1])
		}
	}
}

func TestTrailARNRejectsOtherShapesNamingTheFix(t *testing.T) {
	for bad, want := range map[string]string{
		"org-trail": "is a trail name, not an ARN",
		"arn:aws:cloudtrail:eu-west-1:111122223333:org-trail":       "is not a trail ARN",
		"arn:aws:cloudtrail:eu-west-1:1111:trail/org-trail":         "is not a trail ARN",
		"arn:aws:s3:::my-bucket":                                    "is not a trail ARN",
		"arn:aws:cloudtrail:eu-west-1:111122223333:trail/x":         "invalid trail",
		"arn:aws:cloudtrail:eu-west-1:111122223333:trail/a--b":      "invalid trail",
		"arn:aws:cloudtrail:EU-WEST-1:111122223333:trail/org-trail": "is not a trail ARN",
	} {
		_, _, err := TrailARN(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", bad, err, want)
			continue
		}
		if !strings.Contains(err.Error(), "arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME") && want != "invalid trail" {
			t.Errorf("%s: %v does not show the shape to use", bad, err)
		}
	}
}

func TestLogGroupName(t *testing.T) {
	for _, ok := range []string{"aws-cloudtrail-logs-111122223333-0a1b2c3d", "/org/cloudtrail", "a#b.c_d-e"} {
		if err := LogGroupName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := LogGroupName("arn:aws:logs:eu-west-1:111122223333:log-group:/org/cloudtrail:*"); err == nil || !strings.Contains(err.Error(), "(/org/cloudtrail)") {
		t.Errorf("an ARN: got %v, want the name /org/cloudtrail suggested", err)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("a", 513)} {
		if err := LogGroupName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
