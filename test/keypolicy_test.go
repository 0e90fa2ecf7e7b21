package test

import (
	"encoding/json"
	"path"
	"reflect"
	"strings"
	"testing"
)

// Expected key-policy pieces, written from the table in README.md, "The key policy" (not read back from a synth).
var (
	rootArn  = map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::", map[string]any{"Ref": "AWS::AccountId"}, ":root"}}}
	cryptoOp = []any{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
	toggleOp = []any{"kms:DisableKey", "kms:EnableKey"}
	useOp    = []any{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"}
	noMfa    = map[string]any{"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"}}
	// bootstrapExecRole is the CDK bootstrap's CloudFormation execution role of the stack's account and
	// region with the default qualifier (docs/aws-facts.md, "The deploy role").
	bootstrapExecRole = map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::",
		map[string]any{"Ref": "AWS::AccountId"}, ":role/cdk-hnb659fds-cfn-exec-role-", map[string]any{"Ref": "AWS::AccountId"}, "-",
		map[string]any{"Ref": "AWS::Region"}}}}
)

// principalIs is the condition that names who a statement is about: these ARNs, of this account.
func principalIs(arns any) map[string]any {
	return map[string]any{
		"ArnEquals":    map[string]any{"aws:PrincipalArn": arns},
		"StringEquals": map[string]any{"aws:PrincipalAccount": map[string]any{"Ref": "AWS::AccountId"}},
	}
}

func userArn(logicalID string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{logicalID, "Arn"}}
}

// keyPolicyStatements returns the master key's statements by Sid.
func keyPolicyStatements(t *testing.T, s *Synth) map[string]map[string]any {
	t.Helper()
	_, key := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	policy := key["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)
	out := map[string]map[string]any{}
	var order []string
	for _, st := range policy["Statement"].([]any) {
		m := st.(map[string]any)
		sid := m["Sid"].(string)
		if _, dup := out[sid]; dup {
			t.Fatalf("%s: duplicate Sid %s", s.Name, sid)
		}
		out[sid] = m
		order = append(order, sid)
	}
	return out
}

func logicalIDOfType(t *testing.T, s *Synth, typ string, match func(map[string]any) bool) string {
	t.Helper()
	var found []string
	for id, r := range s.resourcesOfType(typ) {
		if match == nil || match(r) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want one %s, found %v", s.Name, typ, found)
	}
	return found[0]
}

func userNamed(name string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["Properties"].(map[string]any)["UserName"] == name }
}

