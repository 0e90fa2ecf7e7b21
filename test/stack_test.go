package test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

func TestMasterKeyIsRetainedSymmetricAndRotated(t *testing.T) {
	for name, alias := range map[string]string{"default": "alias/mariadb-encryption", "hardened": "alias/prod/mariadb"} {
		s := synth(t, name)
		id, key := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
		p := props(key)
		if p["KeySpec"] != "SYMMETRIC_DEFAULT" || p["KeyUsage"] != "ENCRYPT_DECRYPT" || p["EnableKeyRotation"] != true {
			t.Errorf("%s: key spec/usage/rotation: %v %v %v", name, p["KeySpec"], p["KeyUsage"], p["EnableKeyRotation"])
		}
		// RetainExceptOnCreate: kept by stack deletion and replacement, removed only by the rollback of the
		// create that made it (docs/teardown.md).
		if key["DeletionPolicy"] != "RetainExceptOnCreate" || key["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: master key must be retained on delete and replace: %v / %v", name, key["DeletionPolicy"], key["UpdateReplacePolicy"])
		}
		must(t, name+" alias", func() {
			s.Template.HasResource(jsii.String("AWS::KMS::Alias"), map[string]any{
				"Properties":     map[string]any{"AliasName": alias, "TargetKeyId": map[string]any{"Fn::GetAtt": []any{id, "KeyId"}}},
				"DeletionPolicy": "RetainExceptOnCreate",
			})
		})
	}
}

func TestUsersHaveNoSecrets(t *testing.T) {
	for name := range configs {
		s := synth(t, name)
		for _, typ := range []string{"AWS::IAM::AccessKey", "AWS::IAM::LoginProfile", "AWS::SecretsManager::Secret", "AWS::IAM::VirtualMFADevice"} {
			if n := len(s.resourcesOfType(typ)); n != 0 {
				t.Errorf("%s: %d %s in the template; credentials are made by a human, never by the stack", name, n, typ)
			}
		}
		for id, u := range s.resourcesOfType("AWS::IAM::User") {
			if _, ok := props(u)["LoginProfile"]; ok {
				t.Errorf("%s: user %s has a console password", name, id)
			}
		}
		for id, out := range s.JSON["Outputs"].(map[string]any) {
			text, _ := json.Marshal(out)
			if strings.Contains(string(text), "SecretAccessKey") || strings.Contains(string(text), "AccessKey") {
				t.Errorf("%s: output %s exposes an access key: %s", name, id, text)
			}
		}
	}
}

func TestServerUserOnlyWhenNoKeyUsersAreNamed(t *testing.T) {
	users := func(s *Synth) map[string]bool {
		out := map[string]bool{}
		for _, u := range s.resourcesOfType("AWS::IAM::User") {
			out[props(u)["UserName"].(string)] = true
		}
		return out
	}
	if u := users(synth(t, "default")); !u["MDBEnc"] || !u["MDBEncAdmin"] || len(u) != 2 {
		t.Errorf("default: want users MDBEnc and MDBEncAdmin, got %v", u)
	}
	if u := users(synth(t, "existing-users")); u["MDBEnc"] || !u["MDBEncAdmin"] || len(u) != 1 {
		t.Errorf("existing-users: want only MDBEncAdmin, got %v", u)
	}
	if u := users(synth(t, "hardened")); !u["KeyToggler"] || len(u) != 1 {
		t.Errorf("hardened: want only KeyToggler, got %v", u)
	}
}

