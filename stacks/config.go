package stacks

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/constructs/audittrail"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/lockdown"
)

// Config is everything an operator can set, read from the CDK context (cdk.json or `-c key=value`).
type Config struct {
	StackName           string
	AlertEmails         []string
	AllowedCidrs        []string
	AllowedVpcEndpoints []string
	RequireMfa          bool
	KeyUserArns         []string
	ServerUserName      string
	AdminUserName       string
	AdminUserArn        string
	AdminRequireMfa     bool
	KeyAlias            string
	TrailName           string
	// ExistingTrailArn names a trail the stack uses instead of creating its own (README.md, "Using an
	// existing trail"); ExistingTrailLogGroup is that trail's CloudWatch Logs log group, for the metric
	// filters and their alarms.
	ExistingTrailArn      string
	ExistingTrailLogGroup string
	LogRetentionDays      int
	NotifyKeyUse          bool
	// SecurityEmails subscribe to the second, independent alert destination (README.md, "Two alert
	// destinations"); empty falls back to AlertEmails with a warning.
	SecurityEmails []string
	// AcceptRisks records, in committed configuration, a deliberate choice to run without a safeguard that
	// is otherwise required (README.md, "Safe by default"): RiskNoAlertSubscriber, RiskAnyNetwork.
	AcceptRisks []string
	// Example fills the safety settings the configuration leaves unset with inert example values
	// (ExampleAlertEmail, ExampleCidr) so that `make synth` works on a fresh clone; the synth says so loudly.
	Example bool
	// ExampleFilled names the settings Example filled in, for that warning.
	ExampleFilled []string
	// BreakGlassArns may, with MFA, make the locked changes: replace a key policy, schedule a key's
	// deletion, disable a supporting key, change an alert topic, bypass the trail's Object Lock.
	BreakGlassArns []string
	// DeployRoleArns may make the locked changes without MFA (the role CloudFormation deploys with). nil
	// means the CDK bootstrap's execution role of the stack's account and region (DeployRoles); an empty,
	// non-nil list is refused, because then no stack update could set a key policy.
	DeployRoleArns []string
	// ObjectLockMode is the trail bucket's default Object Lock retention mode.
	ObjectLockMode string
	// Fleet is the organization-wide shape (docs/fleet.md); its zero value is the standalone stack.
	Fleet FleetConfig
}

// Risks an operator can accept with acceptRisks; without the record, the missing safeguard is an error.
const (
	RiskNoAlertSubscriber = "no-alert-subscriber"
	RiskAnyNetwork        = "any-network"
)

// The example values are inert on purpose: example.com receives no mail for anyone (RFC 2606), and
// 192.0.2.0/24 is TEST-NET-1 (RFC 5737), a range no real host uses, so a key deployed with them by mistake
// is usable from nowhere rather than from everywhere.
const (
	ExampleAlertEmail = "alerts@example.com"
	ExampleCidr       = "192.0.2.0/24"
)

// DefaultConfig is the safe default: MFA for the key administrator, a year of logs, and every use of the
// key reported.
func DefaultConfig() Config {
	return Config{
		StackName:        "KmsGuard",
		ServerUserName:   "MDBEnc",
		AdminUserName:    "MDBEncAdmin",
		AdminRequireMfa:  true,
		KeyAlias:         "alias/mariadb-encryption",
		TrailName:        "mariadb-encryption-key",
		LogRetentionDays: 365,
		NotifyKeyUse:     true,
		ObjectLockMode:   audittrail.ObjectLockGovernance,
	}
}

// field binds one context key to the Config field it sets; the table is the single list of keys, so the
// unknown-key check, the README table test and the parser cannot drift apart.
type field struct {
	key   string
	parse func(c *Config, raw any) error
}

