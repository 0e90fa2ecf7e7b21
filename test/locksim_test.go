package test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The locked changes (docs/aws-facts.md, "Locked changes"), asked of the policies exactly as synthesized,
// through the same simulator as TestKeyPolicySimulation. The expected answers are written from the design:
//   - every kmsguard key: a new key policy and a deletion (and on the audit and topic keys also DisableKey
//     and CreateGrant) only for a break-glass principal with MFA and for the deploy role; no principal at
//     all may schedule a deletion with a waiting period under 30 days;
//   - every alert topic: subscriptions, attributes, permissions, the data protection policy and deletion
//     only for a break-glass principal with MFA and for the deploy role;
//   - the trail bucket: bypassing a governance-mode retention only for a break-glass principal with MFA (the
//     deploy role never deletes log files), its policy and Object Lock configuration only for them and the
//     deploy role;
//   - everyone else is refused, an administrator of the account with AdministratorAccess included, and so
//     is the account root unless it is a break-glass principal; what is not locked stays as it was.
// Every exempt principal asks with AdministratorAccess in IAM, because the locks only deny: what allows is
// the key policy's delegation to IAM (the account's statement) and the caller's own IAM policy.

// lockPrincipals are the principals of one configuration as they appear in requests: each break-glass
// principal (a role as one of its sessions) and a session of the deploy role CloudFormation assumes.
type lockPrincipals struct {
	breakGlass []string
	deploy     string
}

func lockPrincipalsOf(t *testing.T, name string) lockPrincipals {
	t.Helper()
	switch name {
	case "default": // no break-glass principal; the CDK bootstrap's execution role of the account and region
		return lockPrincipals{deploy: "arn:aws:sts::" + simAccount + ":assumed-role/cdk-hnb659fds-cfn-exec-role-" + simAccount + "-" + simRegion + "/AWSCloudFormation"}
	case "hardened": // breakGlassArns role/BreakGlass and user/security/alice; deployRoleArns role/KmsGuardDeploy
		return lockPrincipals{
			breakGlass: []string{"arn:aws:sts::" + simAccount + ":assumed-role/BreakGlass/incident-42", iamUser("security/alice")},
			deploy:     "arn:aws:sts::" + simAccount + ":assumed-role/KmsGuardDeploy/AWSCloudFormation",
		}
	}
	t.Fatalf("no lock principals for %s", name)
	return lockPrincipals{}
}

const simRoot = "arn:aws:iam::" + simAccount + ":root"

var withAdminAccess = []map[string]any{adminAccess}

// windowCtx is a ScheduleKeyDeletion request's context: KMS sets kms:ScheduleKeyDeletionPendingWindowInDays
// from the request's PendingWindowInDays.
func (c simCtx) window(days int) simCtx {
	return c.with("kms:ScheduleKeyDeletionPendingWindowInDays", fmt.Sprint(days))
}

// lockedQuestions asks, for each locked action, every kind of caller. okCtx is a context that passes every
// other restriction; withCtx adds what the action's requests carry.
func lockedQuestions(what string, p lockPrincipals, actions []string, okCtx simCtx, withCtx func(action string, c simCtx) simCtx) []simCase {
	var cases []simCase
	accountAdmin := iamUser("SecurityAdmin")
	for _, action := range actions {
		ctx := func(c simCtx) simCtx { return withCtx(action, c) }
		for _, bg := range p.breakGlass {
			cases = append(cases,
				simCase{what + ": break-glass with MFA may " + action, bg, action, ctx(okCtx.mfa()), withAdminAccess, allowed},
				simCase{what + ": break-glass with long-term keys (no MFA key) may not " + action, bg, action, ctx(okCtx), withAdminAccess, denied},
				simCase{what + ": break-glass from a session without MFA may not " + action, bg, action, ctx(okCtx.mfaFalse()), withAdminAccess, denied})
		}
		cases = append(cases,
			simCase{what + ": account admin with MFA may not " + action, accountAdmin, action, ctx(okCtx.mfa()), withAdminAccess, denied},
			simCase{what + ": account root with MFA (not break-glass) may not " + action, simRoot, action, ctx(okCtx.mfa()), nil, denied},
			simCase{what + ": a role of the account with AdministratorAccess may not " + action,
				"arn:aws:sts::" + simAccount + ":assumed-role/OrganizationAccountAccessRole/x", action, ctx(okCtx), withAdminAccess, denied})
		if p.deploy != "" {
			cases = append(cases, simCase{what + ": the deploy role (no MFA) may " + action, p.deploy, action, ctx(okCtx), withAdminAccess, allowed})
		}
	}
	return cases
}