// TestTheKeyAdministratorCanOnlySetUpItsMfaDeviceWithoutMfa: with adminRequireMfa (the default) the
// administrator's group carries AWS's force-MFA policy, so its stolen long-term keys can do nothing but
// fetch an MFA session; with adminRequireMfa=false (existing-users, the control) there is no such policy.
func TestTheKeyAdministratorCanOnlySetUpItsMfaDeviceWithoutMfa(t *testing.T) {
	forceMfa := map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Sid": "DenyAllExceptListedIfNoMfa", "Effect": "Deny", "Resource": "*",
			"NotAction": assertions.Match_ArrayWith(&[]any{"iam:EnableMFADevice", "sts:GetSessionToken"}),
			"Condition": map[string]any{"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"}},
		}})},
	}
	for name, want := range map[string]int{"default": 1, "existing-users": 0} {
		s := synth(t, name)
		must(t, name+": force-MFA policy", func() {
			s.Template.ResourcePropertiesCountIs(jsii.String("AWS::IAM::ManagedPolicy"), assertions.Match_ObjectLike(&forceMfa), jsii.Number(want))
		})
		if want == 0 {
			continue
		}
		// It binds the administrator: attached to a group the administrator is in.
		policyID := ""
		for id, p := range s.resourcesOfType("AWS::IAM::ManagedPolicy") {
			if slices.ContainsFunc(policyStatements(p, "PolicyDocument"), func(st map[string]any) bool { return st["Sid"] == "DenyAllExceptListedIfNoMfa" }) {
				policyID = id
			}
		}
		adminID := logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEncAdmin"))
		groups, _ := props(s.resourcesOfType("AWS::IAM::User")[adminID])["Groups"].([]any)
		attached := false
		for _, g := range groups {
			ref, _ := cfntemplate.RefOf(g)
			arns, _ := props(s.resourcesOfType("AWS::IAM::Group")[ref.ID])["ManagedPolicyArns"].([]any)
			attached = attached || slices.ContainsFunc(arns, func(a any) bool { return jsonEqual(a, map[string]any{"Ref": policyID}) })
		}
		if !attached {
			t.Errorf("%s: the force-MFA policy %s is not attached to a group of the administrator", name, policyID)
		}
	}
}

func TestTrailLogsEverythingEncryptedWithTheAuditKey(t *testing.T) {
	for name, trailName := range map[string]string{"default": "mariadb-encryption-key", "hardened": "prod-mariadb-key"} {
		s := synth(t, name)
		masterID, _ := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
		auditKeyID, _ := s.resourceWithMetadata(t, "kmsguard:role", "audit-key")
		trails := s.resourcesOfType("AWS::CloudTrail::Trail")
		if len(trails) != 1 {
			t.Fatalf("%s: want one trail, got %d", name, len(trails))
		}
		for _, tr := range trails {
			p := props(tr)
			want := map[string]any{
				"TrailName": trailName, "IsLogging": true, "IsMultiRegionTrail": true, "IncludeGlobalServiceEvents": true,
				"EnableLogFileValidation": true,
				"KMSKeyId":                map[string]any{"Fn::GetAtt": []any{auditKeyID, "Arn"}},
			}
			// Every management event, read and write, no source excluded: the one selector on
			// eventCategory alone, with no readOnly or eventSource field (docs/aws-facts.md).
			if p["EventSelectors"] != nil {
				t.Errorf("%s: the trail has basic event selectors next to advanced ones: %v", name, p["EventSelectors"])
			}
			selectors, _ := p["AdvancedEventSelectors"].([]any)
			management := 0
			for _, sel := range selectors {
				fields := sel.(map[string]any)["FieldSelectors"].([]any)
				if jsonEqual(fields, []any{map[string]any{"Field": "eventCategory", "Equals": []any{"Management"}}}) {
					management++
				}
			}
			if management != 1 {
				t.Errorf("%s: want one advanced selector recording every management event, got %d in %s", name, management, mustJSON(selectors))
			}
			for k, v := range want {
				if !jsonEqual(p[k], v) {
					t.Errorf("%s: trail %s = %v, want %v", name, k, p[k], v)
				}
			}
			if p["CloudWatchLogsLogGroupArn"] == nil || p["CloudWatchLogsRoleArn"] == nil {
				t.Errorf("%s: trail does not deliver to CloudWatch Logs", name)
			}
			if strings.Contains(mustJSON(p["KMSKeyId"]), masterID) {
				t.Errorf("%s: the trail must never be encrypted with the master key", name)
			}
		}
		for id, k := range s.resourcesOfType("AWS::KMS::Key") {
			if k["DeletionPolicy"] != "RetainExceptOnCreate" || props(k)["EnableKeyRotation"] != true {
				t.Errorf("%s: key %s must be retained and rotated", name, id)
			}
		}
	}
}

