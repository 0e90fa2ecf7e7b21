package stacks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// withSafety adds the settings kmsguard refuses to run without (README.md, "Safe by default") when a test's
// context does not set them, so each test here sees only the problems it is about.
func withSafety(ctx map[string]any) map[string]any {
	out := map[string]any{}
	if _, ok := ctx["alertEmails"]; !ok {
		out["alertEmails"] = "dba@example.com"
	}
	_, cidrs := ctx["allowedCidrs"]
	_, vpces := ctx["allowedVpcEndpoints"]
	if !cidrs && !vpces {
		out["allowedCidrs"] = "203.0.113.0/24"
	}
	for k, v := range ctx {
		out[k] = v
	}
	return out
}

// What each default does to the deployed stack is tested on the synthesized template, in
// test/defaults_test.go.

// TestListsAreAcceptedAsJSONOrCommaSeparated: a list is the same whether it comes from cdk.json or from
// `-c` as a JSON array in quotes or a comma-separated string (README.md, Configuration).
func TestListsAreAcceptedAsJSONOrCommaSeparated(t *testing.T) {
	want := []string{"203.0.113.0/24", "198.51.100.7/32"}
	for name, raw := range map[string]any{
		"comma string":       "203.0.113.0/24, 198.51.100.7/32,",
		"JSON in a string":   `["203.0.113.0/24","198.51.100.7/32"]`,
		"cdk.json JSON list": []any{"203.0.113.0/24", "198.51.100.7/32"},
	} {
		cfg, err := ParseConfig(withSafety(map[string]any{"allowedCidrs": raw}))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(cfg.AllowedCidrs, want) {
			t.Errorf("%s: got %q, want %q", name, cfg.AllowedCidrs, want)
		}
	}
}

