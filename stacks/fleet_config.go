package stacks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kmsguard/kmsguard/internal/check"
)

// Deployment shapes (docs/fleet.md): standalone is the one stack of README.md, deployed account by account
// and region by region; org is the fleet of an AWS Organization, rolled out by CloudFormation StackSets and
// alerting one security account.
const (
	DeploymentStandalone = "standalone"
	DeploymentOrg        = "org"
)

// FleetConfig is the organization-wide shape. Its zero value (Deployment "") is the standalone stack, so a
// configuration that never names these keys synthesizes exactly what it did before.
type FleetConfig struct {
	// Deployment is DeploymentStandalone (the default) or DeploymentOrg.
	Deployment string
	// OrganizationID (o-...) is the only organization whose accounts may put events on the central buses.
	OrganizationID string
	// SecurityAccount (12 digits) holds the central stacks; it must be the StackSets delegated administrator.
	SecurityAccount string
	// TargetOus are the organizational units (ou-...) or the root (r-...) the StackSets deploy to.
	TargetOus []string
	// Regions are the regions of the fleet: one central stack in each, and a regional stack instance in each
	// target account in each. The first is the home region (the StackSets and the identity instances).
	Regions []string
	// MemberTrail gives every member account-region a trail of its own (single-region, management events,
	// read and write), the fallback when the organization trail does not feed the members' EventBridge
	// (docs/fleet.md, "The organization trail"). It is a paid second copy of those events.
	MemberTrail bool
	// MultiRegionKey makes the master key a multi-Region primary key in the home region, with a replica of
	// it (same key id and key material, the same key policy) in every other region of each member account
	// (docs/fleet.md, "Multi-Region key").
	MultiRegionKey bool
	// OrgTrailLogGroup is the organization trail's CloudWatch Logs log group, in the security account and the
	// home region. When set, the home central stack puts the standalone metric filters and alarms on it
	// (docs/fleet.md, "The organization trail's log group"), which carry IAM's events from every region, and
	// us-east-1 is no longer required in regions.
	OrgTrailLogGroup string
	// KeyUserRoleNames are IAM roles, by name or /path/name, that exist (or will) in every member account
	// and may use the key there instead of the server user serverUserName, as keyUserArns does standalone
	// (docs/fleet.md, "Key users and break-glass roles").
	KeyUserRoleNames []string
	// BreakGlassRoleNames are IAM roles, by name or /path/name, of every member account that may make the
	// locked changes of that account's master key, only from an MFA session, as breakGlassArns does
	// standalone.
	BreakGlassRoleNames []string
}

// fleetFields are the context keys of the fleet shape, after the standalone keys (README.md's table follows
// the same order).
var fleetFields = []field{
	{"deployment", str(func(c *Config) *string { return &c.Fleet.Deployment })},
	{"organizationId", str(func(c *Config) *string { return &c.Fleet.OrganizationID })},
	{"securityAccount", str(func(c *Config) *string { return &c.Fleet.SecurityAccount })},
	{"targetOus", list(func(c *Config) *[]string { return &c.Fleet.TargetOus })},
	{"regions", list(func(c *Config) *[]string { return &c.Fleet.Regions })},
	{"memberTrail", boolean(func(c *Config) *bool { return &c.Fleet.MemberTrail })},
	{"multiRegionKey", boolean(func(c *Config) *bool { return &c.Fleet.MultiRegionKey })},
	{"orgTrailLogGroup", str(func(c *Config) *string { return &c.Fleet.OrgTrailLogGroup })},
	{"keyUserRoleNames", list(func(c *Config) *[]string { return &c.Fleet.KeyUserRoleNames })},
	{"breakGlassRoleNames", list(func(c *Config) *[]string { return &c.Fleet.BreakGlassRoleNames })},
}

func init() { fields = append(fields, fleetFields...) }

// IsFleet reports whether the configuration is the organization-wide shape.
func (c Config) IsFleet() bool { return c.Fleet.Deployment == DeploymentOrg }

// HomeRegion is the region of the StackSets and the identity stack instances: the first of regions.
func (c Config) HomeRegion() string {
	if len(c.Fleet.Regions) == 0 {
		return ""
	}
	return c.Fleet.Regions[0]
}

