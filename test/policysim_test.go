package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
)

// The key-policy semantics test: the master key's policy, exactly as synthesized (intrinsics resolved for
// one account), is evaluated by @cloud-copilot/iam-simulate (test/policysim/simulate.mjs, AGPL, test-only)
// against real questions. The expected answers below are written from README.md ("The key policy": the
// table and "Why it is written this way") and from how KMS evaluates key policies (docs/aws-facts.md),
// never copied from the simulator:
//   - a principal named in the key policy needs no identity policy;
//   - the account root in the key policy delegates the listed actions to IAM: an IAM principal of the
//     account gets them only with an identity policy that grants them, and never gets an action the
//     key policy's root statement does not list (no crypto use, no EnableKey, no CreateGrant);
//   - an explicit Deny wins over every Allow;
//   - negated condition operators (NotIpAddress, StringNotEquals) match when the key is absent, and
//     BoolIfExists "false" matches when aws:MultiFactorAuthPresent is absent (long-term access keys).
// Results: "Allowed", "ExplicitlyDenied" (a Deny statement matched), "ImplicitlyDenied" (no Allow).

const (
	simAccount = "111122223333"
	simRegion  = "us-east-1"
	simKeyArn  = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

	allowedIP   = "203.0.113.5"       // in 203.0.113.0/24, allowed by ip-only, ip-and-vpce, mfa, existing-users, hardened
	allowedIPv6 = "2001:db8:1234::10" // in 2001:db8:1234::/48 (hardened)
	otherIP     = "192.0.2.44"
	allowedVpce = "vpce-0123456789abcdef0"
	otherVpce   = "vpce-0aaaaaaaaaaaaaaaa"
)

const (
	allowed  = "Allowed"
	denied   = "ExplicitlyDenied"
	noAllow  = "ImplicitlyDenied"
	anyValue = ""
)

// simCtx builds a request context. AWS sets aws:ViaAWSService on every request; aws:SourceIp only on calls
// to the public endpoint, aws:SourceVpce only on calls through an interface endpoint; an MFA session has
// aws:MultiFactorAuthPresent "true", long-term access keys have no such key at all.
type simCtx map[string]any

func public(ip string) simCtx { return simCtx{"aws:ViaAWSService": "false", "aws:SourceIp": ip} }
func endpoint(vpce string) simCtx {
	return simCtx{"aws:ViaAWSService": "false", "aws:SourceVpce": vpce}
}
func (c simCtx) mfa() simCtx      { return c.with("aws:MultiFactorAuthPresent", "true") }
func (c simCtx) mfaFalse() simCtx { return c.with("aws:MultiFactorAuthPresent", "false") }

// withPrincipal adds what AWS puts in every signed request about the caller: aws:PrincipalArn (for a role
// session, the role's ARN) and aws:PrincipalAccount (docs/aws-facts.md). The simulator's strict mode only
// knows the keys it is given.
func (c simCtx) withPrincipal(principal string) simCtx {
	parts := strings.SplitN(principal, ":", 6)
	if len(parts) != 6 {
		return c
	}
	arn := principal
	if parts[2] == "sts" && strings.HasPrefix(parts[5], "assumed-role/") {
		role := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
		arn = "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
	}
	return c.with("aws:PrincipalArn", arn).with("aws:PrincipalAccount", parts[4])
}

func (c simCtx) with(k string, v any) simCtx {
	out := simCtx{}
	for kk, vv := range c {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// Identity policies for callers that the key policy does not name.
var (
	adminAccess = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}}
	kmsAll      = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}}
)

type simCase struct {
	name      string
	principal string
	action    string
	ctx       simCtx
	identity  []map[string]any
	want      string
}

func iamUser(name string) string { return "arn:aws:iam::" + simAccount + ":user/" + name }

