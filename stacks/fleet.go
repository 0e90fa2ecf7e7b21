package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/quota"
)

// Fleet is the organization-wide shape of cfg (docs/fleet.md): a central stack per region in the security
// account, deployed with cdk deploy, and the StackSet templates of the member accounts, which the home
// region's central stack carries inline. Nothing in it grows with the number of accounts or OUs: the
// StackSets fan out, not the app.
type Fleet struct {
	Config   Config
	Member   *MemberStack
	Identity *IdentityStack
	// Central are the central stacks in cfg's region order; Central[0] is the home region's.
	Central []*CentralStack
	// Templates are the StackSet templates as synthesized (the files written next to the central stacks'
	// templates by WriteTemplates), by StackSet name.
	Templates map[string][]byte
}

// NewFleet builds the fleet into app. The StackSet templates are synthesized first, in an app of their own
// that is never deployed (they are not stacks of the security account), and go into the home region's
// central stack as TemplateBody, or through TemplateURL as its file asset when over the inline limit.
func NewFleet(app awscdk.App, cfg Config) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.IsFleet() {
		return nil, fmt.Errorf("kmsguard: NewFleet needs deployment=org")
	}
	dir, err := os.MkdirTemp("", "kmsguard-stacksets-")
	if err != nil {
		return nil, fmt.Errorf("StackSet templates: %w", err)
	}
	defer os.RemoveAll(dir)
	f := &Fleet{Config: cfg, Templates: map[string][]byte{}}
	members := NewApp(dir, false)
	f.Member = NewMemberStack(members, cfg)
	f.Identity = NewIdentityStack(members, cfg)
	members.Synth(nil)
	var sets []StackSetTemplate
	for _, s := range []struct {
		name, capability string
		regions          []string
	}{
		{cfg.IdentityStackSetName(), "CAPABILITY_NAMED_IAM", []string{cfg.HomeRegion()}},
		{cfg.RegionalStackSetName(), "CAPABILITY_IAM", cfg.Fleet.Regions},
	} {
		raw, err := os.ReadFile(filepath.Join(dir, s.name+".template.json"))
		if err != nil {
			return nil, fmt.Errorf("StackSet template %s: %w", s.name, err)
		}
		f.Templates[s.name] = raw
		var body bytes.Buffer
		if err := json.Compact(&body, raw); err != nil {
			return nil, fmt.Errorf("StackSet template %s: %w", s.name, err)
		}
		// Inline while the compacted body fits, otherwise the template as written for review goes to S3
		// through TemplateURL (docs/fleet.md, "Template size"); over S3's limit, nothing can carry it.
		if body.Len() > MaxTemplateBody && len(raw) > MaxTemplateURLSize {
			fix := "shorten keyAlias or name fewer allowedCidrs/allowedVpcEndpoints"
			if cfg.Fleet.MultiRegionKey {
				fix = "shorten stackName, adminUserName, serverUserName or keyAlias, name fewer allowedCidrs/allowedVpcEndpoints, " +
					"or turn off multiRegionKey or memberTrail (each adds to the regional template)"
			}
			return nil, fmt.Errorf("kmsguard: the StackSet template %s is %d bytes, over CloudFormation's limit of %d bytes for a template in Amazon S3 "+
				"(TemplateURL; docs/fleet.md, \"Template size\"); %s", s.name, len(raw), MaxTemplateURLSize, fix)
		}
		sets = append(sets, StackSetTemplate{Name: s.name, Regions: s.regions, Capability: s.capability, Body: body.String(), File: raw})
	}
	for i, region := range cfg.Fleet.Regions {
		var own []StackSetTemplate
		if i == 0 {
			own = sets
		}
		f.Central = append(f.Central, NewCentralStack(app, cfg, region, own))
	}
	// The home region's stack starts the StackSets, whose members forward to every region's buses: the
	// other central stacks deploy first (cdk deploy --all follows this order).
	for _, other := range f.Central[1:] {
		f.Central[0].AddStackDependency(other.Stack, jsii.String("the member stacks forward to this region's buses"))
	}
	// The dashboard shows every region's central stack: it is added once they all exist (docs/fleet.md, "Dashboard").
	f.Central[0].addFleetDashboard(cfg, f.Central)
	return f, nil
}

// TemplateNames are the names of every template the fleet writes, central stacks first.
func (f *Fleet) TemplateNames() []string {
	var names []string
	for _, c := range f.Central {
		names = append(names, *c.StackName())
	}
	return append(names, f.Config.IdentityStackSetName(), f.Config.RegionalStackSetName())
}

// WriteTemplates writes each StackSet template to outdir as NAME.template.json, beside the central stacks'
// templates, for review (cdk.out), snapshot tests and the quota check. Call it after app.Synth.
func (f *Fleet) WriteTemplates(outdir string) error {
	for name, raw := range f.Templates {
		if err := os.WriteFile(filepath.Join(outdir, name+".template.json"), raw, 0o644); err != nil {
			return fmt.Errorf("write StackSet template: %w", err)
		}
	}
	return nil
}

// CheckFleetQuotas runs the quota checker on every template of the fleet in outdir, at the longest names
// the configuration accepts, like CheckQuotas for the standalone stack.
func CheckFleetQuotas(f *Fleet, outdir string) error {
	var problems Problems
	for _, name := range f.TemplateNames() {
		tpl, err := cfntemplate.Load(filepath.Join(outdir, name+".template.json"))
		if err != nil {
			return err
		}
		for _, finding := range quota.Check(tpl, check.MaxStackName).Findings {
			problems.Add(f.Config.settingBehind(finding), "%s: %s. %s", name, finding, f.Config.quotaFix(finding))
		}
	}
	if len(problems) > 0 {
		return &QuotaError{Problems: problems}
	}
	return nil
}