func TestTrailBucketsAreLockedDown(t *testing.T) {
	s := synth(t, "default")
	buckets := s.resourcesOfType("AWS::S3::Bucket")
	if len(buckets) != 2 {
		t.Fatalf("want the trail bucket and its access-log bucket, got %d buckets", len(buckets))
	}
	var logged int
	for id, b := range buckets {
		p := props(b)
		if b["DeletionPolicy"] != "Retain" {
			t.Errorf("%s: bucket must be retained", id)
		}
		if !jsonEqual(p["PublicAccessBlockConfiguration"], map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true,
			"IgnorePublicAcls": true, "RestrictPublicBuckets": true}) {
			t.Errorf("%s: public access block: %v", id, p["PublicAccessBlockConfiguration"])
		}
		if !jsonEqual(p["VersioningConfiguration"], map[string]any{"Status": "Enabled"}) {
			t.Errorf("%s: versioning: %v", id, p["VersioningConfiguration"])
		}
		if p["LifecycleConfiguration"] == nil || p["BucketEncryption"] == nil {
			t.Errorf("%s: lifecycle and encryption required", id)
		}
		if lc, ok := p["LoggingConfiguration"].(map[string]any); ok {
			// The trail bucket: its log files are under Object Lock for the configured retention.
			wantLock := map[string]any{"ObjectLockEnabled": "Enabled", "Rule": map[string]any{"DefaultRetention": map[string]any{"Mode": "GOVERNANCE", "Days": 365}}}
			if p["ObjectLockEnabled"] != true || !jsonEqual(p["ObjectLockConfiguration"], wantLock) {
				t.Errorf("%s: trail bucket object lock %v / %v", id, p["ObjectLockEnabled"], p["ObjectLockConfiguration"])
			}
			logged++
			target := lc["DestinationBucketName"].(map[string]any)["Ref"]
			if _, ok := buckets[target.(string)]; !ok || target == id {
				t.Errorf("%s: server access logs must go to the other bucket, got %v", id, target)
			}
		}
	}
	for id, b := range buckets {
		if _, logs := props(b)["LoggingConfiguration"]; !logs && props(b)["ObjectLockConfiguration"] != nil {
			t.Errorf("%s: S3 server access logging cannot deliver to a bucket with default retention", id)
		}
	}
	if logged != 1 {
		t.Errorf("the trail bucket must log to the access-log bucket; %d buckets log", logged)
	}
	if n := len(s.resourcesOfType("AWS::S3::BucketPolicy")); n != len(buckets) {
		t.Errorf("%d bucket policies for %d buckets", n, len(buckets))
	}
	for _, cond := range []map[string]any{
		{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		{"NumericLessThan": map[string]any{"s3:TlsVersion": 1.2}},
	} {
		must(t, fmt.Sprintf("every bucket policy denies everything under %v", cond), func() {
			s.Template.AllResourcesProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Action": "s3:*", "Principal": map[string]any{"AWS": "*"}, "Condition": cond,
				})})},
			})
		})
	}
}

func TestLogGroupRetentionFollowsConfig(t *testing.T) {
	for name, days := range map[string]float64{"default": 365, "hardened": 731} {
		s := synth(t, name)
		for id, lg := range s.resourcesOfType("AWS::Logs::LogGroup") {
			if props(lg)["RetentionInDays"] != days || lg["DeletionPolicy"] != "Retain" {
				t.Errorf("%s: log group %s retention %v (want %v), deletion policy %v", name, id, props(lg)["RetentionInDays"], days, lg["DeletionPolicy"])
			}
		}
	}
}

// inAccount resolves a template value for account 111122223333 in us-east-1 (partition aws).
func inAccount(t *testing.T, s *Synth, v any) string {
	t.Helper()
	r := &cfntemplate.Resolver{Template: s.Tpl, Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: "us-east-1", AccountID: fakeAccount}}
	out, unresolved := r.String(v)
	if len(unresolved) > 0 {
		t.Fatalf("%s: %v does not resolve: %v", s.Name, v, unresolved)
	}
	return out
}