func assertStatement(t *testing.T, s *Synth, got map[string]map[string]any, sid string, want map[string]any) {
	t.Helper()
	st, ok := got[sid]
	if !ok {
		t.Errorf("%s: statement %s missing", s.Name, sid)
		return
	}
	want["Sid"] = sid
	want["Resource"] = "*"
	if !reflect.DeepEqual(normalize(st), normalize(want)) {
		g, _ := json.MarshalIndent(st, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("%s: statement %s\n got: %s\nwant: %s", s.Name, sid, g, w)
	}
}

// normalize makes expected values written with []any/[]string and map[string]any comparable to decoded JSON.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestTheKeyPolicyIsTheDocumentedTableInEveryConfiguration: each configuration's master key policy has
// exactly the statements of README.md's table, in order, each as the table writes it.
func TestTheKeyPolicyIsTheDocumentedTableInEveryConfiguration(t *testing.T) {
	type want struct {
		keyUsers    any // aws:PrincipalArn of AllowUseOfTheKey
		network     map[string]any
		requireMfa  bool
		adminMfa    bool
		adminUser   string
		sidsInOrder []string
	}
	cases := map[string]func(s *Synth) want{
		"default": func(s *Synth) want {
			return want{keyUsers: userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEnc"))), adminMfa: true, adminUser: "MDBEncAdmin",
				sidsInOrder: []string{"KeyAdministration", "AllowUseOfTheKey", "AllowEnableDisable", "DenyAdminWithoutMfa", "DenyKeyPolicyAndDeletion", "DenyShortDeletionWindow"}}
		},
		"ip-only": func(s *Synth) want {
			return want{keyUsers: userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEnc"))), adminMfa: true, adminUser: "MDBEncAdmin",
				network: map[string]any{
					"NotIpAddress": map[string]any{"aws:SourceIp": []any{"203.0.113.0/24", "198.51.100.7/32"}},
					"Bool":         map[string]any{"aws:ViaAWSService": "false"},
				},
				sidsInOrder: []string{"KeyAdministration", "AllowUseOfTheKey", "AllowEnableDisable", "DenyUseOutsideNetwork", "DenyAdminWithoutMfa", "DenyKeyPolicyAndDeletion", "DenyShortDeletionWindow"}}
		},
		"vpce-only": func(s *Synth) want {
			return want{keyUsers: userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEnc"))), adminMfa: true, adminUser: "MDBEncAdmin",
				network: map[string]any{
					"StringNotEquals": map[string]any{"aws:SourceVpce": []any{"vpce-0123456789abcdef0"}},
					"Bool":            map[string]any{"aws:ViaAWSService": "false"},
				},
				sidsInOrder: []string{"KeyAdministration", "AllowUseOfTheKey", "AllowEnableDisable", "DenyUseOutsideNetwork", "DenyAdminWithoutMfa", "DenyKeyPolicyAndDeletion", "DenyShortDeletionWindow"}}
		},
		"ip-and-vpce": func(s *Synth) want {
			return want{keyUsers: userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEnc"))), adminMfa: true, adminUser: "MDBEncAdmin",
				network: map[string]any{
					"NotIpAddress":    map[string]any{"aws:SourceIp": []any{"203.0.113.0/24"}},
					"StringNotEquals": map[string]any{"aws:SourceVpce": []any{"vpce-0123456789abcdef0", "vpce-0fedcba9876543210"}},
					"Bool":            map[string]any{"aws:ViaAWSService": "false"},
				},
				sidsInOrder: []string{"KeyAdministration", "AllowUseOfTheKey", "AllowEnableDisable", "DenyUseOutsideNetwork", "DenyAdminWithoutMfa", "DenyKeyPolicyAndDeletion", "DenyShortDeletionWindow"}}
		},
		"mfa": func(s *Synth) want {
			return want{keyUsers: userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed("MDBEnc"))), requireMfa: true, adminMfa: true, adminUser: "MDBEncAdmin",
				network: map[string]any{
					"NotIpAddress": map[string]any{"aws:SourceIp": []any{"203.0.113.0/24"}},
					"Bool":         map[string]any{"aws:ViaAWSService": "false"},
				},
				sidsInOrder: []string{"KeyAdministration", "AllowUseOfTheKey", "AllowEnableDisable", "DenyUseOutsideNetwork", "DenyUseWithoutMfa", "DenyAdminWithoutMfa", "DenyKeyPolicyAndDeletion", "DenyShortDeletionWindow"}}
		},
		"existing-users": func(s *Synth) want {
			return want{keyUsers: []any{"arn:aws:iam::111122223333:user/db/mariadb-prod", "arn:aws:iam::111122223333:role/mariadb-replica"},
				adminUser: "MDBEncAdmin",
				network: map[string]any{
					"NotIpAddress": map[string]any{"aws:SourceIp": []any{"203.0.113.0/24"}},
					"Bool":         map[string]any{"aws:ViaAWSService": "false"},
				},
				sidsInOrder: []string{"KeyAdministration", "AllowUseOfTheKey", "AllowEnableDisable", "DenyUseOutsideNetwork", "DenyKeyPolicyAndDeletion", "DenyShortDeletionWindow"}}
		},
	}
	for name, expect := range cases {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			w := expect(s)
			got := keyPolicyStatements(t, s)
			admin := userArn(logicalIDOfType(t, s, "AWS::IAM::User", userNamed(w.adminUser)))
			var sids []string
			_, key := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
			for _, st := range key["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
				sids = append(sids, st.(map[string]any)["Sid"].(string))
			}
			if !reflect.DeepEqual(sids, w.sidsInOrder) {
				t.Errorf("statements %v, want %v", sids, w.sidsInOrder)
			}
			assertStatement(t, s, got, "KeyAdministration", map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": rootArn},
				"Action": []any{"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
					"kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants",
					"kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant",
					"kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
					"kms:UpdateAlias", "kms:UpdateKeyDescription"}})
			// Users and roles are conditions on Principal "*", never principals: KMS refuses a policy naming a
			// user it cannot see yet, and users made by the same deploy are not always visible at once.
			anyone := map[string]any{"AWS": "*"}
			assertStatement(t, s, got, "AllowUseOfTheKey", map[string]any{"Effect": "Allow", "Principal": anyone, "Action": useOp,
				"Condition": principalIs(w.keyUsers)})
			assertStatement(t, s, got, "AllowEnableDisable", map[string]any{"Effect": "Allow", "Principal": anyone, "Action": toggleOp,
				"Condition": principalIs(admin)})
			if w.network != nil {
				assertStatement(t, s, got, "DenyUseOutsideNetwork", map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
					"Action": cryptoOp, "Condition": w.network})
			}
			if w.requireMfa {
				assertStatement(t, s, got, "DenyUseWithoutMfa", map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
					"Action": cryptoOp, "Condition": noMfa})
			}
			if w.adminMfa {
				cond := principalIs(admin)
				cond["BoolIfExists"] = noMfa["BoolIfExists"]
				assertStatement(t, s, got, "DenyAdminWithoutMfa", map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
					"Action": toggleOp, "Condition": cond})
			}
			// Locked changes: none of these configurations names a break-glass principal, so only the CDK
			// bootstrap's execution role of the stack's account and region may replace the policy or
			// schedule the deletion; nobody may schedule it with less than 30 days.
			assertStatement(t, s, got, "DenyKeyPolicyAndDeletion", map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
				"Action":    []any{"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"},
				"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": bootstrapExecRole}}})
			assertStatement(t, s, got, "DenyShortDeletionWindow", map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
				"Action":    "kms:ScheduleKeyDeletion",
				"Condition": map[string]any{"NumericLessThan": map[string]any{"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}}})
		})
	}
}

// TestRootHasNoCryptographicUse guards the separation of duties in every config: the account's
// administration statement must never grant, even through a wildcard, a cryptographic action, CreateGrant
// (a way to hand one out) or EnableKey (the key administrator's alone).
func TestRootHasNoCryptographicUse(t *testing.T) {
	forbidden := []string{"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
		"ReEncryptFrom", "ReEncryptTo", "CreateGrant", "EnableKey"}
	for name := range configs {
		s := synth(t, name)
		st := keyPolicyStatements(t, s)["KeyAdministration"]
		for _, a := range st["Action"].([]any) {
			glob := strings.TrimPrefix(a.(string), "kms:")
			for _, f := range forbidden {
				if ok, _ := path.Match(glob, f); ok {
					t.Errorf("%s: KeyAdministration grants %s, which covers kms:%s", name, a, f)
				}
			}
		}
	}
}