// commonCases are the questions whose answers do not depend on the network or MFA settings: the request
// context given passes every restriction the configuration has (allowed address, MFA session), so the only
// thing that decides is who is asking. admin is the enable/disable user's ARN; okCtx passes the network
// and MFA restrictions of the configuration.
func commonCases(admin string, okCtx simCtx) []simCase {
	accountAdmin := iamUser("SecurityAdmin") // an IAM principal of the account with AdministratorAccess
	unrelated := iamUser("reporting-app")    // an IAM principal of the account with kms:* on *
	outsider := "arn:aws:iam::444455556666:user/intruder"
	return []simCase{
		// Separation of duties: the key administrator toggles the key and can never use it.
		{"admin may not Decrypt", admin, "kms:Decrypt", okCtx.mfa(), nil, noAllow},
		{"admin may not Decrypt even with kms:* in IAM", admin, "kms:Decrypt", okCtx.mfa(), []map[string]any{kmsAll}, noAllow},
		{"admin may not GenerateDataKeyWithoutPlaintext", admin, "kms:GenerateDataKeyWithoutPlaintext", okCtx.mfa(), nil, noAllow},
		{"admin may not ScheduleKeyDeletion (locked)", admin, "kms:ScheduleKeyDeletion", okCtx.mfa(), nil, denied},
		{"admin may DisableKey with MFA", admin, "kms:DisableKey", okCtx.mfa(), nil, allowed},
		{"admin may EnableKey with MFA", admin, "kms:EnableKey", okCtx.mfa(), nil, allowed},
		// Administration stays possible through IAM (the root statement delegates to IAM policies), except
		// the locked changes: a new key policy and a deletion are left to the break-glass principals and the
		// deploy role (TestLockedChangesSimulation asks them).
		{"account admin may not ScheduleKeyDeletion (locked)", accountAdmin, "kms:ScheduleKeyDeletion", okCtx, []map[string]any{adminAccess}, denied},
		{"account admin may CancelKeyDeletion", accountAdmin, "kms:CancelKeyDeletion", okCtx, []map[string]any{adminAccess}, allowed},
		{"account admin may not PutKeyPolicy (locked)", accountAdmin, "kms:PutKeyPolicy", okCtx, []map[string]any{adminAccess}, denied},
		{"account admin may DisableKey (emergency stop)", accountAdmin, "kms:DisableKey", okCtx, []map[string]any{adminAccess}, allowed},
		{"account admin may not EnableKey (left to the key administrator)", accountAdmin, "kms:EnableKey", okCtx, []map[string]any{adminAccess}, noAllow},
		{"account admin may not Decrypt", accountAdmin, "kms:Decrypt", okCtx.mfa(), []map[string]any{adminAccess}, noAllow},
		{"account admin may not CreateGrant (a grant hands out Decrypt)", accountAdmin, "kms:CreateGrant", okCtx.mfa(), []map[string]any{adminAccess}, noAllow},
		{"account principal without identity policy may not ScheduleKeyDeletion", accountAdmin, "kms:ScheduleKeyDeletion", okCtx, nil, denied},
		// Anyone else, even with kms:* in IAM, cannot use the key.
		{"unrelated account principal with kms:* may not Decrypt", unrelated, "kms:Decrypt", okCtx.mfa(), []map[string]any{kmsAll}, noAllow},
		{"unrelated account principal with kms:* may not GenerateDataKeyWithoutPlaintext", unrelated, "kms:GenerateDataKeyWithoutPlaintext", okCtx.mfa(), []map[string]any{kmsAll}, noAllow},
		{"unrelated account principal with kms:* may not Encrypt", unrelated, "kms:Encrypt", okCtx.mfa(), []map[string]any{kmsAll}, noAllow},
		{"principal of another account with kms:* may not Decrypt", outsider, "kms:Decrypt", okCtx.mfa(), []map[string]any{kmsAll}, noAllow},
		// The key users and the admin are matched by aws:PrincipalArn; the same name in another account is
		// someone else (aws:PrincipalAccount and the account in the ARN both differ).
		{"another account's user named like the admin may not EnableKey", "arn:aws:iam::444455556666:user/" + admin[strings.LastIndex(admin, "/")+1:], "kms:EnableKey", okCtx.mfa(), []map[string]any{kmsAll}, noAllow},
	}
}