// keyQuestions asks one key's locked actions, its deletion window, and what stays unlocked.
func keyQuestions(t *testing.T, s *Synth, role string, key map[string]any, p lockPrincipals) []simCase {
	t.Helper()
	okCtx := public(allowedIP)
	// Written from the design (README.md, "The key policy"; docs/aws-facts.md): the master key keeps
	// DisableKey for its administrator and the account's emergency stop.
	locked := []string{"kms:CreateGrant", "kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"}
	if role == "master-key" {
		locked = []string{"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"}
	}
	pending, ok := key["Properties"].(map[string]any)["PendingWindowInDays"].(float64)
	if !ok {
		t.Fatalf("%s: key %s has no PendingWindowInDays", s.Name, role)
	}
	// A locked ScheduleKeyDeletion is asked with the longest window, so that only the lock decides.
	withCtx := func(action string, c simCtx) simCtx {
		if action == "kms:ScheduleKeyDeletion" {
			return c.window(30)
		}
		return c
	}
	cases := lockedQuestions(role, p, locked, okCtx, withCtx)
	// No principal, exempt or not, may make a deletion recoverable for less than 30 days.
	exempt := append(append([]string{}, p.breakGlass...), p.deploy)
	for _, who := range exempt {
		c := okCtx
		if who != p.deploy {
			c = c.mfa()
		}
		cases = append(cases,
			simCase{role + ": " + who + " may not schedule deletion in 7 days", who, "kms:ScheduleKeyDeletion", c.window(7), withAdminAccess, denied},
			simCase{role + ": " + who + " may not schedule deletion in 29 days", who, "kms:ScheduleKeyDeletion", c.window(29), withAdminAccess, denied},
			simCase{role + ": " + who + " may schedule deletion in 30 days", who, "kms:ScheduleKeyDeletion", c.window(30), withAdminAccess, allowed})
	}
	if len(p.breakGlass) > 0 {
		cases = append(cases, simCase{role + ": break-glass without a waiting period (KMS's default, 30 days) may schedule deletion",
			p.breakGlass[0], "kms:ScheduleKeyDeletion", okCtx.mfa(), withAdminAccess, allowed})
	}
	// CloudFormation deletes a key it created when the create rolls back (RetainExceptOnCreate), with the
	// template's PendingWindowInDays: that must pass the minimum-window deny.
	cases = append(cases, simCase{role + ": CloudFormation's own deletion (PendingWindowInDays from the template)",
		p.deploy, "kms:ScheduleKeyDeletion", okCtx.window(int(pending)), withAdminAccess, allowed})
	// What is not locked stays open to the account's administrators through IAM.
	if role == "master-key" {
		cases = append(cases,
			simCase{role + ": account admin may still DisableKey (the emergency stop)", iamUser("SecurityAdmin"), "kms:DisableKey", okCtx, withAdminAccess, allowed},
			simCase{role + ": account admin may still CancelKeyDeletion", iamUser("SecurityAdmin"), "kms:CancelKeyDeletion", okCtx, withAdminAccess, allowed})
	} else {
		cases = append(cases,
			simCase{role + ": account admin may still DescribeKey", iamUser("SecurityAdmin"), "kms:DescribeKey", okCtx, withAdminAccess, allowed},
			simCase{role + ": account admin may still EnableKey", iamUser("SecurityAdmin"), "kms:EnableKey", okCtx, withAdminAccess, allowed},
			simCase{role + ": account admin may still CancelKeyDeletion", iamUser("SecurityAdmin"), "kms:CancelKeyDeletion", okCtx, withAdminAccess, allowed})
	}
	return cases
}