var fields = []field{
	{"stackName", str(func(c *Config) *string { return &c.StackName })},
	{"alertEmails", list(func(c *Config) *[]string { return &c.AlertEmails })},
	{"allowedCidrs", list(func(c *Config) *[]string { return &c.AllowedCidrs })},
	{"allowedVpcEndpoints", list(func(c *Config) *[]string { return &c.AllowedVpcEndpoints })},
	{"requireMfa", boolean(func(c *Config) *bool { return &c.RequireMfa })},
	{"keyUserArns", list(func(c *Config) *[]string { return &c.KeyUserArns })},
	{"serverUserName", str(func(c *Config) *string { return &c.ServerUserName })},
	{"adminUserName", str(func(c *Config) *string { return &c.AdminUserName })},
	{"adminUserArn", str(func(c *Config) *string { return &c.AdminUserArn })},
	{"adminRequireMfa", boolean(func(c *Config) *bool { return &c.AdminRequireMfa })},
	{"keyAlias", str(func(c *Config) *string { return &c.KeyAlias })},
	{"trailName", str(func(c *Config) *string { return &c.TrailName })},
	{"existingTrailArn", str(func(c *Config) *string { return &c.ExistingTrailArn })},
	{"existingTrailLogGroup", str(func(c *Config) *string { return &c.ExistingTrailLogGroup })},
	{"logRetentionDays", integer(func(c *Config) *int { return &c.LogRetentionDays })},
	{"notifyKeyUse", boolean(func(c *Config) *bool { return &c.NotifyKeyUse })},
	{"securityEmails", list(func(c *Config) *[]string { return &c.SecurityEmails })},
	{"acceptRisks", list(func(c *Config) *[]string { return &c.AcceptRisks })},
	{"example", boolean(func(c *Config) *bool { return &c.Example })},
	{"breakGlassArns", list(func(c *Config) *[]string { return &c.BreakGlassArns })},
	{"deployRoleArns", list(func(c *Config) *[]string { return &c.DeployRoleArns })},
	{"objectLockMode", upper(str(func(c *Config) *string { return &c.ObjectLockMode }))},
}

// ConfigKeys lists the context keys kmsguard understands, in documentation order.
func ConfigKeys() []string {
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.key
	}
	return keys
}

// cdkOwnedKeys are context keys that the CDK CLI or cdk.json itself sets; they are not ours to reject.
var cdkOwnedKeys = map[string]bool{"acknowledged-issue-numbers": true}

// isCDKOwned recognises feature flags (@aws-cdk/...), CLI settings (aws:cdk:...) and cached lookups
// (availability-zones:account=...): none of our keys contain ':' or start with '@'.
func isCDKOwned(key string) bool {
	return cdkOwnedKeys[key] || strings.HasPrefix(key, "@") || strings.Contains(key, ":")
}

// ParseConfig reads the context into a Config and validates it, returning every problem at once. Unknown
// keys are errors: a typo such as `allowedCidr` must not silently deploy a key with no network restriction.
func ParseConfig(context map[string]any) (Config, error) {
	c := DefaultConfig()
	var problems Problems
	known := map[string]field{}
	for _, f := range fields {
		known[f.key] = f
	}
	keys := make([]string, 0, len(context))
	for k := range context {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if isCDKOwned(k) {
			continue
		}
		f, ok := known[k]
		if !ok {
			problems.Add(k, "unknown configuration key%s; valid keys: %s", suggest(k), strings.Join(ConfigKeys(), ", "))
			continue
		}
		if err := f.parse(&c, context[k]); err != nil {
			problems.Add(k, "%v", err)
		}
	}
	c.applyExample()
	problems = append(problems, c.problems()...)
	problems = append(problems, c.fleetContextProblems(context)...)
	if c.ExistingTrailArn != "" {
		// Settings of the trail the stack would have created: given with an existing trail, they would be
		// silently ignored, and the operator would believe in a retention or a name that is not there.
		for _, k := range []string{"logRetentionDays", "objectLockMode", "trailName"} {
			if _, set := context[k]; set {
				problems.Add(k, "is not used with existingTrailArn: the stack creates no trail, log group or bucket of its own "+
					"(the existing trail's own settings apply); remove %s, or remove existingTrailArn to create the trail", k)
			}
		}
	}
	return c, problems.Err()
}