// serverCases are the server user's questions that hold in every configuration: it gets exactly the two
// calls of the MariaDB plugin (and DescribeKey), nothing else.
func serverCases(server string, okCtx simCtx) []simCase {
	return []simCase{
		{"server may Decrypt", server, "kms:Decrypt", okCtx, nil, allowed},
		{"server may GenerateDataKeyWithoutPlaintext", server, "kms:GenerateDataKeyWithoutPlaintext", okCtx, nil, allowed},
		{"server may not Encrypt", server, "kms:Encrypt", okCtx, nil, noAllow},
		{"server may not GenerateDataKey (with plaintext)", server, "kms:GenerateDataKey", okCtx, nil, noAllow},
		{"server may not ReEncryptFrom", server, "kms:ReEncryptFrom", okCtx, nil, noAllow},
		{"server may not CreateGrant", server, "kms:CreateGrant", okCtx, nil, noAllow},
		{"server may not DisableKey", server, "kms:DisableKey", okCtx, nil, noAllow},
		{"server may not ScheduleKeyDeletion (locked)", server, "kms:ScheduleKeyDeletion", okCtx, nil, denied},
	}
}

// adminMfaCases: without an MFA session the key administrator is refused when adminRequireMfa is on.
func adminMfaCases(admin string, required bool) []simCase {
	want := allowed
	if required {
		want = denied
	}
	return []simCase{
		{"admin DisableKey with long-term keys (no MFA key)", admin, "kms:DisableKey", public(allowedIP), nil, want},
		{"admin EnableKey with long-term keys (no MFA key)", admin, "kms:EnableKey", public(allowedIP), nil, want},
		{"admin EnableKey from a session without MFA", admin, "kms:EnableKey", public(allowedIP).mfaFalse(), nil, want},
	}
}

