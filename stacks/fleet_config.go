package stacks

import (
	"regexp"
	"slices"

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
	"keyUserArns":           "names principals of one account; every member account gets the server user serverUserName from the identity StackSet",
	"adminUserArn":          "names a user of one account; every member account gets the administrator adminUserName from the identity StackSet",
	"existingTrailArn":      "the fleet relies on the organization trail and creates no trail of its own (docs/fleet.md, \"The organization trail\")",
	"existingTrailLogGroup": "the fleet relies on the organization trail and creates no trail of its own (docs/fleet.md, \"The organization trail\")",
	"trailName":             "the fleet creates no trail (docs/fleet.md, \"The organization trail\")",
	"logRetentionDays":      "the fleet creates no trail or log group (docs/fleet.md, \"The organization trail\")",
	"objectLockMode":        "the fleet creates no trail bucket (docs/fleet.md, \"The organization trail\")",
	"breakGlassArns":        "names principals of one account; fleet break-glass principals are not supported yet (docs/fleet.md, \"Not yet\")",
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
			{"multiRegionKey", f.MultiRegionKey}, {"orgTrailLogGroup", f.OrgTrailLogGroup != ""}} {
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
	p = append(p, duplicates("targetOus", f.TargetOus)...)
	p = append(p, duplicates("regions", f.Regions)...)
	return p
}
