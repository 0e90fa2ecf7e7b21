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