func simCasesFor(name string) []simCase {
	mdbEnc, mdbAdmin := iamUser("MDBEnc"), iamUser("MDBEncAdmin")
	var cases []simCase
	add := func(cs ...simCase) { cases = append(cases, cs...) }
	switch name {
	case "default": // no network restriction, no MFA for the server, MFA for the admin
		add(commonCases(mdbAdmin, public(otherIP))...)
		add(serverCases(mdbEnc, public(otherIP))...)
		add(adminMfaCases(mdbAdmin, true)...)
		add(simCase{"server may Decrypt from any address (no network restriction configured)", mdbEnc, "kms:Decrypt", public(otherIP), nil, allowed},
			simCase{"server may Decrypt through any endpoint", mdbEnc, "kms:Decrypt", endpoint(otherVpce), nil, allowed})
	case "ip-only": // 203.0.113.0/24, 198.51.100.7/32
		add(commonCases(mdbAdmin, public(allowedIP))...)
		add(serverCases(mdbEnc, public(allowedIP))...)
		add(adminMfaCases(mdbAdmin, true)...)
		add(simCase{"server may Decrypt from the allowed /32", mdbEnc, "kms:Decrypt", public("198.51.100.7"), nil, allowed},
			simCase{"server may not Decrypt from the /32's neighbour", mdbEnc, "kms:Decrypt", public("198.51.100.8"), nil, denied},
			simCase{"server may not Decrypt from another address", mdbEnc, "kms:Decrypt", public(otherIP), nil, denied},
			simCase{"server may not GenerateDataKeyWithoutPlaintext from another address", mdbEnc, "kms:GenerateDataKeyWithoutPlaintext", public(otherIP), nil, denied},
			// No endpoint is allowed: a call through any endpoint has no aws:SourceIp, NotIpAddress matches.
			simCase{"server may not Decrypt through a VPC endpoint", mdbEnc, "kms:Decrypt", endpoint(allowedVpce), nil, denied},
			simCase{"server may DescribeKey from another address (metadata, not network-restricted)", mdbEnc, "kms:DescribeKey", public(otherIP), nil, allowed},
			// Calls an AWS service makes on the principal's behalf carry the service's address.
			simCase{"server via an AWS service from a service address", mdbEnc, "kms:Decrypt", public(otherIP).with("aws:ViaAWSService", "true"), nil, allowed},
			simCase{"account admin may not Decrypt from another address either", iamUser("SecurityAdmin"), "kms:Decrypt", public(otherIP), []map[string]any{adminAccess}, denied})
	case "vpce-only": // vpce-0123456789abcdef0
		add(commonCases(mdbAdmin, endpoint(allowedVpce))...)
		add(serverCases(mdbEnc, endpoint(allowedVpce))...)
		add(adminMfaCases(mdbAdmin, true)...)
		add(simCase{"server may not Decrypt through another VPC endpoint", mdbEnc, "kms:Decrypt", endpoint(otherVpce), nil, denied},
			simCase{"server may not Decrypt over the internet (any address)", mdbEnc, "kms:Decrypt", public(allowedIP), nil, denied},
			simCase{"server may not GenerateDataKeyWithoutPlaintext over the internet", mdbEnc, "kms:GenerateDataKeyWithoutPlaintext", public(otherIP), nil, denied})
	case "ip-and-vpce": // 203.0.113.0/24; two endpoints
		add(commonCases(mdbAdmin, public(allowedIP))...)
		add(serverCases(mdbEnc, public(allowedIP))...)
		add(serverCases(mdbEnc, endpoint("vpce-0fedcba9876543210"))...)
		add(adminMfaCases(mdbAdmin, true)...)
		add(simCase{"server may Decrypt through the first allowed endpoint", mdbEnc, "kms:Decrypt", endpoint(allowedVpce), nil, allowed},
			simCase{"server may not Decrypt through another VPC endpoint", mdbEnc, "kms:Decrypt", endpoint(otherVpce), nil, denied},
			simCase{"server may not Decrypt from another address", mdbEnc, "kms:Decrypt", public(otherIP), nil, denied})
	case "mfa": // 203.0.113.0/24, requireMfa
		add(commonCases(mdbAdmin, public(allowedIP).mfa())...)
		add(serverCases(mdbEnc, public(allowedIP).mfa())...)
		add(adminMfaCases(mdbAdmin, true)...)
		add(simCase{"server may not Decrypt with long-term keys (no MFA key)", mdbEnc, "kms:Decrypt", public(allowedIP), nil, denied},
			simCase{"server may not Decrypt from a session without MFA", mdbEnc, "kms:Decrypt", public(allowedIP).mfaFalse(), nil, denied},
			simCase{"server may not GenerateDataKeyWithoutPlaintext without MFA", mdbEnc, "kms:GenerateDataKeyWithoutPlaintext", public(allowedIP), nil, denied},
			simCase{"server may not Decrypt with MFA from another address", mdbEnc, "kms:Decrypt", public(otherIP).mfa(), nil, denied},
			simCase{"server may DescribeKey without MFA (not a crypto action)", mdbEnc, "kms:DescribeKey", public(allowedIP), nil, allowed})
	case "existing-users": // user db/mariadb-prod and role mariadb-replica; adminRequireMfa=false; 203.0.113.0/24
		prod := iamUser("db/mariadb-prod")
		replica := "arn:aws:sts::" + simAccount + ":assumed-role/mariadb-replica/replica-1"
		add(commonCases(mdbAdmin, public(allowedIP))...)
		add(serverCases(prod, public(allowedIP))...)
		add(serverCases(replica, public(allowedIP))...)
		add(adminMfaCases(mdbAdmin, false)...)
		add(simCase{"MDBEnc is not created and not a key user", mdbEnc, "kms:Decrypt", public(allowedIP), nil, noAllow},
			simCase{"named user may not Decrypt from another address", prod, "kms:Decrypt", public(otherIP), nil, denied},
			simCase{"role session may not Decrypt from another address", replica, "kms:Decrypt", public(otherIP), nil, denied},
			simCase{"another session of another role may not Decrypt", "arn:aws:sts::" + simAccount + ":assumed-role/mariadb-replica-2/x", "kms:Decrypt", public(allowedIP), nil, noAllow})
	case "hardened": // user mariadb-prod, admin KeyToggler, 203.0.113.0/24 + 2001:db8:1234::/48, one endpoint, requireMfa
		prod, toggler := iamUser("mariadb-prod"), iamUser("KeyToggler")
		add(commonCases(toggler, public(allowedIP).mfa())...)
		add(serverCases(prod, public(allowedIP).mfa())...)
		add(serverCases(prod, endpoint(allowedVpce).mfa())...)
		add(adminMfaCases(toggler, true)...)
		add(simCase{"server may Decrypt from the allowed IPv6 range with MFA", prod, "kms:Decrypt", public(allowedIPv6).mfa(), nil, allowed},
			simCase{"server may not Decrypt from another IPv6 address", prod, "kms:Decrypt", public("2001:db8:9999::1").mfa(), nil, denied},
			simCase{"server may not Decrypt through the allowed endpoint without MFA", prod, "kms:Decrypt", endpoint(allowedVpce), nil, denied},
			simCase{"server may not Decrypt through another endpoint with MFA", prod, "kms:Decrypt", endpoint(otherVpce).mfa(), nil, denied},
			simCase{"server may not Decrypt from another address with MFA", prod, "kms:Decrypt", public(otherIP).mfa(), nil, denied},
			simCase{"MDBEncAdmin is not the admin here", mdbAdmin, "kms:EnableKey", public(allowedIP).mfa(), nil, noAllow},
			simCase{"MDBEnc is not a key user here", mdbEnc, "kms:Decrypt", public(allowedIP).mfa(), nil, noAllow})
	}
	return cases
}