// iamEventRegion is the only region where IAM's CloudTrail events reach EventBridge (docs/aws-facts.md,
// "IAM events in EventBridge").
const iamEventRegion = "us-east-1"

var (
	organizationID = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	accountID      = regexp.MustCompile(`^[0-9]{12}$`)
	// AWS Organizations ids: ou-<root suffix>-<ou suffix>, r-<root suffix> (docs/aws-facts.md, "Fleet").
	ouOrRoot   = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
)

// standaloneOnlyKeys are settings that name one account's resources, or the stack's own trail, and have no
// meaning across a fleet; in deployment=org they are refused with the reason, never silently ignored.
var standaloneOnlyKeys = map[string]string{
	"keyUserArns":           "names principals of one account; every member account gets the server user serverUserName from the identity StackSet, or name roles that exist in every member account with keyUserRoleNames (docs/fleet.md, \"Key users and break-glass roles\")",
	"adminUserArn":          "names a user of one account; every member account gets the administrator adminUserName from the identity StackSet",
	"existingTrailArn":      "the fleet relies on the organization trail and creates no trail of its own (docs/fleet.md, \"The organization trail\")",
	"existingTrailLogGroup": "the fleet relies on the organization trail and creates no trail of its own (docs/fleet.md, \"The organization trail\")",
	"trailName":             "the fleet creates no trail (docs/fleet.md, \"The organization trail\")",
	"logRetentionDays":      "the fleet creates no trail or log group (docs/fleet.md, \"The organization trail\")",
	"objectLockMode":        "the fleet creates no trail bucket (docs/fleet.md, \"The organization trail\")",
	"breakGlassArns":        "names principals of one account; name break-glass roles that exist in every member account with breakGlassRoleNames (docs/fleet.md, \"Key users and break-glass roles\")",
	"deployRoleArns":        "the fleet's deploy roles are fixed: the CDK bootstrap's execution role in the security account and the StackSets execution role stacksets-exec-* in the members (docs/fleet.md)",
}

// fleetContextProblems refuses, in deployment=org, the settings that only mean something for one stack,
// and in standalone the fleet settings, by whether the operator set them at all.
func (c Config) fleetContextProblems(context map[string]any) Problems {
	var p Problems
	if c.IsFleet() {
		keys := make([]string, 0, len(standaloneOnlyKeys))
		for k := range standaloneOnlyKeys {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if _, set := context[k]; set {
				p.Add(k, "is not used with deployment=org: it %s; remove %s", standaloneOnlyKeys[k], k)
			}
		}
	}
	return p
}