// topicQuestions asks one alert topic's locked actions and what stays open.
func topicQuestions(p lockPrincipals) []simCase {
	okCtx := public(allowedIP).with("aws:SecureTransport", "true")
	locked := []string{"sns:AddPermission", "sns:DeleteTopic", "sns:PutDataProtectionPolicy", "sns:RemovePermission",
		"sns:SetTopicAttributes", "sns:Subscribe"}
	cases := lockedQuestions("topic", p, locked, okCtx, func(_ string, c simCtx) simCtx { return c })
	return append(cases,
		simCase{"topic: account admin may still GetTopicAttributes", iamUser("SecurityAdmin"), "sns:GetTopicAttributes", okCtx, withAdminAccess, allowed},
		simCase{"topic: account admin may still ListSubscriptionsByTopic", iamUser("SecurityAdmin"), "sns:ListSubscriptionsByTopic", okCtx, withAdminAccess, allowed},
		simCase{"topic: account admin may still Publish (a test alert)", iamUser("SecurityAdmin"), "sns:Publish", okCtx, withAdminAccess, allowed})
}

// bucketQuestions asks the trail bucket's locks: on its objects (the governance bypass, break-glass only)
// and on the bucket (its policy and Object Lock configuration, break-glass and the deploy role).
func bucketQuestions(p lockPrincipals) (objects, bucket []simCase) {
	okCtx := public(allowedIP).with("aws:SecureTransport", "true")
	same := func(_ string, c simCtx) simCtx { return c }
	objects = lockedQuestions("trail log file", lockPrincipals{breakGlass: p.breakGlass}, []string{"s3:BypassGovernanceRetention"}, okCtx, same)
	objects = append(objects,
		simCase{"trail log file: the deploy role may not bypass governance retention", p.deploy, "s3:BypassGovernanceRetention", okCtx, withAdminAccess, denied},
		simCase{"trail log file: account admin may still GetObject (auditors read the logs)", iamUser("SecurityAdmin"), "s3:GetObject", okCtx, withAdminAccess, allowed})
	bucket = lockedQuestions("trail bucket", p, []string{"s3:DeleteBucketPolicy", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy"}, okCtx, same)
	bucket = append(bucket,
		simCase{"trail bucket: account admin may still GetBucketPolicy", iamUser("SecurityAdmin"), "s3:GetBucketPolicy", okCtx, withAdminAccess, allowed},
		simCase{"trail bucket: account admin may still GetBucketObjectLockConfiguration", iamUser("SecurityAdmin"), "s3:GetBucketObjectLockConfiguration", okCtx, withAdminAccess, allowed})
	// The bucket owner's root user may always change the bucket policy, whatever it denies (docs/aws-facts.md),
	// which no simulator models: the root's questions about the bucket policy are left out, not answered wrong.
	bucket = slices.DeleteFunc(bucket, func(c simCase) bool { return c.principal == simRoot })
	return objects, bucket
}

// lockTargets are the resources a configuration's locks are on, with their resolved policies.
type lockTarget struct {
	what, arn string
	policy    any
	cases     []simCase
}

func lockTargets(t *testing.T, s *Synth, p lockPrincipals) []lockTarget {
	t.Helper()
	var out []lockTarget
	res := simResolver(s)
	for _, id := range s.Tpl.OfType("AWS::KMS::Key") {
		key := s.resourcesOfType("AWS::KMS::Key")[id]
		role, _ := key["Metadata"].(map[string]any)["kmsguard:role"].(string)
		if role == "" {
			t.Fatalf("%s: key %s has no kmsguard:role", s.Name, id)
		}
		arn := "arn:aws:kms:" + simRegion + ":" + simAccount + ":key/" + strings.ToLower(id)
		out = append(out, lockTarget{role, arn, resolvedPolicy(t, s, id+"'s key policy", key["Properties"].(map[string]any)["KeyPolicy"]),
			keyQuestions(t, s, role, key, p)})
	}
	for _, id := range s.Tpl.OfType("AWS::SNS::TopicPolicy") {
		props := s.resourcesOfType("AWS::SNS::TopicPolicy")[id]["Properties"].(map[string]any)
		topics, _ := props["Topics"].([]any)
		if len(topics) != 1 {
			t.Fatalf("%s: topic policy %s covers %d topics (SNS: one policy per topic)", s.Name, id, len(topics))
		}
		arn, unresolved := res.String(topics[0])
		if len(unresolved) > 0 {
			t.Fatalf("%s: topic of %s: %v", s.Name, id, unresolved)
		}
		out = append(out, lockTarget{"topic " + id, arn, resolvedPolicy(t, s, id, props["PolicyDocument"]), topicQuestions(p)})
	}
	trail := ""
	for id, b := range s.resourcesOfType("AWS::S3::Bucket") {
		if props(b)["ObjectLockEnabled"] == true {
			trail = id
		}
	}
	for _, id := range s.Tpl.OfType("AWS::S3::BucketPolicy") {
		bp := s.resourcesOfType("AWS::S3::BucketPolicy")[id]
		if logicalRef(props(bp)["Bucket"]) != trail {
			continue
		}
		name := res.Values[trail]
		policy := resolvedPolicy(t, s, id, props(bp)["PolicyDocument"])
		objects, bucket := bucketQuestions(p)
		out = append(out,
			lockTarget{"trail log files", "arn:aws:s3:::" + name + "/AWSLogs/" + simAccount + "/CloudTrail/" + simRegion + "/2025/01/01/log.json.gz", policy, objects},
			lockTarget{"trail bucket", "arn:aws:s3:::" + name, policy, bucket})
	}
	return out
}

// TestLockedChangesSimulation asks every lock of every kmsguard key, topic and trail bucket, with and
// without break-glass principals (hardened, default).
func TestLockedChangesSimulation(t *testing.T) {
	for _, name := range []string{"default", "hardened"} {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			targets := lockTargets(t, s, lockPrincipalsOf(t, name))
			var kinds []string
			for _, tg := range targets {
				kinds = append(kinds, tg.what)
			}
			// The master key, the audit key, every topic key, every topic, the trail bucket and its objects.
			for _, want := range []string{"master-key", "audit-key", "alerts-key", "trail bucket", "trail log files"} {
				if !slices.Contains(kinds, want) {
					t.Fatalf("no %s among the locked resources %v", want, kinds)
				}
			}
			if n := len(s.resourcesOfType("AWS::SNS::Topic")); n == 0 || len(s.resourcesOfType("AWS::SNS::TopicPolicy")) != n {
				t.Fatalf("every topic must have its (locked) topic policy")
			}
			for _, tg := range targets {
				res := simulateOn(t, tg.arn, tg.policy, tg.cases)
				for i, c := range tg.cases {
					if r := res[i]; r.Result == "Error" {
						t.Errorf("%s: the simulator rejected the request: %s", c.name, r.Errors)
					} else if r.Result != c.want {
						t.Errorf("%s: %s %s on %s with %v: got %s, the design says %s", c.name, c.principal, c.action, tg.arn,
							map[string]any(c.ctx), r.Result, c.want)
					}
				}
			}
		})
	}
}

