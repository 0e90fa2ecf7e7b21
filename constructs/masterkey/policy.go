package masterkey

import (
	"slices"

	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// cryptoActions are the operations that touch key material; every restriction (network, MFA) denies all of
// them, with wildcards so that future GenerateDataKey*/ReEncrypt* variants are denied too.
var cryptoActions = []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}

// UseActions are what the MariaDB aws_key_management plugin calls (GenerateDataKeyWithoutPlaintext to make
// a data key, Decrypt to read it back), plus DescribeKey to check the key; nothing else is granted.
var UseActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"}

// ToggleActions are the only actions of the key administrator.
var ToggleActions = []string{"kms:DisableKey", "kms:EnableKey"}

// AdministrationActions keep the key manageable by the account (KMS refuses a policy that would lock the
// caller out) without any cryptographic use: no Decrypt/Encrypt/GenerateDataKey*/ReEncrypt*, and no
// CreateGrant, because a grant is a way to hand out Decrypt. EnableKey is left to the key administrator
// (separation of duties); DisableKey stays here as the account's emergency stop. PutKeyPolicy cannot be
// removed without making the key unmanageable; every call to it raises a key-danger alert. PutKeyPolicy and
// ScheduleKeyDeletion are then denied to everyone but the break-glass principals and the deploy role
// (DenyKeyPolicyAndDeletion): the grant here is what those principals use, through their IAM policies.
var AdministrationActions = []string{
	"kms:CancelKeyDeletion",
	"kms:CreateAlias",
	"kms:DeleteAlias",
	"kms:DescribeKey",
	"kms:DisableKey",
	"kms:DisableKeyRotation",
	"kms:EnableKeyRotation",
	"kms:GetKeyPolicy",
	"kms:GetKeyRotationStatus",
	"kms:ListGrants",
	"kms:ListKeyPolicies",
	"kms:ListKeyRotations",
	"kms:ListResourceTags",
	"kms:PutKeyPolicy",
	"kms:RetireGrant",
	"kms:RevokeGrant",
	"kms:RotateKeyOnDemand",
	"kms:ScheduleKeyDeletion",
	"kms:TagResource",
	"kms:UntagResource",
	"kms:UpdateAlias",
	"kms:UpdateKeyDescription",
}

// MultiRegionActions are what only a multi-Region key accepts: a replica in another region (created with a
// key policy of the caller's choosing, so as dangerous as a new key policy) and a change of primary region.
// With Props.MultiRegion they are granted to the account like the other administration actions, for the
// deploy role's replicas, and then locked like PutKeyPolicy (docs/fleet.md, "Multi-Region key").
var MultiRegionActions = []string{"kms:ReplicateKey", "kms:UpdatePrimaryRegion"}

// mfaAbsent matches requests without MFA. BoolIfExists matters: long-term access keys carry no
// aws:MultiFactorAuthPresent key at all, and a plain Bool condition would not match (and not deny) them.
var mfaAbsent = map[string]any{"BoolIfExists": map[string]any{"aws:MultiFactorAuthPresent": "false"}}

