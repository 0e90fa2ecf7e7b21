package test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// hasWarning reports whether the stack carries a kmsguard configuration warning with that id.
func hasWarning(s *Synth, id string) bool {
	msgs := assertions.Annotations_FromStack(s.Stack.Stack).FindWarning(jsii.String("*"),
		assertions.Match_StringLikeRegexp(jsii.String(`\[ack: `+id+`\]`)))
	return len(*msgs) > 0
}

func userNames(s *Synth) []string {
	var out []string
	for _, u := range s.resourcesOfType("AWS::IAM::User") {
		out = append(out, props(u)["UserName"].(string))
	}
	slices.Sort(out)
	return out
}

// keyPolicyHas reports whether the master key's policy has a statement with that Sid.
func keyPolicyHas(t *testing.T, s *Synth, sid string) bool {
	_, ok := keyPolicyStatements(t, s)[sid]
	return ok
}

func failIf(broken bool, format string, args ...any) error {
	if broken {
		return fmt.Errorf(format, args...)
	}
	return nil
}

// TestUnsetSettingsDeployWhatTheReadmeDefaultsPromise checks, for the rows of the table in README.md,
// Configuration, what each default does to the deployed stack: the template, not the Config value. The
// subject is the "default" test configuration, which sets nothing but the acceptRisks record that the
// defaults of alertEmails and the network keys need (README.md, "Safe by default"; the refusal without it
// is tested in stacks/safety_test.go). Each row has a control: a test configuration that changes that
// setting, on which the same check must fail, so a check that cannot see its setting is caught.
func TestUnsetSettingsDeployWhatTheReadmeDefaultsPromise(t *testing.T) {
	rows := []struct {
		keys    string // the README rows
		subject string // the test configuration (test/synth_test.go) the default is seen in; "" for "default"
		control string // a test configuration that changes them
		check   func(s *Synth) error
	}{
		{"stackName KmsGuard: the stack and every rule and alarm name", "", "hardened", func(s *Synth) error {
			var errs []error
			errs = append(errs, failIf(*s.Stack.StackName() != "KmsGuard", "stack %s", *s.Stack.StackName()))
			errs = append(errs, assertionError(func() {
				s.Template.AllResourcesProperties(jsii.String("AWS::Events::Rule"), map[string]any{
					"Name": assertions.Match_StringLikeRegexp(jsii.String("^KmsGuard-"))})
				s.Template.AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"AlarmName": assertions.Match_StringLikeRegexp(jsii.String("^KmsGuard-"))})
			}))
			return errors.Join(errs...)
		}},
		{"alertEmails none (with acceptRisks no-alert-subscriber): no subscription, and a warning", "", "ip-only", func(s *Synth) error {
			return errors.Join(
				failIf(len(s.resourcesOfType("AWS::SNS::Subscription")) != 0, "subscriptions exist"),
				failIf(!hasWarning(s, "kmsguard:noAlertEmails"), "no alertEmails warning"))
		}},
		{"allowedCidrs, allowedVpcEndpoints none (with acceptRisks any-network): no network restriction, and a warning", "", "ip-only", func(s *Synth) error {
			return errors.Join(
				failIf(keyPolicyHas(t, s, "DenyUseOutsideNetwork"), "the key policy restricts the network"),
				failIf(!hasWarning(s, "kmsguard:noNetworkRestriction"), "no network warning"))
		}},
		{"requireMfa false: using the key needs no MFA", "", "mfa", func(s *Synth) error {
			return failIf(keyPolicyHas(t, s, "DenyUseWithoutMfa"), "the key policy denies use without MFA")
		}},
		{"keyUserArns none, serverUserName MDBEnc: the stack creates MDBEnc, and it alone may use the key", "", "existing-users", func(s *Synth) error {
			if !slices.Contains(userNames(s), "MDBEnc") {
				return fmt.Errorf("users %v", userNames(s))
			}
			got := keyPolicyStatements(t, s)["AllowUseOfTheKey"]["Condition"]
			want := principalIs(userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEnc"))))
			return failIf(!jsonEqual(got, want), "AllowUseOfTheKey condition %v", got)
		}},
		{"adminUserName MDBEncAdmin, adminUserArn none: the stack creates MDBEncAdmin, and it alone may enable and disable", "", "existing-admin", func(s *Synth) error {
			if !slices.Contains(userNames(s), "MDBEncAdmin") {
				return fmt.Errorf("users %v", userNames(s))
			}
			got := keyPolicyStatements(t, s)["AllowEnableDisable"]["Condition"]
			want := principalIs(userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEncAdmin"))))
			return failIf(!jsonEqual(got, want), "AllowEnableDisable condition %v", got)
		}},
		{"adminRequireMfa true: enabling and disabling need MFA, and the administrator can do nothing else without it", "", "existing-users", func(s *Synth) error {
			return errors.Join(
				failIf(!keyPolicyHas(t, s, "DenyAdminWithoutMfa"), "no DenyAdminWithoutMfa"),
				assertionError(func() {
					s.Template.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), map[string]any{
						"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
							"Sid": "DenyAllExceptListedIfNoMfa", "Effect": "Deny"})})},
					})
				}))
		}},
		{"keyAlias alias/mariadb-encryption", "", "hardened", func(s *Synth) error {
			return assertionError(func() {
				s.Template.HasResourceProperties(jsii.String("AWS::KMS::Alias"), map[string]any{"AliasName": "alias/mariadb-encryption"})
			})
		}},
		{"trailName mariadb-encryption-key", "", "hardened", func(s *Synth) error {
			return assertionError(func() {
				s.Template.HasResourceProperties(jsii.String("AWS::CloudTrail::Trail"), map[string]any{"TrailName": "mariadb-encryption-key"})
			})
		}},
		{"logRetentionDays 365: the log group and the trail's log files under Object Lock", "", "hardened", func(s *Synth) error {
			return assertionError(func() {
				s.Template.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 365})
				s.Template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{"ObjectLockConfiguration": map[string]any{
					"Rule": map[string]any{"DefaultRetention": map[string]any{"Days": 365}}}})
			})
		}},
		{"notifyKeyUse true: routine use of the key is mailed", "", "hardened", func(s *Synth) error {
			for _, r := range s.resourcesOfType("AWS::Events::Rule") {
				if ruleTier(r) == "key-use" {
					return nil
				}
			}
			return errors.New("no key-use rule")
		}},
		{"securityEmails: alertEmails, with a warning", "ip-only", "hardened", func(s *Synth) error {
			var got []string
			for _, sub := range s.resourcesOfType("AWS::SNS::Subscription") {
				ref, _ := cfntemplate.RefOf(props(sub)["TopicArn"])
				if ref.ID == topicEncryptedBy(t, s, "security-alerts-key") {
					got = append(got, props(sub)["Endpoint"].(string))
				}
			}
			slices.Sort(got)
			return errors.Join(
				failIf(!slices.Equal(got, s.Stack.Config.AlertEmails), "the security destination mails %v, not alertEmails %v", got, s.Stack.Config.AlertEmails),
				failIf(!hasWarning(s, "kmsguard:securityEmailsFallback"), "no securityEmails warning"))
		}},
		{"example false: the template is no example", "", "example", func(s *Synth) error {
			return failIf(hasWarning(s, "kmsguard:exampleConfiguration"), "warned as an example")
		}},
	}
	if want := map[string]any{"acceptRisks": []any{"no-alert-subscriber", "any-network"}}; !jsonEqual(configs["default"], want) {
		t.Fatalf("the default test configuration must set nothing but %v, got %v", want, configs["default"])
	}
	for _, row := range rows {
		subject := row.subject
		if subject == "" {
			subject = "default"
		}
		if err := row.check(synth(t, subject)); err != nil {
			t.Errorf("%s: %v", row.keys, err)
		}
		if row.check(synth(t, row.control)) == nil {
			t.Errorf("control: %s: the check also passes on %q, which changes that setting", row.keys, row.control)
		}
	}
}