// TestLockSimulationCatchesWeakPolicies is the control: each lock, weakened by hand in a copy of the
// hardened template's policies, must change the simulator's answer, or a green TestLockedChangesSimulation
// would prove nothing.
func TestLockSimulationCatchesWeakPolicies(t *testing.T) {
	s := synth(t, "hardened")
	p := lockPrincipalsOf(t, "hardened")
	targets := map[string]lockTarget{}
	for _, tg := range lockTargets(t, s, p) {
		if !strings.HasPrefix(tg.what, "topic ") {
			targets[tg.what] = tg
		} else {
			targets["topic"] = tg
		}
	}
	weaken := func(what, drop string, mutate func(st map[string]any)) (string, any) {
		tg := targets[what]
		policy := normalize(tg.policy).(map[string]any) // a fresh copy
		var kept []any
		found := false
		for _, st := range policy["Statement"].([]any) {
			m := st.(map[string]any)
			if m["Sid"] == drop {
				found = true
				continue
			}
			if mutate != nil {
				mutate(m)
			}
			kept = append(kept, m)
		}
		if drop != "" && !found {
			t.Fatalf("%s has no statement %s", what, drop)
		}
		policy["Statement"] = kept
		return tg.arn, policy
	}
	boolNotIfExists := func(st map[string]any) {
		if c, ok := st["Condition"].(map[string]any); ok && c["BoolIfExists"] != nil && strings.HasSuffix(st["Sid"].(string), "WithoutMfa") {
			c["Bool"] = c["BoolIfExists"]
			delete(c, "BoolIfExists")
		}
	}
	bg, adminUser := p.breakGlass[0], iamUser("SecurityAdmin")
	ok := public(allowedIP)
	tls := ok.with("aws:SecureTransport", "true")
	for _, tc := range []struct {
		what, drop string
		mutate     func(map[string]any)
		c          simCase
	}{
		{"alerts-key", "DenyKeyChanges", nil, simCase{"account admin disables the topic key", adminUser, "kms:DisableKey", ok.mfa(), withAdminAccess, allowed}},
		{"alerts-key", "DenyKeyChangesWithoutMfa", nil, simCase{"break-glass without MFA disables the topic key", bg, "kms:DisableKey", ok, withAdminAccess, allowed}},
		{"audit-key", "DenyKeyChanges", nil, simCase{"account admin grants itself the audit key", adminUser, "kms:CreateGrant", ok.mfa(), withAdminAccess, allowed}},
		{"master-key", "DenyKeyPolicyAndDeletion", nil, simCase{"account admin replaces the master key's policy", adminUser, "kms:PutKeyPolicy", ok.mfa(), withAdminAccess, allowed}},
		{"master-key", "DenyShortDeletionWindow", nil, simCase{"break-glass deletes the master key in 7 days", bg, "kms:ScheduleKeyDeletion", ok.mfa().window(7), withAdminAccess, allowed}},
		{"alerts-key", "", boolNotIfExists, simCase{"Bool instead of BoolIfExists: break-glass with long-term keys", bg, "kms:PutKeyPolicy", ok, withAdminAccess, allowed}},
		{"topic", "DenyTopicChanges", nil, simCase{"account admin subscribes to the topic", adminUser, "sns:Subscribe", tls.mfa(), withAdminAccess, allowed}},
		{"topic", "DenyTopicChangesWithoutMfa", nil, simCase{"break-glass without MFA changes the topic's attributes", bg, "sns:SetTopicAttributes", tls, withAdminAccess, allowed}},
		{"trail log files", "DenyGovernanceBypass", nil, simCase{"account admin bypasses governance retention", adminUser, "s3:BypassGovernanceRetention", tls.mfa(), withAdminAccess, allowed}},
		{"trail bucket", "DenyPolicyAndLockChanges", nil, simCase{"account admin deletes the trail bucket's policy", adminUser, "s3:DeleteBucketPolicy", tls.mfa(), withAdminAccess, allowed}},
	} {
		arn, policy := weaken(tc.what, tc.drop, tc.mutate)
		if res := simulateOn(t, arn, policy, []simCase{tc.c}); res[0].Result != tc.c.want {
			t.Errorf("%s without %s: %s: got %s, want %s (the simulator must see the weakness)", tc.what, tc.drop, tc.c.name, res[0].Result, tc.c.want)
		}
	}
}