// PolicyDocument builds the key policy from props. It is a pure function of its input (ARNs may be CDK
// tokens) so that the exact statements are testable without synthesizing.
//
// The key users and the administrator are not Principals but aws:PrincipalArn conditions on Principal "*"
// (with aws:PrincipalAccount, so only this account's principals ever match). KMS refuses a key policy
// whose principals it cannot see yet, and users created in the same deployment are not always visible at
// once (IAM is eventually consistent): named as principals, they made the first deploy fail now and then.
// A condition value is not checked, so the key is created whatever IAM's state. The grant stays direct (no
// identity policy needed), and for a role, aws:PrincipalArn is the role's ARN for every session of it, as a
// role principal was. One answer changes (docs/aws-facts.md): a user deleted and re-created under the same
// name matches again, where a principal was pinned to the old user's unique id; the KeyPrincipalChanges and
// KeyPrincipalReplaced alarms report both calls.
func PolicyDocument(p Props) map[string]any {
	statements := []any{
		statement("KeyAdministration", "Allow", aws(p.AccountRootArn), p.administrationActions(), nil),
		statement("AllowUseOfTheKey", "Allow", aws("*"), UseActions, principalIs(p.AccountID, p.KeyUserArns...)),
		statement("AllowEnableDisable", "Allow", aws("*"), ToggleActions, principalIs(p.AccountID, p.AdminArn)),
	}
	if cond := networkCondition(p.AllowedCidrs, p.AllowedVpcEndpoints); cond != nil {
		statements = append(statements, statement("DenyUseOutsideNetwork", "Deny", aws("*"), cryptoActions, cond))
	}
	if p.RequireMfa {
		statements = append(statements, statement("DenyUseWithoutMfa", "Deny", aws("*"), cryptoActions, mfaAbsent))
	}
	if p.AdminRequireMfa {
		cond := principalIs(p.AccountID, p.AdminArn)
		cond["BoolIfExists"] = mfaAbsent["BoolIfExists"]
		statements = append(statements, statement("DenyAdminWithoutMfa", "Deny", aws("*"), ToggleActions, cond))
	}
	// Locked changes (docs/aws-facts.md, "Locked changes"): a new key policy could undo every statement
	// above, and a deletion loses every table. Only the break-glass principals (with MFA) and the deploy
	// role may make them, and nobody may schedule a deletion with less than 30 days to cancel it.
	locked := lockdown.MasterKeyActions
	if p.MultiRegion {
		locked = append(append([]string{}, locked...), MultiRegionActions...)
	}
	for _, st := range p.Lock.Deny("DenyKeyPolicyAndDeletion", locked, "*") {
		statements = append(statements, st)
	}
	statements = append(statements, lockdown.MinimumDeletionWindow("DenyShortDeletionWindow"))
	return map[string]any{"Version": "2012-10-17", "Statement": statements}
}

// administrationActions are AdministrationActions, and MultiRegionActions for a multi-Region key.
func (p Props) administrationActions() []string {
	if !p.MultiRegion {
		return AdministrationActions
	}
	out := append(append([]string{}, AdministrationActions...), MultiRegionActions...)
	slices.Sort(out)
	return out
}

// networkCondition denies a request that comes neither from an allowed public range nor through an allowed
// VPC endpoint. The operators in one condition block are ANDed, which gives exactly "deny unless one of
// them holds". Both are negated operators, which match when their key is absent: a call through a VPC
// endpoint has no aws:SourceIp, and a call over the internet has no aws:SourceVpce. Calls that an AWS
// service makes on a principal's behalf (aws:ViaAWSService) carry the service's address, not the caller's,
// and are left out.
func networkCondition(cidrs, vpces []string) map[string]any {
	if len(cidrs) == 0 && len(vpces) == 0 {
		return nil
	}
	cond := map[string]any{"Bool": map[string]any{"aws:ViaAWSService": "false"}}
	if len(cidrs) > 0 {
		cond["NotIpAddress"] = map[string]any{"aws:SourceIp": cidrs}
	}
	if len(vpces) > 0 {
		cond["StringNotEquals"] = map[string]any{"aws:SourceVpce": vpces}
	}
	return cond
}

// principalIs matches requests made by one of arns (a user, or any session of a role) of this account.
func principalIs(account string, arns ...string) map[string]any {
	var values any = arns
	if len(arns) == 1 {
		values = arns[0]
	}
	return map[string]any{
		"ArnEquals":    map[string]any{"aws:PrincipalArn": values},
		"StringEquals": map[string]any{"aws:PrincipalAccount": account},
	}
}

func aws(arns ...string) map[string]any {
	if len(arns) == 1 {
		return map[string]any{"AWS": arns[0]}
	}
	return map[string]any{"AWS": arns}
}

func statement(sid, effect string, principal map[string]any, actions []string, cond map[string]any) map[string]any {
	s := map[string]any{
		"Sid":       sid,
		"Effect":    effect,
		"Principal": principal,
		"Action":    actions,
		"Resource":  "*",
	}
	if cond != nil {
		s["Condition"] = cond
	}
	return s
}
