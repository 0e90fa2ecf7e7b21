// Package check holds the input validators shared by the stack configuration (which reports problems by
// context key) and the construct props (which report them by field), so both reject exactly the same input.
package check

import (
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
)

// IsToken reports whether s is an unresolved CDK token; values known only at deploy time cannot be checked
// at synth time and are left to CloudFormation.
func IsToken(s string) bool { return strings.Contains(s, "${Token[") }

// PublicCIDR rejects ranges that can never match aws:SourceIp or that would allow the whole internet.
// aws:SourceIp only ever holds a public address: calls from inside a VPC arrive with their NAT gateway's
// public address, or through a VPC endpoint with no aws:SourceIp at all, so a private range in the key
// policy silently locks the server out.
func PublicCIDR(s string) error {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		if a, aerr := netip.ParseAddr(strings.TrimSpace(s)); aerr == nil {
			return fmt.Errorf("%q is an address, not a range: write %s/%d", s, a, a.BitLen())
		}
		return fmt.Errorf("%q is not a CIDR range (example: 203.0.113.10/32)", s)
	}
	if p.Masked() != p {
		return fmt.Errorf("%q has host bits set: write %s", s, p.Masked())
	}
	if p.Bits() == 0 {
		return fmt.Errorf("%q allows every address, which is no restriction: name your server's public egress range", s)
	}
	a := p.Addr()
	switch {
	case a.IsPrivate(), a.IsLoopback(), a.IsLinkLocalUnicast(), a.IsMulticast(), a.IsUnspecified(),
		sharedAddressSpace.Contains(a):
		return fmt.Errorf("%q is not a public range, and aws:SourceIp only ever holds public addresses: "+
			"use the public address of the server's NAT gateway, or allowedVpcEndpoints for traffic through a VPC endpoint", s)
	}
	if a.Is4() && p.Bits() < 8 || a.Is6() && p.Bits() < 16 {
		return fmt.Errorf("%q is wider than a /8 (IPv4) or /16 (IPv6) and restricts almost nothing: narrow it to your egress range", s)
	}
	return nil
}

// sharedAddressSpace is RFC 6598 carrier-grade NAT space, which netip does not count as private.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

var vpceID = regexp.MustCompile(`^vpce-[0-9a-f]{8}([0-9a-f]{9})?$`)

// VpcEndpointID accepts the two shapes EC2 hands out (vpce- plus 8 or 17 hex digits); aws:SourceVpce is
// compared as a plain string, so a typo would never match and lock the server out.
func VpcEndpointID(s string) error {
	if !vpceID.MatchString(s) {
		return fmt.Errorf("%q is not a VPC endpoint id (vpce- followed by 17 lowercase hex digits, e.g. vpce-0123456789abcdef0)", s)
	}
	return nil
}

// Email accepts a bare address that SNS can subscribe; a display name or missing domain would make the
// subscription fail at deploy time, after other resources already exist.
func Email(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%q is not a plain email address (example: dba@example.com)", s)
	}
	at := strings.LastIndex(s, "@")
	if !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return fmt.Errorf("%q has no domain with a dot after the @", s)
	}
	return nil
}

var principalARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):(user|role)(/[\x21-\x7e]*)?/([\w+=,.@-]{1,128})$`)

// PrincipalKind is what a key-user ARN names: it decides whether the principal can get an MFA session.
type PrincipalKind string

const (
	IAMUser PrincipalKind = "user"
	IAMRole PrincipalKind = "role"
)

// PrincipalARN accepts an IAM user or role ARN and rejects the shapes that would widen or break a key
// policy: the account root (it delegates to every IAM principal), wildcards, and assumed-role session ARNs
// (KMS rejects them as principals).
func PrincipalARN(s string) (PrincipalKind, error) {
	switch {
	case strings.Contains(s, "*"):
		return "", fmt.Errorf("%q contains a wildcard: name each principal exactly", s)
	case strings.HasSuffix(s, ":root"):
		return "", fmt.Errorf("%q is an account root, which would let every IAM principal of that account use the key: name the user or role", s)
	case strings.Contains(s, ":assumed-role/"):
		return "", fmt.Errorf("%q is a role session, not a principal: use the role ARN arn:aws:iam::ACCOUNT:role/NAME", s)
	}
	m := principalARN.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("%q is not an IAM user or role ARN (example: arn:aws:iam::123456789012:user/MDBEnc)", s)
	}
	return PrincipalKind(m[3]), nil
}

var userName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// IAMUserName follows IAM's CreateUser rules so a bad name fails at synth, not half-way through a deploy.
func IAMUserName(s string) error {
	if !userName.MatchString(s) {
		return fmt.Errorf("%q is not a valid IAM user name (1-64 of letters, digits and +=,.@_-)", s)
	}
	return nil
}

var aliasName = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,120}$`)

// KeyAlias follows KMS's CreateAlias rules, except that kmsguard caps the alias at 126 characters (KMS
// allows 256) so that the metric filters that name it stay within CloudWatch's 1024-character pattern
// limit; the alias/aws/ prefix is reserved for AWS managed keys.
func KeyAlias(s string) error {
	switch {
	case !strings.HasPrefix(s, "alias/"):
		return fmt.Errorf("%q must start with alias/ (e.g. alias/%s)", s, s)
	case strings.HasPrefix(s, "alias/aws/"):
		return fmt.Errorf("%q uses the alias/aws/ prefix, which AWS reserves for its managed keys", s)
	case !aliasName.MatchString(s):
		return fmt.Errorf("%q may only contain letters, digits, /, _ and - after alias/ (at most 126 characters in all)", s)
	}
	return nil
}