// TestEveryKeyWaitsThirtyDaysBeforeDeletion: CloudFormation deletes a key it created when the create rolls
// back (RetainExceptOnCreate) with the template's PendingWindowInDays, which the minimum-window deny would
// refuse under 30 (TestLockedChangesSimulation asks that deletion as the deploy role).
func TestEveryKeyWaitsThirtyDaysBeforeDeletion(t *testing.T) {
	for name := range configs {
		s := synth(t, name)
		if problems := deletionWindowProblems(s.resourcesOfType("AWS::KMS::Key")); len(problems) > 0 {
			t.Errorf("%s: %v", name, problems)
		}
	}
	// Control: a key with a 7-day window, or none, is reported.
	keys := normalize(synth(t, "default").resourcesOfType("AWS::KMS::Key")).(map[string]any)
	var ids []string
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	keys[ids[0]].(map[string]any)["Properties"].(map[string]any)["PendingWindowInDays"] = 7.0
	delete(keys[ids[1]].(map[string]any)["Properties"].(map[string]any), "PendingWindowInDays")
	typed := map[string]map[string]any{}
	for id, k := range keys {
		typed[id] = k.(map[string]any)
	}
	if problems := deletionWindowProblems(typed); len(problems) != 2 {
		t.Errorf("control: want the 7-day and the missing window reported, got %v", problems)
	}
}

