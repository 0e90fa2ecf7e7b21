package stacks

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/check"
	"github.com/kmsguard/kmsguard/internal/quota"
)

// QuotaError is what CheckQuotas returns when the synthesized template would break an AWS quota at
// deploy time: each problem names the setting that made it too large and how to fix it.
type QuotaError struct{ Problems Problems }

func (e *QuotaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kmsguard: the template would break %d AWS quota(s) at deploy time (docs/quotas.md); do not deploy it:", len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  - %s: %s", p.Key, p.Message)
	}
	return b.String()
}

// CheckQuotas runs the quota checker on the synthesized template of cfg's stack in outdir, at the longest
// names the configuration accepts (a stack name of check.MaxStackName characters, every generated name at
// its longest). It returns a *QuotaError naming the settings behind each finding, or nil. It is part of
// every synth (bin/main.go), because pattern and policy sizes grow with the operator's own values.
func CheckQuotas(cfg Config, outdir string) (quota.Report, error) {
	tpl, err := cfntemplate.Load(filepath.Join(outdir, cfg.StackName+".template.json"))
	if err != nil {
		return quota.Report{}, err
	}
	report := quota.Check(tpl, check.MaxStackName)
	if len(report.Findings) == 0 {
		return report, nil
	}
	var problems Problems
	for _, f := range report.Findings {
		problems.Add(cfg.settingBehind(f), "%s. %s", f, cfg.quotaFix(f))
	}
	return report, &QuotaError{Problems: problems}
}

// settingBehind names the configuration keys whose values make up the text that is too long (a pattern,
// a policy, a name), longest contribution first; "template" when none does, which is a kmsguard bug.
func (c Config) settingBehind(f quota.Finding) string {
	type share struct {
		key string
		n   int
	}
	values := map[string][]string{
		"keyUserArns":           c.KeyUserArns,
		"keyAlias":              {c.KeyAlias},
		"trailName":             {c.TrailName},
		"stackName":             {c.StackName},
		"adminUserName":         {c.AdminUserName},
		"allowedCidrs":          c.AllowedCidrs,
		"allowedVpcEndpoints":   c.AllowedVpcEndpoints,
		"existingTrailArn":      {c.ExistingTrailArn},
		"existingTrailLogGroup": {c.ExistingTrailLogGroup},
		"orgTrailLogGroup":      {c.Fleet.OrgTrailLogGroup},
		"breakGlassArns":        c.BreakGlassArns,
		"deployRoleArns":        c.DeployRoleArns,
		"keyUserRoleNames":      c.Fleet.KeyUserRoleNames,
		"breakGlassRoleNames":   c.Fleet.BreakGlassRoleNames,
	}
	if len(c.KeyUserArns) == 0 {
		values["serverUserName"] = []string{c.ServerUserName}
	} else {
		values["keyUserArns"] = append(append([]string{}, c.KeyUserArns...), c.watchedUserNames()[1:]...)
	}
	var shares []share
	for key, vs := range values {
		n := 0
		for _, v := range vs {
			if v != "" && f.Text != "" {
				n += strings.Count(f.Text, v) * len(v)
			}
		}
		if n > 0 {
			shares = append(shares, share{key, n})
		}
	}
	if len(shares) == 0 {
		if strings.Contains(f.Quota, "policy") {
			return "keyUserArns, allowedCidrs, allowedVpcEndpoints, breakGlassArns, deployRoleArns"
		}
		return "template"
	}
	slices.SortFunc(shares, func(a, b share) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.key, b.key)
	})
	keys := make([]string, len(shares))
	for i, s := range shares {
		keys[i] = s.key
	}
	return strings.Join(keys, ", ")
}

// quotaFix says what the operator can do about a finding.
func (c Config) quotaFix(f quota.Finding) string {
	switch {
	case strings.Contains(f.Quota, "event pattern") || strings.Contains(f.Quota, "metric filter pattern"):
		return "Name fewer key users (servers can share one IAM user or role) or shorten the named values"
	case strings.Contains(f.Quota, "name length"):
		return "Shorten the name"
	case strings.Contains(f.Quota, "policy"):
		return "Name fewer key users, CIDR ranges, VPC endpoints, break-glass principals or deploy roles"
	}
	return "This is a kmsguard bug if no setting is named: please report it with your configuration"
}