var (
	trailName       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$`)
	trailPunctTwice = regexp.MustCompile(`[._-]{2}`)
)

// TrailName follows CloudTrail's CreateTrail naming rules.
func TrailName(s string) error {
	if !trailName.MatchString(s) || trailPunctTwice.MatchString(s) {
		return fmt.Errorf("%q is not a valid trail name (3-128 letters, digits, ., _ or -; starts and ends with a letter or digit; no two of ._- in a row)", s)
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return fmt.Errorf("%q looks like an IP address, which CloudTrail does not accept as a trail name", s)
	}
	return nil
}

var stackName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)

// MaxStackName keeps the rule, alarm and filter names derived from the stack name (NAME-key-danger-1)
// within EventBridge's 64-character limit.
const MaxStackName = 40

// StackName follows CloudFormation's stack naming rules, with kmsguard's shorter length limit.
func StackName(s string) error {
	if !stackName.MatchString(s) || len(s) > MaxStackName {
		return fmt.Errorf("%q is not a valid stack name (starts with a letter; letters, digits and -; at most %d characters, "+
			"since rule and alarm names are derived from it)", s, MaxStackName)
	}
	return nil
}

// RetentionDays lists the only values CloudWatch Logs accepts for RetentionInDays.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// LogRetention rejects a retention CloudWatch would refuse at deploy time, naming the nearest valid values.
func LogRetention(days int) error {
	for _, d := range RetentionDays {
		if d == days {
			return nil
		}
	}
	lower, upper := 0, 0
	for _, d := range RetentionDays {
		if d < days {
			lower = d
		} else if upper == 0 {
			upper = d
		}
	}
	hint := fmt.Sprint(RetentionDays)
	switch {
	case lower != 0 && upper != 0:
		hint = fmt.Sprintf("%d or %d", lower, upper)
	case upper != 0:
		hint = fmt.Sprint(upper)
	case lower != 0:
		hint = fmt.Sprint(lower)
	}
	return fmt.Errorf("%d is not a retention CloudWatch Logs accepts; nearest valid values: %s", days, hint)
}

var (
	mfaDeviceARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:mfa/[\w+=,.@/-]{1,512}$`)
	accountIDRE    = regexp.MustCompile(`^[0-9]{12}$`)
	// hardwareSerialRE is STS's SerialNumber syntax (GetSessionToken: 9 to 256 characters, letters, digits
	// and _=,.@:/-), which a hardware token's serial number (for example GAHT12345678) follows.
	hardwareSerialRE = regexp.MustCompile(`^[\w=,.@:/-]{9,256}$`)
)

// MFADeviceARN accepts what sts:GetSessionToken takes as SerialNumber: the ARN of an IAM MFA device,
// arn:PARTITION:iam::ACCOUNT:mfa/NAME (virtual and passkey devices), or a hardware token's serial number
// (GAHT12345678). It names the usual mix-ups (the user's ARN, a bare account id) so the operator can fix
// them before any MFA code is spent.
func MFADeviceARN(s string) error {
	const fix = "use the MFA device's ARN, arn:aws:iam::ACCOUNT:mfa/NAME, or a hardware token's serial number (aws iam list-mfa-devices --user-name USER shows it)"
	switch {
	case mfaDeviceARNRE.MatchString(s):
		return nil
	case accountIDRE.MatchString(s):
		return fmt.Errorf("%q is an account id, not an MFA device: %s", s, fix)
	case strings.Contains(s, ":user/"):
		return fmt.Errorf("%q is a user's ARN, not its MFA device: %s", s, fix)
	case !strings.HasPrefix(s, "arn:") && hardwareSerialRE.MatchString(s):
		return nil // a hardware token's serial number
	}
	return fmt.Errorf("%q is not an MFA device ARN: %s", s, fix)
}

var (
	trailARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):cloudtrail:([a-z]{2}(-[a-z]+)+-\d):(\d{12}):trail/(.+)$`)
	logGroupRE = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
)

// TrailARN accepts an existing trail's ARN, arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME, and returns
// its name and account. The stack's tamper rules match the trail by that name, so a trail named by its
// name alone or by a mistyped ARN would be watched under the wrong name, and silently.
func TrailARN(s string) (name, account string, err error) {
	const fix = "name the trail by its ARN, arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME " +
		"(aws cloudtrail describe-trails --query 'trailList[].TrailARN' lists them)"
	m := trailARNRE.FindStringSubmatch(s)
	switch {
	case m == nil && !strings.HasPrefix(s, "arn:") && TrailName(s) == nil:
		return "", "", fmt.Errorf("%q is a trail name, not an ARN: %s", s, fix)
	case m == nil:
		return "", "", fmt.Errorf("%q is not a trail ARN: %s", s, fix)
	}
	if err := TrailName(m[5]); err != nil {
		return "", "", fmt.Errorf("%q names an invalid trail: %v", s, err)
	}
	return m[5], m[4], nil
}

// LogGroupName follows CloudWatch Logs' CreateLogGroup rules (1-512 of letters, digits and ._-/#), and
// names the usual mix-up, an ARN, since a metric filter takes the group's name.
func LogGroupName(s string) error {
	if strings.HasPrefix(s, "arn:") {
		name := "the part after :log-group:"
		if _, after, ok := strings.Cut(s, ":log-group:"); ok {
			name = strings.TrimSuffix(after, ":*")
		}
		return fmt.Errorf("%q is an ARN: give the log group's name (%s)", s, name)
	}
	if !logGroupRE.MatchString(s) {
		return fmt.Errorf("%q is not a log group name (1-512 of letters, digits and . _ - / #)", s)
	}
	return nil
}