// applyExample fills the unset safety settings with the inert example values when example is on.
func (c *Config) applyExample() {
	if !c.Example {
		return
	}
	if len(c.AlertEmails) == 0 && !c.accepts(RiskNoAlertSubscriber) {
		c.AlertEmails = []string{ExampleAlertEmail}
		c.ExampleFilled = append(c.ExampleFilled, "alertEmails="+ExampleAlertEmail)
	}
	if len(c.AllowedCidrs) == 0 && len(c.AllowedVpcEndpoints) == 0 && !c.accepts(RiskAnyNetwork) {
		c.AllowedCidrs = []string{ExampleCidr}
		c.ExampleFilled = append(c.ExampleFilled, "allowedCidrs="+ExampleCidr)
	}
}

func (c Config) accepts(risk string) bool { return slices.Contains(c.AcceptRisks, risk) }

// safetyProblems makes running without an alert subscriber, or with a key usable from any network, a
// recorded choice: either the setting is given, or acceptRisks names the risk. A recorded risk that the
// configuration does not take is an error too, so the record never outlives the choice.
func (c Config) safetyProblems() Problems {
	var p Problems
	for _, r := range c.AcceptRisks {
		if r != RiskNoAlertSubscriber && r != RiskAnyNetwork {
			p.Add("acceptRisks", "unknown risk %q; the risks that can be accepted are %q and %q", r, RiskNoAlertSubscriber, RiskAnyNetwork)
		}
	}
	p = append(p, duplicates("acceptRisks", c.AcceptRisks)...)
	noSubscriber := len(c.AlertEmails) == 0
	switch {
	case noSubscriber && !c.accepts(RiskNoAlertSubscriber):
		p.Add("alertEmails", "not set: alerts would reach nobody. List the addresses that must receive them in cdk.json "+
			"(\"alertEmails\": [\"secops@yourcompany.example\"]), or record the choice with \"acceptRisks\": [%q] "+
			"(for example when subscriptions are managed outside kmsguard)", RiskNoAlertSubscriber)
	case !noSubscriber && c.accepts(RiskNoAlertSubscriber):
		p.Add("acceptRisks", "%q is recorded but alertEmails is set: remove it from acceptRisks", RiskNoAlertSubscriber)
	}
	anyNetwork := len(c.AllowedCidrs) == 0 && len(c.AllowedVpcEndpoints) == 0
	switch {
	case anyNetwork && !c.accepts(RiskAnyNetwork):
		p.Add("allowedCidrs", "neither allowedCidrs nor allowedVpcEndpoints is set: stolen credentials could use the master key "+
			"from any network. Set the database servers' public ranges (allowedCidrs) and/or the KMS VPC endpoints they use "+
			"(allowedVpcEndpoints) in cdk.json, or record the choice with \"acceptRisks\": [%q]", RiskAnyNetwork)
	case !anyNetwork && c.accepts(RiskAnyNetwork):
		p.Add("acceptRisks", "%q is recorded but a network restriction is set: remove it from acceptRisks", RiskAnyNetwork)
	}
	return p
}

func str(at func(*Config) *string) func(*Config, any) error {
	return func(c *Config, raw any) error {
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("must be a string, got %s", jsonText(raw))
		}
		*at(c) = strings.TrimSpace(s)
		return nil
	}
}

// upper accepts any case of an enumerated value (governance, COMPLIANCE) and stores it as AWS spells it.
func upper(parse func(*Config, any) error) func(*Config, any) error {
	return func(c *Config, raw any) error {
		if s, ok := raw.(string); ok {
			raw = strings.ToUpper(s)
		}
		return parse(c, raw)
	}
}

func boolean(at func(*Config) *bool) func(*Config, any) error {
	return func(c *Config, raw any) error {
		switch v := raw.(type) {
		case bool:
			*at(c) = v
			return nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				*at(c) = b
				return nil
			}
		}
		return fmt.Errorf("must be true or false, got %s", jsonText(raw))
	}
}

func integer(at func(*Config) *int) func(*Config, any) error {
	return func(c *Config, raw any) error {
		switch v := raw.(type) {
		case float64:
			if v == float64(int(v)) {
				*at(c) = int(v)
				return nil
			}
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				*at(c) = n
				return nil
			}
		}
		return fmt.Errorf("must be a whole number, got %s", jsonText(raw))
	}
}