func deletionWindowProblems(keys map[string]map[string]any) []string {
	var out []string
	for id, k := range keys {
		if w, _ := props(k)["PendingWindowInDays"].(float64); w != 30 {
			b, _ := json.Marshal(props(k)["PendingWindowInDays"])
			out = append(out, fmt.Sprintf("key %s: PendingWindowInDays %s, want 30", id, b))
		}
	}
	slices.Sort(out)
	return out
}

// TestObjectLockModeFollowsConfig: objectLockMode sets the trail bucket's default retention mode, for
// logRetentionDays (default: GOVERNANCE, 365 days; hardened: COMPLIANCE, 731 days).
func TestObjectLockModeFollowsConfig(t *testing.T) {
	for name, want := range map[string]map[string]any{
		"default":  {"Mode": "GOVERNANCE", "Days": 365},
		"hardened": {"Mode": "COMPLIANCE", "Days": 731},
	} {
		var got []any
		for _, b := range synth(t, name).resourcesOfType("AWS::S3::Bucket") {
			if lock, ok := props(b)["ObjectLockConfiguration"].(map[string]any); ok {
				got = append(got, lock["Rule"].(map[string]any)["DefaultRetention"])
			}
		}
		if len(got) != 1 || !jsonEqual(got[0], want) {
			t.Errorf("%s: trail bucket default retention %v, want %v", name, got, want)
		}
	}
}

// TestAccountRootAsBreakGlassIsExemptOnlyWithMfa: longest-names names the account root among its break-glass
// principals. With its MFA sign-in no lock may deny it; the simulator's known limit with the literal root
// (docs/checks.md: it answers ImplicitlyDenied for what a key policy grants the root) leaves "not explicitly
// denied" as the answer it can give. Without MFA every lock denies it, which shows the Deny does reach the
// root; in hardened, where the root is not break-glass, the first two answers are denials (checked as the
// control).
func TestAccountRootAsBreakGlassIsExemptOnlyWithMfa(t *testing.T) {
	ok := public(allowedIP)
	cases := []simCase{ // want: denied, or "" for "anything but denied"
		{"root with MFA replaces the key policy", simRoot, "kms:PutKeyPolicy", ok.mfa(), nil, ""},
		{"root with MFA schedules deletion in 30 days", simRoot, "kms:ScheduleKeyDeletion", ok.mfa().window(30), nil, ""},
		{"root without MFA replaces the key policy", simRoot, "kms:PutKeyPolicy", ok, nil, denied},
		{"root with MFA schedules deletion in 7 days", simRoot, "kms:ScheduleKeyDeletion", ok.mfa().window(7), nil, denied},
	}
	res := simulate(t, masterKeyPolicy(t, synth(t, "longest-names")), cases)
	for i, c := range cases {
		if got := res[i].Result; got == "Error" || (c.want == denied) != (got == denied) {
			t.Errorf("%s: got %s %s, want %q (\"\" is anything but %s)", c.name, got, res[i].Errors, c.want, denied)
		}
	}
	control := simulate(t, masterKeyPolicy(t, synth(t, "hardened")), cases[:2])
	for i, r := range control {
		if r.Result != denied {
			t.Errorf("control: %s where the root is not break-glass: got %s, want %s", cases[i].name, r.Result, denied)
		}
	}
}