// fleetProblems validates the fleet settings, every problem at once.
func (c Config) fleetProblems() Problems {
	var p Problems
	f := c.Fleet
	switch f.Deployment {
	case "", DeploymentStandalone:
		for _, set := range []struct {
			key string
			on  bool
		}{{"organizationId", f.OrganizationID != ""}, {"securityAccount", f.SecurityAccount != ""},
			{"targetOus", len(f.TargetOus) > 0}, {"regions", len(f.Regions) > 0}, {"memberTrail", f.MemberTrail},
			{"multiRegionKey", f.MultiRegionKey}, {"orgTrailLogGroup", f.OrgTrailLogGroup != ""},
			{"keyUserRoleNames", len(f.KeyUserRoleNames) > 0}, {"breakGlassRoleNames", len(f.BreakGlassRoleNames) > 0}} {
			if set.on {
				p.Add(set.key, "is only used with deployment=org (docs/fleet.md); set \"deployment\": \"org\", or remove %s", set.key)
			}
		}
		return p
	case DeploymentOrg:
	default:
		p.Add("deployment", "%q is not a deployment shape: write %q (the default: one stack, README.md) or %q (an AWS Organization's fleet, docs/fleet.md)",
			f.Deployment, DeploymentStandalone, DeploymentOrg)
		return p
	}
	switch {
	case f.OrganizationID == "":
		p.Add("organizationId", "required with deployment=org: the organization whose accounts may send events to the central buses, o-... "+
			"(aws organizations describe-organization --query Organization.Id)")
	case !organizationID.MatchString(f.OrganizationID):
		p.Add("organizationId", "%q is not an organization id: o- followed by 10 to 32 lowercase letters or digits (aws organizations describe-organization --query Organization.Id)", f.OrganizationID)
	}
	switch {
	case f.SecurityAccount == "":
		p.Add("securityAccount", "required with deployment=org: the 12-digit id of the account that receives every alert and is the StackSets delegated administrator")
	case !accountID.MatchString(f.SecurityAccount):
		p.Add("securityAccount", "%q is not an account id: write the 12 digits, e.g. \"111122223333\"", f.SecurityAccount)
	}
	if len(f.TargetOus) == 0 {
		p.Add("targetOus", "required with deployment=org: the organizational units (ou-...) or the root (r-...) whose accounts get the key and the forwarding rules")
	}
	for _, ou := range f.TargetOus {
		if !ouOrRoot.MatchString(ou) {
			p.Add("targetOus", "%q is neither an organizational unit id (ou-xxxx-xxxxxxxx) nor a root id (r-xxxx): aws organizations list-roots / list-organizational-units-for-parent show them", ou)
		}
	}
	if len(f.Regions) == 0 {
		p.Add("regions", "required with deployment=org: the regions of the fleet, home region first (e.g. [\"us-east-1\", \"eu-west-1\"])")
	}
	for _, r := range f.Regions {
		if !regionName.MatchString(r) {
			p.Add("regions", "%q is not a region name (e.g. us-east-1, eu-west-1)", r)
		}
	}
	if len(f.Regions) > 0 && !slices.Contains(f.Regions, iamEventRegion) && f.OrgTrailLogGroup == "" {
		p.Add("regions", "does not include %s: IAM's events (new access keys, MFA devices and passwords of the key users and the administrator, "+
			"and their deletion and re-creation) reach EventBridge only in %s, so the fleet would never alert on them. Add %q to regions, "+
			"or name the organization trail's log group in orgTrailLogGroup (docs/fleet.md, \"IAM events\")", iamEventRegion, iamEventRegion, iamEventRegion)
	}
	if f.OrgTrailLogGroup != "" {
		if err := check.LogGroupName(f.OrgTrailLogGroup); err != nil {
			p.Add("orgTrailLogGroup", "%v: the organization trail's log group in the security account's home region (the first of regions)", err)
		}
	}
	p = append(p, c.memberRoleProblems()...)
	p = append(p, duplicates("targetOus", f.TargetOus)...)
	p = append(p, duplicates("regions", f.Regions)...)
	return p
}

// MaxMemberRoles caps keyUserRoleNames and breakGlassRoleNames each. Every key-user role name is in the
// member's key-danger and denied rules that watch the key-user roles (rules of their own, matching the name
// in any case); at four 64-character names, with the longest administrator and stack names, they stay well
// within the quota checker's 1,536 characters (TestFleetRolesAtTheirLimitsPassTheQuotaCheck, whose control
// finds how many roles go over). Break-glass roles share the cap: each is written twice in every key policy.
const MaxMemberRoles = 4

// MaxRolePath is the longest role path memberRoleProblems accepts: IAM allows 512 characters, but every
// key-user and break-glass ARN is written into the regional template, once or twice per key policy (and a
// multi-Region key has two), which StackSets pass inline (docs/fleet.md, "Template size").
const MaxRolePath = 64

var (
	// roleNameChars are IAM's role name characters (CreateRole, RoleName): letters, digits and +=,.@_-.
	roleNameChars = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	// rolePathChars are the path segments memberRoleProblems accepts: IAM's name characters. IAM itself
	// allows any printable ASCII in a path, but * and ? are wildcards in an ARN condition and ${ starts a
	// policy variable, so a path holding them would name more (or other) roles than the one meant.
	rolePathChars = regexp.MustCompile(`^/([A-Za-z0-9+=,.@_-]+/)*$`)
)

// MemberRole is one entry of keyUserRoleNames or breakGlassRoleNames: a role of that name and path in every
// member account.
type MemberRole struct {
	Path string // "/" or "/a/b/"
	Name string
}