// list accepts a JSON array (from cdk.json), a JSON array in a string, or a comma-separated string (both
// from `-c key=value`); empty items are dropped so a trailing comma is harmless.
func list(at func(*Config) *[]string) func(*Config, any) error {
	return func(c *Config, raw any) error {
		var items []any
		switch v := raw.(type) {
		case []any:
			items = v
		case string:
			s := strings.TrimSpace(v)
			if strings.HasPrefix(s, "[") {
				if err := json.Unmarshal([]byte(s), &items); err != nil {
					return fmt.Errorf("looks like a JSON array but does not parse (%v); write [\"a\",\"b\"] or a,b", err)
				}
				break
			}
			for _, part := range strings.Split(s, ",") {
				items = append(items, part)
			}
		default:
			return fmt.Errorf("must be a list (JSON array or comma-separated string), got %s", jsonText(raw))
		}
		out := []string{}
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				return fmt.Errorf("every item must be a string, got %s", jsonText(it))
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*at(c) = out
		return nil
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// suggest names the closest known key when the unknown one is a likely typo.
func suggest(key string) string {
	best, bestDist := "", 4
	for _, k := range ConfigKeys() {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Validate reports every problem of a Config built in code rather than parsed from context.
func (c Config) Validate() error { return c.problems().Err() }

func (c Config) problems() Problems {
	var p Problems
	if err := check.StackName(c.StackName); err != nil {
		p.Add("stackName", "%v", err)
	}
	for _, e := range c.AlertEmails {
		if err := check.Email(e); err != nil {
			p.Add("alertEmails", "%v", err)
		}
	}
	for _, r := range c.AllowedCidrs {
		if err := check.PublicCIDR(r); err != nil {
			p.Add("allowedCidrs", "%v", err)
		}
	}
	for _, v := range c.AllowedVpcEndpoints {
		if err := check.VpcEndpointID(v); err != nil {
			p.Add("allowedVpcEndpoints", "%v", err)
		}
	}
	p = append(p, c.principalProblems()...)
	if err := check.KeyAlias(c.KeyAlias); err != nil {
		p.Add("keyAlias", "%v", err)
	}
	if err := check.TrailName(c.TrailName); err != nil {
		p.Add("trailName", "%v", err)
	}
	if err := check.LogRetention(c.LogRetentionDays); err != nil {
		p.Add("logRetentionDays", "%v", err)
	}
	for _, e := range c.SecurityEmails {
		if err := check.Email(e); err != nil {
			p.Add("securityEmails", "%v", err)
		}
	}
	p = append(p, c.safetyProblems()...)
	if c.ExistingTrailArn != "" {
		if _, _, err := check.TrailARN(c.ExistingTrailArn); err != nil {
			p.Add("existingTrailArn", "%v, or leave existingTrailArn empty to create the trail %s", err, c.TrailName)
		}
	}
	if c.ExistingTrailLogGroup != "" {
		if err := check.LogGroupName(c.ExistingTrailLogGroup); err != nil {
			p.Add("existingTrailLogGroup", "%v", err)
		}
		if c.ExistingTrailArn == "" {
			p.Add("existingTrailLogGroup", "is only used with existingTrailArn (the log group of that trail); set existingTrailArn, "+
				"or remove existingTrailLogGroup: the trail the stack creates has a log group of its own")
		}
	}
	p = append(p, c.lockProblems()...)
	p = append(p, c.fleetProblems()...)
	p = append(p, duplicates("alertEmails", c.AlertEmails)...)
	p = append(p, duplicates("securityEmails", c.SecurityEmails)...)
	p = append(p, duplicates("allowedCidrs", c.AllowedCidrs)...)
	p = append(p, duplicates("allowedVpcEndpoints", c.AllowedVpcEndpoints)...)
	p = append(p, duplicates("keyUserArns", c.KeyUserArns)...)
	p = append(p, duplicates("breakGlassArns", c.BreakGlassArns)...)
	p = append(p, duplicates("deployRoleArns", c.DeployRoleArns)...)
	return p
}

// lockProblems checks the principals the locks exempt (docs/aws-facts.md, "Locked changes") and the
// Object Lock mode.
func (c Config) lockProblems() Problems {
	var p Problems
	for _, arn := range c.BreakGlassArns {
		if err := lockdown.BreakGlassARN(arn); err != nil {
			p.Add("breakGlassArns", "%v", err)
			continue
		}
		if c.isKeyPrincipal(arn) {
			p.Add("breakGlassArns", "%q is the key administrator or a key user: as break-glass it could rewrite the key policy to give itself more (separation of duties); name a separate principal", arn)
		}
		if slices.Contains(c.DeployRoleArns, arn) {
			p.Add("breakGlassArns", "%q is also in deployRoleArns: a deploy role is exempt without MFA, so listing it as break-glass asks for MFA nobody checks; keep it in one list", arn)
		}
	}
	if c.DeployRoleArns != nil && len(c.DeployRoleArns) == 0 {
		p.Add("deployRoleArns", "is empty: the role CloudFormation deploys with must keep kms:PutKeyPolicy (KMS refuses a key policy that locks out the principal setting it), "+
			"so the stack could never be created or updated; remove deployRoleArns to use the CDK bootstrap's execution role, or name your deployment role")
	}
	for _, arn := range c.DeployRoleArns {
		if err := lockdown.DeployRoleARN(arn); err != nil {
			p.Add("deployRoleArns", "%v", err)
		}
	}
	if c.ObjectLockMode != audittrail.ObjectLockGovernance && c.ObjectLockMode != audittrail.ObjectLockCompliance {
		p.Add("objectLockMode", "%q is not an Object Lock mode: write %s (the default: break-glass principals can still delete log files early) or %s (nobody, not even the account root, can delete them before logRetentionDays)",
			c.ObjectLockMode, audittrail.ObjectLockGovernance, audittrail.ObjectLockCompliance)
	}
	return p
}

// isKeyPrincipal reports whether arn is the key administrator or a key user (by ARN, or by name for the
// users the stack creates, whose account is known only at deploy time).
func (c Config) isKeyPrincipal(arn string) bool {
	if arn == c.AdminUserArn || slices.Contains(c.KeyUserArns, arn) {
		return true
	}
	if !strings.Contains(arn, ":user/") || strings.Contains(arn[strings.Index(arn, ":user/")+len(":user/"):], "/") {
		return false // a role, the root, or a user with a path: never one the stack creates (they have none)
	}
	name := principalName(arn)
	return c.AdminUserArn == "" && name == c.AdminUserName || len(c.KeyUserArns) == 0 && name == c.ServerUserName
}

// bootstrapQualifierContext is the context key the CDK's DefaultStackSynthesizer reads its bootstrap
// qualifier from; DefaultStackSynthesizer.DEFAULT_QUALIFIER applies when it is unset (docs/aws-facts.md).
const bootstrapQualifierContext = "@aws-cdk/core:bootstrapQualifier"

// DeployRoles are the roles the locks exempt without MFA: deployRoleArns, or by default the CDK bootstrap's
// CloudFormation execution role of the stack's account and region,
// arn:PARTITION:iam::ACCOUNT:role/cdk-QUALIFIER-cfn-exec-role-ACCOUNT-REGION, the role `cdk deploy` hands
// to CloudFormation (the bootstrap template names it so; the qualifier is the app's, hnb659fds unless
// the context sets @aws-cdk/core:bootstrapQualifier). Account and region are the stack's tokens.
func (c Config) DeployRoles(stack awscdk.Stack) []string {
	if c.DeployRoleArns != nil {
		return c.DeployRoleArns
	}
	qualifier := *awscdk.DefaultStackSynthesizer_DEFAULT_QUALIFIER()
	if q, ok := stack.Node().TryGetContext(jsii.String(bootstrapQualifierContext)).(string); ok && q != "" {
		qualifier = q
	}
	name := "cdk-" + qualifier + "-cfn-exec-role-" + *stack.Account() + "-" + *stack.Region()
	return []string{*stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("iam"),
		Region:       jsii.String(""),
		Resource:     jsii.String("role"),
		ResourceName: jsii.String(name),
	})}
}

// Lock is what the locks exempt, for the stack's constructs.
func (c Config) Lock(stack awscdk.Stack) lockdown.Exemptions {
	return lockdown.Exemptions{BreakGlassArns: c.BreakGlassArns, DeployRoleArns: c.DeployRoles(stack)}
}

// principalProblems checks who may use and manage the key, including that an MFA requirement is
// satisfiable: iam-kms-wrapper gets its MFA session with sts:GetSessionToken, which only IAM users can call.
func (c Config) principalProblems() Problems {
	var p Problems
	if err := check.IAMUserName(c.AdminUserName); err != nil {
		p.Add("adminUserName", "%v", err)
	}
	if c.AdminUserArn != "" {
		kind, err := check.PrincipalARN(c.AdminUserArn)
		switch {
		case err != nil:
			p.Add("adminUserArn", "%v", err)
		case kind != check.IAMUser:
			p.Add("adminUserArn", "%q is not an IAM user: kms-manage-key gets the administrator's MFA session with sts:GetSessionToken, which only IAM users can call; name an existing IAM user, or leave adminUserArn empty to create %s", c.AdminUserArn, c.AdminUserName)
		case slices.Contains(c.KeyUserArns, c.AdminUserArn):
			p.Add("adminUserArn", "%q is also in keyUserArns: separation of duties needs the administrator to be someone else; name another user", c.AdminUserArn)
		}
	}
	if len(c.KeyUserArns) == 0 {
		if err := check.IAMUserName(c.ServerUserName); err != nil {
			p.Add("serverUserName", "%v", err)
		}
		if c.ServerUserName == c.adminName() {
			p.Add("serverUserName", "%q is also the admin user: separation of duties needs two users; pick another name", c.ServerUserName)
		}
	}
	for _, arn := range c.KeyUserArns {
		kind, err := check.PrincipalARN(arn)
		switch {
		case err != nil:
			p.Add("keyUserArns", "%v", err)
		case kind == check.IAMUser && c.AdminUserArn == "" && principalName(arn) == c.AdminUserName:
			p.Add("keyUserArns", "%q is the admin user %s, who may only enable and disable the key: separation of duties forbids it using the key", arn, c.AdminUserName)
		case kind == check.IAMRole && c.RequireMfa:
			p.Add("requireMfa", "key user %q is a role, and a role can never get MFA credentials through iam-kms-wrapper (sts:GetSessionToken is for IAM users): use an IAM user, or set requireMfa=false", arn)
		}
	}
	return p
}

func duplicates(key string, items []string) Problems {
	var p Problems
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it] {
			p.Add(key, "%q is listed twice", it)
		}
		seen[it] = true
	}
	return p
}