// policyStatements returns the statements of the policy document in a resource's property.
func policyStatements(r map[string]any, property string) []map[string]any {
	doc, _ := props(r)[property].(map[string]any)
	var out []map[string]any
	for _, st := range doc["Statement"].([]any) {
		out = append(out, st.(map[string]any))
	}
	return out
}

// TestOnlyThisAccountsRulesAndAlarmsMayPublishAndOnlyOverTLS: each destination's topic policy lets
// EventBridge rules and CloudWatch alarms of this account and region publish (a confused-deputy guard) and
// refuses publishing without TLS.
func TestOnlyThisAccountsRulesAndAlarmsMayPublishAndOnlyOverTLS(t *testing.T) {
	s := synth(t, "hardened")
	want := map[string]string{
		"events.amazonaws.com":     "arn:aws:events:us-east-1:111122223333:rule/*",
		"cloudwatch.amazonaws.com": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:*",
	}
	for _, role := range []string{"alerts-key", "security-alerts-key"} {
		topicID := topicEncryptedBy(t, s, role)
		publishers := map[string]string{}
		var tlsOnly bool
		for _, p := range s.resourcesOfType("AWS::SNS::TopicPolicy") {
			for _, st := range policyStatements(p, "PolicyDocument") {
				if !jsonEqual(st["Resource"], map[string]any{"Ref": topicID}) || st["Action"] != "sns:Publish" {
					continue
				}
				switch st["Effect"] {
				case "Allow":
					service, _ := st["Principal"].(map[string]any)["Service"].(string)
					cond, _ := st["Condition"].(map[string]any)["ArnLike"].(map[string]any)
					publishers[service] = inAccount(t, s, cond["aws:SourceArn"])
				case "Deny":
					tlsOnly = tlsOnly || jsonEqual(st["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}})
				}
			}
		}
		if !reflect.DeepEqual(publishers, want) {
			t.Errorf("%s topic: publishers and their source ARNs %v, want %v", role, publishers, want)
		}
		if !tlsOnly {
			t.Errorf("%s topic: the topic policy does not deny publishing without TLS", role)
		}
	}
}

// TestTwoIndependentAlertDestinations: two topics, each with its own customer managed key (disabling one key
// silences at most its own topic, never the audit trail or the other destination) that lets EventBridge and
// CloudWatch publish, and each with its own subscribers. The control: the audit key does not let the alert
// services in, so the key check can fail.
func TestTwoIndependentAlertDestinations(t *testing.T) {
	s := synth(t, "hardened")
	if n := len(s.resourcesOfType("AWS::SNS::Topic")); n != 2 {
		t.Fatalf("want two topics (two destinations), got %d", n)
	}
	// letsPublishersIn reports whether the key with that kmsguard:role lets EventBridge and CloudWatch
	// alarms encrypt what they publish (without it SNS drops their alerts).
	letsPublishersIn := func(role string) error {
		return assertionError(func() {
			s.Template.HasResource(jsii.String("AWS::KMS::Key"), map[string]any{
				"Metadata": map[string]any{"kmsguard:role": role},
				"Properties": map[string]any{"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{"Effect": "Allow", "Action": []any{"kms:Decrypt", "kms:GenerateDataKey*"},
						"Principal": map[string]any{"Service": []any{"events.amazonaws.com", "cloudwatch.amazonaws.com"}}}),
				})}},
			})
		})
	}
	subscribers := map[string][]string{}
	for _, sub := range s.resourcesOfType("AWS::SNS::Subscription") {
		if props(sub)["Protocol"] != "email" {
			t.Errorf("subscription protocol %v", props(sub)["Protocol"])
		}
		ref, _ := cfntemplate.RefOf(props(sub)["TopicArn"])
		subscribers[ref.ID] = append(subscribers[ref.ID], props(sub)["Endpoint"].(string))
	}
	for role, want := range map[string]string{"alerts-key": "dba@example.com", "security-alerts-key": "security@example.com"} {
		keyID, _ := s.resourceWithMetadata(t, "kmsguard:role", role)
		topic := topicEncryptedBy(t, s, role)
		if got := mustJSON(props(s.resourcesOfType("AWS::SNS::Topic")[topic])["KmsMasterKeyId"]); got != mustJSON(map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}}) {
			t.Errorf("%s: topic %s must use its own key %s by ARN, got %s", role, topic, keyID, got)
		}
		if err := letsPublishersIn(role); err != nil {
			t.Errorf("%s: the topic key does not let EventBridge and CloudWatch publish: %v", role, err)
		}
		if got := strings.Join(subscribers[topic], ","); got != want {
			t.Errorf("%s: topic %s subscribers %q, want %q", role, topic, got, want)
		}
	}
	if letsPublishersIn("audit-key") == nil {
		t.Errorf("control: the audit key must not let the alert services in")
	}
	if n := len(synth(t, "default").resourcesOfType("AWS::SNS::Subscription")); n != 0 {
		t.Errorf("default config records no-alert-subscriber, got %d subscriptions", n)
	}
	// Without securityEmails the security destination mails alertEmails (with a warning at synth).
	example := synth(t, "example")
	for _, role := range []string{"alerts-key", "security-alerts-key"} {
		topic := topicEncryptedBy(t, example, role)
		found := false
		for _, sub := range example.resourcesOfType("AWS::SNS::Subscription") {
			if ref, _ := cfntemplate.RefOf(props(sub)["TopicArn"]); ref.ID == topic && props(sub)["Endpoint"] == "alerts@example.com" {
				found = true
			}
		}
		if !found {
			t.Errorf("example: the %s topic has no alertEmails subscriber (securityEmails falls back to alertEmails)", role)
		}
	}
}

