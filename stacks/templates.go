package stacks

// TemplateNames are the names of the templates a synth of c writes to cdk.out (NAME.template.json), in the
// order make synth summarizes them: the standalone stack alone; for a fleet (docs/fleet.md) the central
// stacks in the order of regions, then the identity and regional StackSet templates. The names follow from
// the configuration alone, so the Makefile can remove stale templates before a synth and review each
// template after it.
func (c Config) TemplateNames() []string {
	if !c.IsFleet() {
		return []string{c.StackName}
	}
	var names []string
	for _, region := range c.Fleet.Regions {
		names = append(names, c.CentralStackName(region))
	}
	return append(names, c.IdentityStackSetName(), c.RegionalStackSetName())
}