// TestBooleansAndNumbersAreAcceptedAsStringsFromTheCommandLine: `-c requireMfa=true` and friends arrive
// as strings and mean what they say.
func TestBooleansAndNumbersAreAcceptedAsStringsFromTheCommandLine(t *testing.T) {
	cfg, err := ParseConfig(withSafety(map[string]any{
		"requireMfa": "true", "adminRequireMfa": "false", "logRetentionDays": "731", "notifyKeyUse": false,
		"allowedCidrs": "203.0.113.0/24",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RequireMfa || cfg.AdminRequireMfa || cfg.LogRetentionDays != 731 || cfg.NotifyKeyUse {
		t.Fatalf("string values not parsed: %+v", cfg)
	}
}

// TestCDKsOwnContextKeysAreNotRejectedAsUnknown: feature flags, CLI settings and cached lookups that the
// CDK writes into the context are not configuration typos.
func TestCDKsOwnContextKeysAreNotRejectedAsUnknown(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{
		"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
		"aws:cdk:enable-path-metadata":                    true,
		"availability-zones:account=1:region=us-east-1":   []any{"a"},
		"acknowledged-issue-numbers":                      []any{1.0},
	}))
	if err != nil {
		t.Fatalf("CDK's own context keys must not be rejected: %v", err)
	}
}

// TestBadInputNamesEveryKey walks what README.md's Configuration section says is rejected: each bad value
// must be reported, by key, in one error, and nothing else may be reported.
func TestBadInputNamesEveryKey(t *testing.T) {
	cases := []struct {
		key, value, mentions string
	}{
		{"allowedCidrs", "203.0.113.0/33", "not a CIDR"},
		{"allowedCidrs", "0.0.0.0/0", "every address"},
		{"allowedCidrs", "::/0", "every address"},
		{"allowedCidrs", "10.1.2.3/32", "not a public range"},
		{"allowedCidrs", "203.0.113.7/24", "write 203.0.113.0/24"},
		{"allowedCidrs", "203.0.113.7", "write 203.0.113.7/32"},
		{"allowedCidrs", "4.0.0.0/6", "wider than a /8"},
		{"alertEmails", "not-an-email", "not a plain email"},
		{"alertEmails", "Ops <ops@example.com>", "not a plain email"},
		{"alertEmails", "ops@localhost", "no domain with a dot"},
		{"logRetentionDays", "366", "nearest valid values: 365 or 400"},
		{"logRetentionDays", "forever", "whole number"},
		{"keyUserArns", "arn:aws:iam::12345:user/x", "not an IAM user or role ARN"},
		{"keyUserArns", "arn:aws:iam::111122223333:root", "account root"},
		{"keyUserArns", "arn:aws:sts::111122223333:assumed-role/r/s", "role session"},
		{"keyUserArns", "arn:aws:iam::111122223333:user/*", "wildcard"},
		{"keyUserArns", "arn:aws:iam::111122223333:user/MDBEncAdmin", "separation of duties"},
		{"allowedVpcEndpoints", "vpce-123", "not a VPC endpoint id"},
		{"allowedVpcEndpoints", "vpc-0123456789abcdef0", "not a VPC endpoint id"},
		{"keyAlias", "mariadb", "must start with alias/"},
		{"keyAlias", "alias/aws/mariadb", "AWS reserves"},
		{"keyAlias", "alias/" + strings.Repeat("x", 121), "at most 126 characters"},
		{"trailName", "a", "not a valid trail name"},
		{"trailName", "bad..name", "not a valid trail name"},
		{"adminUserName", "has space", "not a valid IAM user name"},
		{"stackName", "1stack", "not a valid stack name"},
		{"requireMfa", "yes please", "true or false"},
		{"allowedCidr", "203.0.113.0/24", "did you mean allowedCidrs"},
		{"breakGlassArns", "arn:aws:iam::111122223333:role/*", "wildcard"},
		{"breakGlassArns", "arn:aws:sts::111122223333:assumed-role/BreakGlass/alice", "role session"},
		{"breakGlassArns", "arn:aws:iam::12:root", "not an account root ARN"},
		{"breakGlassArns", "arn:aws:iam::111122223333:user/MDBEncAdmin", "separation of duties"},
		{"breakGlassArns", "arn:aws:iam::111122223333:user/MDBEnc", "separation of duties"},
		{"breakGlassArns", "arn:aws:iam::111122223333:role/bg,arn:aws:iam::111122223333:role/bg", "listed twice"},
		{"deployRoleArns", "[]", "remove deployRoleArns to use the CDK bootstrap's execution role"},
		{"deployRoleArns", "arn:aws:iam::111122223333:user/deployer", "not an IAM role"},
		{"deployRoleArns", "arn:aws:iam::111122223333:root", "account root"},
		{"objectLockMode", "legal-hold", "write GOVERNANCE"},
	}
	for _, c := range cases {
		_, err := ParseConfig(withSafety(map[string]any{c.key: c.value}))
		var problems Problems
		if !errors.As(err, &problems) {
			t.Errorf("%s=%q: want a configuration error, got %v", c.key, c.value, err)
			continue
		}
		if len(problems) != 1 || problems[0].Key != c.key || !strings.Contains(problems[0].Message, c.mentions) {
			t.Errorf("%s=%q: want one problem for %s mentioning %q, got %v", c.key, c.value, c.key, c.mentions, problems)
		}
	}
}

// TestRequireMfaRefusesARoleAsKeyUser: a role can never present MFA through iam-kms-wrapper.
func TestRequireMfaRefusesARoleAsKeyUser(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{
		"requireMfa":  true,
		"keyUserArns": "arn:aws:iam::111122223333:role/mariadb",
	}))
	if err == nil || !strings.Contains(err.Error(), "requireMfa: key user") || !strings.Contains(err.Error(), "GetSessionToken") {
		t.Fatalf("a role can never present MFA through iam-kms-wrapper; want a requireMfa error, got %v", err)
	}
	if _, err := ParseConfig(withSafety(map[string]any{"requireMfa": true, "keyUserArns": "arn:aws:iam::111122223333:user/mariadb"})); err != nil {
		t.Fatalf("an IAM user can get an MFA session: %v", err)
	}
}

