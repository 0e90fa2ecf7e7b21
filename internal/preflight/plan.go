package preflight

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/quota"
	"github.com/kmsguard/kmsguard/stacks"
)

// Plan is what the template would create, as the checks need it: the fixed names that could collide, the
// shares of the per-region and per-bus quotas, the bootstrap it needs and the permissions creating it takes.
type Plan struct {
	Stack string
	// Fixed names the template gives its resources, resolved for the target account and region (a name
	// CloudFormation generates, or one built from the stack id, cannot collide and is left out).
	Users, Aliases, LogGroups, Dashboards, Trails, RuleNames []string
	// ExistingTrailArn and ExistingLogGroup are the configuration's existingTrailArn and
	// existingTrailLogGroup: things that must exist, not names that must be free.
	ExistingTrailArn, ExistingLogGroup string
	// FiltersOnExistingLogGroup counts the metric filters the template puts on ExistingLogGroup.
	FiltersOnExistingLogGroup int
	// Usage is kmsguard's share of the shared quotas, from the quota checker (at the longest names).
	Usage quota.Usage
	// Bootstrap is nil when the template does not need a CDK bootstrap.
	Bootstrap *BootstrapNeed
	// Network: the key policy's allowed networks (a VPC endpoint check applies only when one is set).
	AllowedCidrs, AllowedVpcEndpoints []string
	// ResourceTypes are the template's resource types, sorted, for the permission check.
	ResourceTypes []string
}

// BootstrapNeed is what the template's CheckBootstrapVersion rule asserts: the SSM parameter holding the
// bootstrap version, and the versions it refuses.
type BootstrapNeed struct {
	Parameter string
	Qualifier string
	Refused   []string
}

// Minimum is the lowest version the rule accepts (one above the highest refused).
func (b BootstrapNeed) Minimum() int {
	m := 0
	for _, v := range b.Refused {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n >= m {
			m = n + 1
		}
	}
	return m
}

// NewPlan reads the synthesized template (raw, as written by cdk synth) and the project configuration it
// was synthesized from, and resolves the fixed names for account and region.
func NewPlan(raw []byte, cfg stacks.Config, partition, region, account string) (Plan, error) {
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Stack: cfg.StackName, ExistingTrailArn: cfg.ExistingTrailArn, ExistingLogGroup: cfg.ExistingTrailLogGroup,
		AllowedCidrs: cfg.AllowedCidrs, AllowedVpcEndpoints: cfg.AllowedVpcEndpoints}
	res := &cfntemplate.Resolver{Template: tpl, Pseudo: cfntemplate.Pseudo{Partition: partition, Region: region, AccountID: account, StackName: cfg.StackName}}
	name := func(id, prop string) (string, bool) {
		v, ok := tpl.Resources[id].Properties[prop]
		if !ok {
			return "", false // CloudFormation generates it
		}
		s, unresolved := res.String(v)
		return s, len(unresolved) == 0 // a reference left (the stack id): new for every stack
	}
	types := map[string]bool{}
	for _, id := range tpl.IDs() {
		r := tpl.Resources[id]
		types[r.Type] = true
		var list *[]string
		var prop string
		switch r.Type {
		case "AWS::IAM::User":
			list, prop = &p.Users, "UserName"
		case "AWS::KMS::Alias":
			list, prop = &p.Aliases, "AliasName"
		case "AWS::Logs::LogGroup":
			list, prop = &p.LogGroups, "LogGroupName"
		case "AWS::CloudWatch::Dashboard":
			list, prop = &p.Dashboards, "DashboardName"
		case "AWS::CloudTrail::Trail":
			list, prop = &p.Trails, "TrailName"
		case "AWS::Events::Rule":
			list, prop = &p.RuleNames, "Name"
		case "AWS::Logs::MetricFilter":
			if g, ok := name(id, "LogGroupName"); ok && g == p.ExistingLogGroup && g != "" {
				p.FiltersOnExistingLogGroup++
			}
			continue
		default:
			continue
		}
		if n, ok := name(id, prop); ok {
			*list = append(*list, n)
		}
	}
	for t := range types {
		p.ResourceTypes = append(p.ResourceTypes, t)
	}
	slices.Sort(p.ResourceTypes)
	p.Usage = quota.Check(tpl, check.MaxStackName).Usage
	p.Bootstrap, err = bootstrapNeed(raw)
	return p, err
}

// bootstrapNeed reads the BootstrapVersion parameter and the CheckBootstrapVersion rule the CDK's default
// synthesizer writes; a template without them (another synthesizer) needs no bootstrap check.
func bootstrapNeed(raw []byte) (*BootstrapNeed, error) {
	var doc struct {
		Parameters map[string]struct {
			Type    string `json:"Type"`
			Default string `json:"Default"`
		} `json:"Parameters"`
		Rules map[string]struct {
			Assertions []struct {
				Assert any `json:"Assert"`
			} `json:"Assertions"`
		} `json:"Rules"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	param, ok := doc.Parameters["BootstrapVersion"]
	if !ok || !strings.HasPrefix(param.Type, "AWS::SSM::Parameter::Value") {
		return nil, nil
	}
	need := &BootstrapNeed{Parameter: param.Default}
	// /cdk-bootstrap/QUALIFIER/version
	if parts := strings.Split(strings.Trim(param.Default, "/"), "/"); len(parts) == 3 && parts[0] == "cdk-bootstrap" {
		need.Qualifier = parts[1]
	}
	for _, a := range doc.Rules["CheckBootstrapVersion"].Assertions {
		// {"Fn::Not": [{"Fn::Contains": [["1", …], {"Ref": "BootstrapVersion"}]}]}
		not, _ := a.Assert.(map[string]any)["Fn::Not"].([]any)
		if len(not) != 1 {
			continue
		}
		contains, _ := not[0].(map[string]any)["Fn::Contains"].([]any)
		if len(contains) != 2 {
			continue
		}
		refused, _ := contains[0].([]any)
		for _, v := range refused {
			if s, ok := v.(string); ok {
				need.Refused = append(need.Refused, s)
			}
		}
	}
	return need, nil
}