// TestEveryOutputTheToolsReadIsThereAndTheStackIsProtected: kms-manage-key, the wrapper and replay read
// these outputs (docs/outputs.md), and deleting the stack takes a deliberate second step.
func TestEveryOutputTheToolsReadIsThereAndTheStackIsProtected(t *testing.T) {
	for name := range configs {
		s := synth(t, name)
		if !*s.Stack.TerminationProtection() {
			t.Errorf("%s: termination protection is off", name)
		}
		outputs := s.JSON["Outputs"].(map[string]any)
		want := []string{"KeyArn", "KeyId", "KeyAlias", "AdminUserArn", "AlertTopicArn", "TrailArn", "AlertTopicKeyArn", "DeadLetterQueueUrl"}
		cfg := s.Stack.Config
		switch {
		case cfg.ExistingTrailArn == "":
			want = append(want, "TrailBucketName", "AuditLogGroupName", "AccessLogBucketName", "AuditKeyArn")
		case cfg.ExistingTrailLogGroup != "":
			want = append(want, "AuditLogGroupName")
		}
		for _, w := range want {
			if _, ok := outputs[w]; !ok {
				t.Errorf("%s: output %s missing", name, w)
			}
		}
		if cfg.ExistingTrailArn != "" && mustJSON(outputs["TrailArn"].(map[string]any)["Value"]) != mustJSON(cfg.ExistingTrailArn) {
			t.Errorf("%s: output TrailArn is %v, want the existing trail %s", name, outputs["TrailArn"], cfg.ExistingTrailArn)
		}
	}
}

// TestDeploysWithoutAssets guards against constructs that need uploaded code (autoDeleteObjects and
// friends): the template must deploy from itself alone.
func TestDeploysWithoutAssets(t *testing.T) {
	for name := range configs {
		s := synth(t, name)
		for id, r := range s.JSON["Resources"].(map[string]any) {
			typ := r.(map[string]any)["Type"].(string)
			if strings.HasPrefix(typ, "Custom::") || strings.HasPrefix(typ, "AWS::Lambda::") || typ == "AWS::CloudFormation::CustomResource" {
				t.Errorf("%s: %s is %s, which needs an asset", name, id, typ)
			}
		}
		if strings.Contains(string(s.Bytes), "AssetParameters") || strings.Contains(string(s.Bytes), "cdk-hnb659fds-assets") {
			t.Errorf("%s: the template refers to bootstrap assets", name)
		}
	}
}

func jsonEqual(a, b any) bool { return mustJSON(a) == mustJSON(b) }

func mustJSON(v any) string {
	b, _ := json.Marshal(normalize(v))
	return string(b)
}