// ParseMemberRole splits "NAME" or "/PATH/NAME" into path and name, and checks both against IAM's role
// rules (stricter on paths, see rolePathChars).
func ParseMemberRole(s string) (MemberRole, error) {
	path, name := "/", s
	if strings.HasPrefix(s, "/") {
		i := strings.LastIndex(s, "/")
		path, name = s[:i+1], s[i+1:]
	}
	switch {
	case strings.Contains(s, ":"):
		return MemberRole{}, fmt.Errorf("%q looks like an ARN: name the role by its name (MDBServer) or path and name (/mariadb/MDBServer); "+
			"each member account's own role of that name is meant", s)
	case !roleNameChars.MatchString(name):
		return MemberRole{}, fmt.Errorf("%q is not an IAM role name: 1 to 64 letters, digits or +=,.@_- (write NAME or /PATH/NAME)", s)
	case !rolePathChars.MatchString(path):
		return MemberRole{}, fmt.Errorf("%q has an unusable path %q: write /SEGMENT/.../NAME with segments of letters, digits or +=,.@_- "+
			"(no * ? or $: they are wildcards or variables in a policy)", s, path)
	case len(path) > MaxRolePath:
		return MemberRole{}, fmt.Errorf("%q has a path of %d characters; kmsguard accepts at most %d (every ARN is written into the inline StackSet template several times)", s, len(path), MaxRolePath)
	}
	return MemberRole{Path: path, Name: name}, nil
}

// ResourceName is the role's ARN resource name after "role/": its path without the leading slash, and its
// name.
func (r MemberRole) ResourceName() string { return strings.TrimPrefix(r.Path, "/") + r.Name }

// memberRoles parses entries, dropping the ones ParseMemberRole refuses (memberRoleProblems reports them).
func memberRoles(entries []string) []MemberRole {
	var out []MemberRole
	for _, e := range entries {
		if r, err := ParseMemberRole(e); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// memberRoleProblems checks keyUserRoleNames and breakGlassRoleNames: IAM's role rules, the cap, no role in
// both lists (a break-glass key user could rewrite the key policy to give itself more), none that the
// StackSets execution role pattern already exempts, and no role key users with requireMfa (as keyUserArns
// standalone: iam-kms-wrapper's MFA session comes from sts:GetSessionToken, which only IAM users can call).
func (c Config) memberRoleProblems() Problems {
	var p Problems
	f := c.Fleet
	execPrefix := strings.TrimSuffix(StackSetsExecRoleName, "*")
	for _, list := range []struct {
		key     string
		entries []string
	}{{"breakGlassRoleNames", f.BreakGlassRoleNames}, {"keyUserRoleNames", f.KeyUserRoleNames}} {
		if len(list.entries) > MaxMemberRoles {
			p.Add(list.key, "names %d roles; kmsguard accepts at most %d (each is in the member's rules, metric filters and key policy, "+
				"whose sizes AWS limits): let servers share a role", len(list.entries), MaxMemberRoles)
		}
		var roles []string
		for _, e := range list.entries {
			r, err := ParseMemberRole(e)
			if err != nil {
				p.Add(list.key, "%v", err)
				continue
			}
			if strings.HasPrefix(r.Name, execPrefix) {
				p.Add(list.key, "%q is named like the StackSets execution role (%s), which the key policy already exempts without MFA; name another role", e, StackSetsExecRoleName)
			}
			roles = append(roles, strings.ToLower(r.Path+r.Name))
		}
		// NAME and /NAME are the same role, and IAM does not distinguish names by case.
		p = append(p, duplicates(list.key, roles)...)
	}
	for _, r := range memberRoles(f.BreakGlassRoleNames) {
		for _, u := range memberRoles(f.KeyUserRoleNames) {
			if strings.EqualFold(r.Path+r.Name, u.Path+u.Name) {
				p.Add("breakGlassRoleNames", "%q is also in keyUserRoleNames: as break-glass a key user could rewrite the key policy to give itself more (separation of duties); name a separate role", r.Path+r.Name)
			}
		}
	}
	if len(f.KeyUserRoleNames) > 0 && c.RequireMfa {
		p.Add("requireMfa", "keyUserRoleNames names roles, and a role can never get MFA credentials through iam-kms-wrapper (sts:GetSessionToken is for IAM users): "+
			"remove keyUserRoleNames to use the server user, or set requireMfa=false")
	}
	return p
}
