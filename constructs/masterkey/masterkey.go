// Package masterkey builds the KMS key that wraps every MariaDB data key, with a key policy that restricts
// its use by network, MFA and separation of duties.
package masterkey

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	cdkconstructs "github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// Props configures the master key. ARNs may be CDK tokens (a user created in the same stack).
type Props struct {
	Alias               string
	AccountID           string // the account whose principals may match aws:PrincipalArn
	AccountRootArn      string
	KeyUserArns         []string
	AdminArn            string
	AllowedCidrs        []string
	AllowedVpcEndpoints []string
	RequireMfa          bool
	AdminRequireMfa     bool
	// Lock names who may still replace the key policy or schedule the key's deletion: the break-glass
	// principals (with MFA) and the role that deploys the stack. Everyone else is denied both.
	Lock lockdown.Exemptions
	// MultiRegion makes the key a multi-Region primary key; its policy then also grants and locks
	// MultiRegionActions (the deploy role creates the replicas).
	MultiRegion bool
}

// Validate reports every problem at once, by field name.
func (p Props) Validate() error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	add("Alias", check.KeyAlias(p.Alias))
	if p.AccountID == "" {
		add("AccountID", errors.New("required: the account of the key users and the administrator"))
	}
	if p.AccountRootArn == "" {
		add("AccountRootArn", errors.New("required: the account that administers the key"))
	}
	if p.AdminArn == "" {
		add("AdminArn", errors.New("required: the user that enables and disables the key"))
	}
	if len(p.KeyUserArns) == 0 {
		add("KeyUserArns", errors.New("at least one principal must be able to use the key"))
	}
	for _, arn := range p.KeyUserArns {
		if check.IsToken(arn) {
			continue
		}
		if _, err := check.PrincipalARN(arn); err != nil {
			add("KeyUserArns", err)
		}
	}
	for _, c := range p.AllowedCidrs {
		add("AllowedCidrs", check.PublicCIDR(c))
	}
	for _, v := range p.AllowedVpcEndpoints {
		add("AllowedVpcEndpoints", check.VpcEndpointID(v))
	}
	add("Lock", p.Lock.Validate())
	for _, arn := range p.Lock.BreakGlassArns {
		if arn == p.AdminArn || slices.Contains(p.KeyUserArns, arn) {
			add("Lock", fmt.Errorf("%q is a key user or the key administrator: as break-glass it could rewrite the key policy to give itself more (separation of duties)", arn))
		}
	}
	return errors.Join(errs...)
}

// MasterKey is the symmetric KMS key and its alias. Both are retained on stack deletion and replacement
// (losing the key loses every encrypted table), except by the rollback of the create that made them: a key
// that never held data is scheduled for deletion, and the alias is deleted, so that the retry can create
// the alias name again (CloudFormation's RetainExceptOnCreate, docs/teardown.md).
type MasterKey struct {
	cdkconstructs.Construct
	Key   awskms.CfnKey
	Alias awskms.CfnAlias
}

// New creates the key; it panics on invalid props because the stack validates configuration first.
func New(scope cdkconstructs.Construct, id string, props Props) *MasterKey {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("masterkey: %v", err))
	}
	c := cdkconstructs.NewConstruct(scope, jsii.String(id))
	// L1: the policy is PolicyDocument's plain data, and the L2 Key's nested id would replace the retained key.
	key := awskms.NewCfnKey(c, jsii.String("Key"), &awskms.CfnKeyProps{
		Description:         jsii.String("kmsguard: MariaDB aws_key_management master key"),
		KeySpec:             jsii.String("SYMMETRIC_DEFAULT"),
		KeyUsage:            jsii.String("ENCRYPT_DECRYPT"),
		EnableKeyRotation:   jsii.Bool(true),
		PendingWindowInDays: jsii.Number(30),
		KeyPolicy:           PolicyDocument(props),
	})
	if props.MultiRegion {
		key.SetMultiRegion(jsii.Bool(true))
	}
	key.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	key.AddMetadata(jsii.String("kmsguard:role"), "master-key")
	// L1: the L2 Alias's nested id would replace the retained alias.
	alias := awskms.NewCfnAlias(c, jsii.String("Alias"), &awskms.CfnAliasProps{
		AliasName:   jsii.String(props.Alias),
		TargetKeyId: key.AttrKeyId(),
	})
	alias.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	return &MasterKey{Construct: c, Key: key, Alias: alias}
}

// NewReplica creates a multi-Region replica of the primary key primaryKeyArn in the stack's region, with the
// same key policy as the primary (PolicyDocument of the same props: KMS shares key material and key id
// between the two, never the policy). It is retained like the key.
func NewReplica(scope cdkconstructs.Construct, id string, props Props, primaryKeyArn string) awskms.CfnReplicaKey {
	if err := props.Validate(); err != nil {
		panic(fmt.Sprintf("masterkey: %v", err))
	}
	replica := awskms.NewCfnReplicaKey(scope, jsii.String(id), &awskms.CfnReplicaKeyProps{
		Description:         jsii.String("kmsguard: MariaDB aws_key_management master key (multi-Region replica)"),
		PrimaryKeyArn:       jsii.String(primaryKeyArn),
		PendingWindowInDays: jsii.Number(30),
		KeyPolicy:           PolicyDocument(props),
	})
	replica.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE, &awscdk.RemovalPolicyOptions{ApplyToUpdateReplacePolicy: jsii.Bool(true)})
	replica.AddMetadata(jsii.String("kmsguard:role"), "master-key-replica")
	return replica
}