// TestUndeliveredAlertsAreKept: an alert EventBridge cannot publish (a broken topic or key policy) must land
// in the dead-letter queue, which an alarm watches, instead of vanishing after the retries.
func TestUndeliveredAlertsAreKept(t *testing.T) {
	for _, name := range []string{"default", "hardened"} {
		s := synth(t, name)
		queues := s.resourcesOfType("AWS::SQS::Queue")
		if len(queues) != 2 {
			t.Fatalf("%s: want one dead-letter queue per destination, got %d", name, len(queues))
		}
		for queueID, q := range queues {
			if props(q)["SqsManagedSseEnabled"] != true || props(q)["MessageRetentionPeriod"] != 1209600.0 {
				t.Errorf("%s: queue encryption/retention: %v", name, props(q))
			}
			used := 0
			for _, r := range s.resourcesOfType("AWS::Events::Rule") {
				for _, target := range props(r)["Targets"].([]any) {
					if mustJSON(target.(map[string]any)["DeadLetterConfig"]) == mustJSON(map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{queueID, "Arn"}}}) {
						used++
					}
				}
			}
			if used == 0 {
				t.Errorf("%s: queue %s is no rule target's dead-letter queue", name, queueID)
			}
			must(t, name+" undelivered-alerts alarm of "+queueID, func() {
				s.Template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
					"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{queueID, "QueueName"}}}},
					"Threshold":  1, "TreatMissingData": "notBreaching", "ActionsEnabled": true,
				})
			})
		}
		for id, r := range s.resourcesOfType("AWS::Events::Rule") {
			for _, target := range props(r)["Targets"].([]any) {
				if target.(map[string]any)["DeadLetterConfig"] == nil {
					t.Errorf("%s: rule %s has a target without a dead-letter queue", name, id)
				}
			}
		}
	}
}

// TestExistingAdministratorIsNotCreated: with adminUserArn the stack creates no administrator (a second
// region of the same account would collide on the account-wide user name), the key policy and the alarms
// name the existing user, and the dashboard's name carries the region (dashboards are account-wide too).
func TestExistingAdministratorIsNotCreated(t *testing.T) {
	s := synth(t, "existing-admin")
	for _, u := range s.resourcesOfType("AWS::IAM::User") {
		if name := props(u)["UserName"]; name != "MDBEnc" {
			t.Errorf("the stack creates user %v; only the server user MDBEnc is expected", name)
		}
	}
	st := keyPolicyStatements(t, s)["AllowEnableDisable"]
	cond, _ := st["Condition"].(map[string]any)["ArnEquals"].(map[string]any)
	if got := cond["aws:PrincipalArn"]; got != "arn:aws:iam::111122223333:user/ops/KeyToggler" {
		t.Errorf("AllowEnableDisable lets %v enable and disable the key, want the existing administrator", got)
	}
	filters := deployedFilters(t, s)
	iam := func(eventName string) map[string]any {
		return map[string]any{"eventSource": "iam.amazonaws.com", "eventName": eventName, "readOnly": false,
			"sourceIPAddress": "198.51.100.7", "requestParameters": map[string]any{"userName": "KeyToggler"}}
	}
	for eventName, want := range map[string][]string{"DeleteUser": {"KeyPrincipalChanges", "KeyPrincipalReplaced"},
		"CreateAccessKey": {"KeyPrincipalChanges"}} {
		if got := firing(t, filters, iam(eventName)); !slices.Equal(got, want) {
			t.Errorf("%s of the existing administrator KeyToggler is counted by %v, want %v", eventName, got, want)
		}
	}
	if strings.Contains(string(s.Bytes), "MDBEncAdmin") {
		t.Errorf("the default administrator MDBEncAdmin still appears in the template")
	}
	for _, name := range []string{"existing-admin", "default"} {
		for _, d := range synth(t, name).resourcesOfType("AWS::CloudWatch::Dashboard") {
			names := map[string]bool{}
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				r := &cfntemplate.Resolver{Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: region, AccountID: fakeAccount}}
				n, _ := r.String(props(d)["DashboardName"])
				names[n] = true
			}
			if len(names) != 2 {
				t.Errorf("%s: the dashboard has the same name %v in two regions of one account", name, names)
			}
		}
	}
}