type simResult struct {
	Name   string          `json:"name"`
	Result string          `json:"result"`
	Errors json.RawMessage `json:"errors"`
}

// simulate runs test/policysim/simulate.mjs with the pinned Node on the given key policy and requests.
func simulate(t *testing.T, keyPolicy any, cases []simCase) []simResult {
	t.Helper()
	var res []simResult
	runSimulate(t, map[string]any{"keyPolicy": keyPolicy}, cases, &res)
	if len(res) != len(cases) {
		t.Fatalf("simulate.mjs answered %d of %d requests", len(res), len(cases))
	}
	return res
}

// lockedChangesStatements are the key policy statements of the locked changes (README.md, "Locked changes").
var lockedChangesStatements = map[string]bool{
	"DenyKeyPolicyAndDeletion": true, "DenyKeyPolicyAndDeletionWithoutMfa": true, "DenyShortDeletionWindow": true,
}

// simulateEach asks every request of each key policy, in one Node process.
func simulateEach(t *testing.T, keyPolicies []any, cases []simCase) [][]simResult {
	t.Helper()
	var res [][]simResult
	runSimulate(t, map[string]any{"keyPolicies": keyPolicies}, cases, &res)
	if len(res) != len(keyPolicies) {
		t.Fatalf("simulate.mjs answered for %d of %d policies", len(res), len(keyPolicies))
	}
	for i := range res {
		if len(res[i]) != len(cases) {
			t.Fatalf("simulate.mjs answered %d of %d requests for policy %d", len(res[i]), len(cases), i)
		}
	}
	return res
}

// simulateOn asks the requests about one resource (a key, a topic, a bucket or an object) whose resource
// policy is policy.
func simulateOn(t *testing.T, resourceArn string, policy any, cases []simCase) []simResult {
	t.Helper()
	var res []simResult
	runSimulate(t, map[string]any{"resourceArn": resourceArn, "resourcePolicy": policy}, cases, &res)
	if len(res) != len(cases) {
		t.Fatalf("simulate.mjs answered %d of %d requests", len(res), len(cases))
	}
	return res
}