// watchedUserNames are the IAM users whose credentials and permissions the alarms watch: the key
// administrator and every key user that is a user (roles have no access keys or MFA devices).
func (c Config) watchedUserNames() []string {
	names := []string{c.adminName()}
	if len(c.KeyUserArns) == 0 {
		return append(names, c.ServerUserName)
	}
	for _, arn := range c.KeyUserArns {
		if strings.Contains(arn, ":user/") {
			names = append(names, principalName(arn))
		}
	}
	return names
}

// securityDestinationEmails are the subscribers of the second destination: securityEmails, or alertEmails
// when it is empty (with a warning at synth).
func (c Config) securityDestinationEmails() []string {
	if len(c.SecurityEmails) > 0 {
		return c.SecurityEmails
	}
	return c.AlertEmails
}

// WatchedTrailName is the name of the trail the tamper rules watch: the existing trail's when
// existingTrailArn is set, else trailName.
func (c Config) WatchedTrailName() string {
	if c.ExistingTrailArn != "" {
		if name, _, err := check.TrailARN(c.ExistingTrailArn); err == nil {
			return name
		}
	}
	return c.TrailName
}

// adminName is the key administrator's user name: of adminUserArn when set, else adminUserName.
func (c Config) adminName() string {
	if c.AdminUserArn != "" {
		return principalName(c.AdminUserArn)
	}
	return c.AdminUserName
}

// principalName is the user or role name at the end of an IAM ARN (after any path).
func principalName(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