// TestEveryProblemIsReportedAtOnceSortedByKey: one run names every problem, in key order.
func TestEveryProblemIsReportedAtOnceSortedByKey(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{
		"allowedCidrs":     "0.0.0.0/0,10.0.0.0/8",
		"alertEmails":      "nope",
		"logRetentionDays": 2,
		"keyAlias":         "x",
		"typoKey":          1,
	}))
	var problems Problems
	if !errors.As(err, &problems) {
		t.Fatalf("want Problems, got %v", err)
	}
	keys := map[string]int{}
	for _, p := range problems {
		keys[p.Key]++
	}
	want := map[string]int{"allowedCidrs": 2, "alertEmails": 1, "logRetentionDays": 1, "keyAlias": 1, "typoKey": 1}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("problems by key = %v, want %v\n%v", keys, want, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "kmsguard: 6 configuration problem(s); nothing was synthesized:") {
		t.Fatalf("message header: %q", msg)
	}
	if strings.Index(msg, "alertEmails") > strings.Index(msg, "typoKey") {
		t.Fatalf("problems should be sorted by key:\n%s", msg)
	}
}

// TestAValueListedTwiceIsRefused names the duplicate rather than deploying it twice.
func TestAValueListedTwiceIsRefused(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{"alertEmails": "a@example.com,a@example.com"}))
	if err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("want a duplicate error, got %v", err)
	}
}

func TestServerUserNameMustDifferFromAdmin(t *testing.T) {
	_, err := ParseConfig(withSafety(map[string]any{"serverUserName": "MDBEncAdmin"}))
	if err == nil || !strings.Contains(err.Error(), "serverUserName") {
		t.Fatalf("want a serverUserName error, got %v", err)
	}
}

// TestAdminUserArnNamesAnExistingAdministrator: a second deploy (another region of the same account, or an
// account where the administrator exists) names the existing user instead of creating MDBEncAdmin again.
// Every problem is reported at once, by key, with the fix; a valid ARN passes (the control).
func TestAdminUserArnNamesAnExistingAdministrator(t *testing.T) {
	ok, err := ParseConfig(withSafety(map[string]any{"adminUserArn": "arn:aws:iam::111122223333:user/ops/KeyToggler"}))
	if err != nil || ok.adminName() != "KeyToggler" || ok.watchedUserNames()[0] != "KeyToggler" {
		t.Fatalf("a valid existing administrator was refused or not watched: %v %+v", err, ok.watchedUserNames())
	}
	for _, tc := range []struct {
		ctx  map[string]any
		want []string
	}{
		{map[string]any{"adminUserArn": "arn:aws:iam::111122223333:role/toggler"}, []string{"adminUserArn: ", "not an IAM user", "sts:GetSessionToken"}},
		{map[string]any{"adminUserArn": "MDBEncAdmin"}, []string{"adminUserArn: "}},
		{map[string]any{"adminUserArn": "arn:aws:iam::111122223333:user/db", "keyUserArns": "arn:aws:iam::111122223333:user/db"},
			[]string{"adminUserArn: ", "also in keyUserArns", "name another user"}},
		{map[string]any{"adminUserArn": "arn:aws:iam::111122223333:user/MDBEnc"}, []string{"serverUserName: ", "also the admin user"}},
		{map[string]any{"adminUserArn": "arn:aws:iam::111122223333:role/x", "trailName": "bad name!"}, []string{"adminUserArn: ", "trailName: "}},
	} {
		_, err := ParseConfig(withSafety(tc.ctx))
		if err == nil {
			t.Errorf("%v: accepted", tc.ctx)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error lacks %q:\n%v", tc.ctx, w, err)
			}
		}
	}
}