func runSimulate(t *testing.T, in map[string]any, cases []simCase, out any) {
	t.Helper()
	node, err := filepath.Abs(filepath.Join("..", "node_modules", ".bin", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("..", "node_modules", "@cloud-copilot", "iam-simulate", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("@cloud-copilot/iam-simulate is not installed (run make setup): %v", err)
		}
		t.Skipf("@cloud-copilot/iam-simulate is not installed (run make setup); CI=true makes this a failure")
	}
	type request struct {
		Name             string           `json:"name"`
		Principal        string           `json:"principal"`
		Action           string           `json:"action"`
		Context          simCtx           `json:"context"`
		IdentityPolicies []map[string]any `json:"identityPolicies"`
	}
	in["accountId"] = simAccount
	if _, ok := in["resourceArn"]; !ok {
		in["keyArn"] = simKeyArn
	}
	var reqs []request
	for _, c := range cases {
		reqs = append(reqs, request{c.name, c.principal, c.action, c.ctx.withPrincipal(c.principal), c.identity})
	}
	in["requests"] = reqs
	raw, _ := json.Marshal(in)
	cmd := exec.Command(node, filepath.Join("policysim", "simulate.mjs"))
	cmd.Stdin = bytes.NewReader(raw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("simulate.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("simulate.mjs output: %v\n%s", err, stdout)
	}
}

// masterKeyPolicy is the master key's policy (a fresh copy) with the CloudFormation intrinsics replaced by
// the values they have in one account (simResolver). Anything else fails the test rather than being guessed.
func masterKeyPolicy(t *testing.T, s *Synth) any {
	t.Helper()
	_, key := s.resourceWithMetadata(t, "kmsguard:role", "master-key")
	return resolvedPolicy(t, s, "the master key's policy", key["Properties"].(map[string]any)["KeyPolicy"])
}

// simResolver gives a template's references the values they have in the simulation's account: partition,
// account and region pseudo parameters, Fn::GetAtt of an IAM user's Arn (from its UserName and Path), and
// fixed stand-ins for what CloudFormation names at deploy time: a topic's ARN (Ref of the topic) and a
// bucket's name and ARN. Fn::Join and the other functions are evaluated by cfntemplate.
func simResolver(s *Synth) cfntemplate.Resolver {
	stack := s.Stack.Config.StackName
	res := cfntemplate.Resolver{Pseudo: cfntemplate.Pseudo{Partition: "aws", Region: simRegion, AccountID: simAccount, StackName: stack,
		StackID: "arn:aws:cloudformation:" + simRegion + ":" + simAccount + ":stack/" + stack + "/11112222-3333-4444-5555-666677778888"},
		Values: map[string]string{}}
	for id, u := range s.resourcesOfType("AWS::IAM::User") {
		props, _ := u["Properties"].(map[string]any)
		name, _ := props["UserName"].(string)
		if name == "" {
			continue // its ARN is not known before deployment: a reference to it stays unresolved
		}
		path, _ := props["Path"].(string)
		if path == "" {
			path = "/"
		}
		res.Values[id+".Arn"] = "arn:aws:iam::" + simAccount + ":user" + path + name
	}
	for id := range s.resourcesOfType("AWS::SNS::Topic") {
		res.Values[id] = "arn:aws:sns:" + simRegion + ":" + simAccount + ":" + stack + "-" + id
	}
	for id := range s.resourcesOfType("AWS::S3::Bucket") {
		name := strings.ToLower(stack + "-" + id)
		res.Values[id] = name
		res.Values[id+".Arn"] = "arn:aws:s3:::" + name
	}
	return res
}

// resolvedPolicy resolves a policy document from the template with simResolver (a fresh copy each time).
func resolvedPolicy(t *testing.T, s *Synth, what string, doc any) any {
	t.Helper()
	res := simResolver(s)
	policy, unresolved := res.Resolve(doc)
	if len(unresolved) > 0 {
		t.Fatalf("%s: cannot resolve %v in %s", s.Name, unresolved, what)
	}
	if b, _ := json.Marshal(policy); bytes.Contains(b, []byte(`"Fn::`)) { // an intrinsic beside other keys
		t.Fatalf("%s: intrinsic function left in %s: %s", s.Name, what, b)
	}
	return policy
}

// TestKeyPolicySimulation asks every question of every listed configuration. The questions must also
// cover the policy: for each statement, the same questions asked of the policy without it must get at
// least one different answer, so no statement goes unexamined (a new statement needs a question it
// decides).
func TestKeyPolicySimulation(t *testing.T) {
	for _, name := range []string{"default", "ip-only", "vpce-only", "ip-and-vpce", "mfa", "existing-users", "hardened"} {
		t.Run(name, func(t *testing.T) {
			cases := simCasesFor(name)
			seen := map[string]bool{}
			for _, c := range cases {
				q := fmt.Sprint(c.name, c.principal, map[string]any(c.ctx))
				if seen[q] {
					t.Fatalf("duplicate question %q", q)
				}
				seen[q] = true
			}
			policy := masterKeyPolicy(t, synth(t, name)).(map[string]any)
			statements := policy["Statement"].([]any)
			variants := []any{policy}
			for i := range statements {
				without := maps.Clone(policy)
				without["Statement"] = slices.Delete(slices.Clone(statements), i, i+1)
				variants = append(variants, without)
			}
			answers := simulateEach(t, variants, cases)
			// kmsguard-summary --diff asks these questions at run time with internal/policyeval, which must
			// answer as iam-simulate does, on the policy and on each copy without one statement (below, each
			// statement decides some question: an evaluator that ignored one would disagree on its copy).
			for v, p := range variants {
				for q, c := range cases {
					if got := goEvaluate(t, p, c); got != answers[v][q].Result {
						t.Errorf("variant %d (0: as synthesized, i: without statement i-1), %s: internal/policyeval says %s, iam-simulate %s",
							v, c.name, got, answers[v][q].Result)
					}
				}
			}
			res := answers[0]
			for i, st := range statements {
				// The locked changes' statements have their own questions, on every kmsguard key
				// (TestLockedChangesSimulation in test/locksim_test.go, with its control).
				if lockedChangesStatements[fmt.Sprint(st.(map[string]any)["Sid"])] {
					continue
				}
				decides := false
				for q := range cases {
					decides = decides || answers[i+1][q].Result != res[q].Result
				}
				if !decides {
					t.Errorf("statement %v decides none of the %d questions: add a question whose answer depends on it",
						st.(map[string]any)["Sid"], len(cases))
				}
			}
			for i, c := range cases {
				r := res[i]
				if r.Result == "Error" {
					t.Errorf("%s: the simulator rejected the request: %s", c.name, r.Errors)
					continue
				}
				if r.Result != c.want {
					t.Errorf("%s: %s %s with %v: got %s, README.md's key policy says %s", c.name, c.principal, c.action, fmt.Sprint(map[string]any(c.ctx)), r.Result, c.want)
				}
			}
		})
	}
}

// TestKeyPolicySimulationCatchesWeakPolicies is the control: hand-weakened copies of the hardened key
// policy must change the simulator's answers, or a green TestKeyPolicySimulation would prove nothing.
func TestKeyPolicySimulationCatchesWeakPolicies(t *testing.T) {
	s := synth(t, "hardened")
	prod, toggler := iamUser("mariadb-prod"), iamUser("KeyToggler")
	weaken := func(drop string, mutate func(st map[string]any)) any {
		policy := masterKeyPolicy(t, s).(map[string]any) // a fresh copy each time
		var kept []any
		for _, st := range policy["Statement"].([]any) {
			m := st.(map[string]any)
			if m["Sid"] == drop {
				continue
			}
			if mutate != nil {
				mutate(m)
			}
			kept = append(kept, m)
		}
		policy["Statement"] = kept
		return policy
	}
	for _, tc := range []struct {
		what   string
		policy any
		c      simCase
	}{
		{"without DenyUseOutsideNetwork", weaken("DenyUseOutsideNetwork", nil),
			simCase{"server from another address", prod, "kms:Decrypt", public(otherIP).mfa(), nil, allowed}},
		{"without DenyUseWithoutMfa", weaken("DenyUseWithoutMfa", nil),
			simCase{"server without MFA", prod, "kms:Decrypt", public(allowedIP), nil, allowed}},
		{"without DenyAdminWithoutMfa", weaken("DenyAdminWithoutMfa", nil),
			simCase{"admin without MFA", toggler, "kms:EnableKey", public(allowedIP), nil, allowed}},
		{"with Decrypt added to the root statement", weaken("", func(st map[string]any) {
			if st["Sid"] == "KeyAdministration" {
				st["Action"] = append(st["Action"].([]any), "kms:Decrypt")
			}
		}), simCase{"unrelated principal with kms:*", iamUser("reporting-app"), "kms:Decrypt", public(allowedIP).mfa(), []map[string]any{kmsAll}, allowed}},
		{"with Bool instead of BoolIfExists", weaken("", func(st map[string]any) {
			if c, ok := st["Condition"].(map[string]any); ok && c["BoolIfExists"] != nil {
				c["Bool"] = c["BoolIfExists"]
				delete(c, "BoolIfExists")
			}
		}), simCase{"server with long-term keys", prod, "kms:Decrypt", public(allowedIP), nil, allowed}},
	} {
		res := simulate(t, tc.policy, []simCase{tc.c})
		if res[0].Result != tc.c.want {
			t.Errorf("key policy %s: %s: got %s, want %s (the simulator must see the weakness)", tc.what, tc.c.name, res[0].Result, tc.c.want)
		}
	}
}