// TestExistingTrailArnIsCheckedNamingTheFieldAndTheFix: an existing trail is named by its ARN, whose shape is
// checked at synth (a trail name or a mistyped ARN would be watched under the wrong name, silently); its log
// group comes only with it; and the settings of the trail the stack would have made cannot be given with it,
// since they would be ignored. Every problem at once, by key; a valid pair passes (the control).
func TestExistingTrailArnIsCheckedNamingTheFieldAndTheFix(t *testing.T) {
	const arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org-trail"
	ok, err := ParseConfig(withSafety(map[string]any{"existingTrailArn": arn, "existingTrailLogGroup": "aws-cloudtrail-logs-org"}))
	if err != nil || ok.WatchedTrailName() != "org-trail" {
		t.Fatalf("a valid existing trail was refused or is not watched by its name: %v, %q", err, ok.WatchedTrailName())
	}
	if d := DefaultConfig(); d.WatchedTrailName() != d.TrailName {
		t.Errorf("without existingTrailArn the stack's own trail %q must be watched, got %q", d.TrailName, d.WatchedTrailName())
	}
	for _, tc := range []struct {
		ctx  map[string]any
		want []string
	}{
		{map[string]any{"existingTrailArn": "org-trail"}, []string{"existingTrailArn: ", "is a trail name, not an ARN", "arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME"}},
		{map[string]any{"existingTrailArn": "arn:aws:cloudtrail:eu-west-1:111122223333:org-trail"}, []string{"existingTrailArn: ", "not a trail ARN", "describe-trails"}},
		{map[string]any{"existingTrailLogGroup": "aws-cloudtrail-logs-org"}, []string{"existingTrailLogGroup: ", "only used with existingTrailArn"}},
		{map[string]any{"existingTrailArn": arn, "existingTrailLogGroup": "arn:aws:logs:eu-west-1:111122223333:log-group:org:*"},
			[]string{"existingTrailLogGroup: ", "is an ARN", "(org)"}},
		{map[string]any{"existingTrailArn": arn, "trailName": "mine", "logRetentionDays": 731.0, "objectLockMode": "COMPLIANCE"},
			[]string{"logRetentionDays: is not used with existingTrailArn", "trailName: is not used with existingTrailArn",
				"objectLockMode: is not used with existingTrailArn"}},
	} {
		_, err := ParseConfig(withSafety(tc.ctx))
		if err == nil {
			t.Errorf("%v: accepted", tc.ctx)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error lacks %q:\n%v", tc.ctx, w, err)
			}
		}
	}
}

// The locks' settings: defaults, case of the Object Lock mode, and a principal in both exemption lists.
func TestLockSettings(t *testing.T) {
	cfg, err := ParseConfig(withSafety(map[string]any{
		"breakGlassArns": []any{"arn:aws:iam::111122223333:role/BreakGlass", "arn:aws:iam::111122223333:root"},
		"deployRoleArns": "arn:aws:iam::111122223333:role/pipeline/StackSetExecution",
		"objectLockMode": "compliance",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ObjectLockMode != "COMPLIANCE" || len(cfg.BreakGlassArns) != 2 || len(cfg.DeployRoleArns) != 1 {
		t.Fatalf("parsed %+v", cfg)
	}
	if d := DefaultConfig(); d.ObjectLockMode != "GOVERNANCE" || d.BreakGlassArns != nil || d.DeployRoleArns != nil {
		t.Fatalf("defaults: governance mode, no break-glass, the bootstrap's role (nil): %+v", d)
	}
	both := "arn:aws:iam::111122223333:role/both"
	_, err = ParseConfig(withSafety(map[string]any{"breakGlassArns": both, "deployRoleArns": both}))
	if err == nil || !strings.Contains(err.Error(), "breakGlassArns: \""+both+"\" is also in deployRoleArns") {
		t.Fatalf("want the principal in both lists refused, got %v", err)
	}
	// A user with a path is never one the stack creates, so it may be break-glass even if named MDBEnc.
	if _, err := ParseConfig(withSafety(map[string]any{"breakGlassArns": "arn:aws:iam::111122223333:user/ops/MDBEnc"})); err != nil {
		t.Fatalf("control: %v", err)
	}
}
