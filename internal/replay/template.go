package replay

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Resolver supplies the values of CloudFormation references in event
// patterns, which exist only after deployment. LoadRules resolves with
// cfntemplate; a reference nobody supplied becomes a stand-in that
// matches nothing, and a warning says how to supply it.
type Resolver struct {
	Partition, Region, Account string
	// KeyARN is the master key's ARN: GetAtt Arn of MasterKey; Ref gives
	// its key id.
	KeyARN string
	// MasterKey is the logical id of the master key. LoadRules sets it to
	// the template's KMS key with Metadata "kmsguard:role": "master-key".
	MasterKey string
	// MasterKeyReplica is the logical id of the fleet's multi-Region
	// replica of the master key ("kmsguard:role": "master-key-replica"),
	// which KeyARN also resolves: the key of the replayed region is the
	// primary or the replica, as the template's conditions decide.
	MasterKeyReplica string
	// Values are explicit values by "LogicalId" (for Ref) or
	// "LogicalId.Attr" (for Fn::GetAtt); they win over everything else.
	Values map[string]string
}

// NewResolver derives partition, region and account from a KMS key ARN
// (arn:PARTITION:kms:REGION:ACCOUNT:key/ID). An empty ARN is allowed.
func NewResolver(keyARN string) (Resolver, error) {
	r := Resolver{KeyARN: keyARN, Values: map[string]string{}}
	if keyARN == "" {
		return r, nil
	}
	parts := strings.SplitN(keyARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" || !strings.HasPrefix(parts[5], "key/") || len(parts[5]) == len("key/") {
		return Resolver{}, fmt.Errorf("key ARN %q is not arn:PARTITION:kms:REGION:ACCOUNT:key/ID", keyARN)
	}
	r.Partition, r.Region, r.Account = parts[1], parts[3], parts[4]
	return r, nil
}

// KeyID is the id part of KeyARN.
func (r Resolver) KeyID() string {
	_, id, _ := strings.Cut(r.KeyARN, ":key/")
	return id
}

// AddOutputs reads a `cdk deploy --outputs-file` JSON ({stack: {output:
// value}}) and, for every template output whose Value is exactly a Ref or
// Fn::GetAtt, records the deployed value under that reference.
func (r *Resolver) AddOutputs(templateJSON, outputsJSON []byte) error {
	var outs map[string]map[string]any
	if err := json.Unmarshal(outputsJSON, &outs); err != nil {
		return fmt.Errorf("outputs file: %w", err)
	}
	tpl, err := cfntemplate.Parse(templateJSON)
	if err != nil {
		return fmt.Errorf("template: %w", err)
	}
	if r.Values == nil {
		r.Values = map[string]string{}
	}
	for _, stack := range outs {
		for name, val := range stack {
			o, ok := tpl.Outputs[name]
			s, isStr := val.(string)
			if !ok || !isStr {
				continue
			}
			if ref, ok := cfntemplate.RefOf(o.Value); ok {
				r.Values[ref.String()] = s
			}
		}
	}
	return nil
}

// cfnResolver is r as a cfntemplate.Resolver: explicit values, the pseudo
// parameters, then the master key (Ref is its key id, GetAtt Arn its ARN).
func (r Resolver) cfnResolver(t *cfntemplate.Template) *cfntemplate.Resolver {
	return &cfntemplate.Resolver{
		Template: t,
		Values:   r.Values,
		Pseudo:   cfntemplate.Pseudo{Partition: r.Partition, Region: r.Region, AccountID: r.Account},
		Fallback: func(ref cfntemplate.Ref) (string, bool) {
			if r.KeyARN == "" || ref.ID == "" || (ref.ID != r.MasterKey && ref.ID != r.MasterKeyReplica) {
				return "", false
			}
			switch ref.Attr {
			case "", "KeyId":
				return r.KeyID(), true
			case "Arn":
				return r.KeyARN, true
			}
			return "", false
		},
	}
}

// how says how kmsguard-replay is given the value of an unresolved
// reference.
func (r Resolver) how(what string) string {
	switch {
	case strings.HasPrefix(what, "{"):
		return "this intrinsic function is not supported"
	case strings.HasPrefix(what, "AWS::"):
		return fmt.Sprintf("pass --key-arn, --region/--account, or --resolve %s=VALUE", what)
	case r.MasterKey != "" && strings.HasPrefix(what, r.MasterKey):
		return "pass --key-arn"
	}
	return fmt.Sprintf("pass --resolve %s=VALUE or --outputs FILE", what)
}

// LoadRules reads the AWS::Events::Rule resources of a CloudFormation
// template (sorted by logical id), resolves the intrinsics in their event
// patterns and compiles them. Warnings name every reference that could not
// be resolved and how to supply it; an error means the template or a
// pattern is unusable.
func LoadRules(templateJSON []byte, res Resolver) (Rules, []string, error) {
	tpl, err := cfntemplate.Parse(templateJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("template: %w", err)
	}
	res.MasterKey, res.MasterKeyReplica = "", ""
	for _, id := range tpl.WithMetadata("kmsguard:role", "master-key") {
		if tpl.Resources[id].Type == "AWS::KMS::Key" {
			res.MasterKey = id
		}
	}
	for _, id := range tpl.WithMetadata("kmsguard:role", "master-key-replica") {
		if tpl.Resources[id].Type == "AWS::KMS::ReplicaKey" {
			res.MasterKeyReplica = id
		}
	}
	resolver := res.cfnResolver(tpl)
	var rules Rules
	var warnings []string
	for _, id := range tpl.OfType("AWS::Events::Rule") {
		r := tpl.Resources[id]
		raw, ok := r.Properties["EventPattern"]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("rule %s has no EventPattern (scheduled rule?); ignored", id))
			continue
		}
		if s, isStr := raw.(string); isStr { // EventPattern may be a JSON string
			if err := json.Unmarshal([]byte(s), &raw); err != nil {
				return nil, nil, fmt.Errorf("rule %s: EventPattern string: %w", id, err)
			}
		}
		resolved, unresolved := resolver.Resolve(raw)
		for _, u := range unresolved {
			warnings = append(warnings, fmt.Sprintf("rule %s: cannot resolve %s (%s); that pattern value will match nothing", id, u.What, res.how(u.What)))
		}
		pj, err := json.Marshal(resolved)
		if err != nil {
			return nil, nil, fmt.Errorf("rule %s: %w", id, err)
		}
		pat, err := ep.Compile(pj)
		if err != nil {
			return nil, nil, fmt.Errorf("rule %s: %w", id, err)
		}
		rule := Rule{LogicalID: id, Tier: id, State: Enabled, Pattern: pat, PatternJSON: pj}
		if t, ok := r.Metadata["kmsguard:tier"].(string); ok && t != "" {
			rule.Tier = t
		}
		if s, ok := r.Properties["State"].(string); ok && s != "" {
			switch State(s) {
			case Enabled, Disabled, EnabledWithAllMgmtEvent:
				rule.State = State(s)
			default:
				return nil, nil, fmt.Errorf("rule %s: unknown State %q", id, s)
			}
		}
		rule.InputTransformer = inputTransformer(r.Properties["Targets"], resolver)
		rules = append(rules, rule)
	}
	return rules, warnings, nil
}

// inputTransformer is the first target's InputTransformer with its intrinsics resolved (CDK writes an
// InputTemplate that names a resource as an Fn::Join); a template that stays unresolved is left empty,
// which Render reports.
func inputTransformer(targets any, resolver *cfntemplate.Resolver) *InputTransformer {
	list, _ := targets.([]any)
	for _, t := range list {
		m, _ := t.(map[string]any)
		it, ok := m["InputTransformer"].(map[string]any)
		if !ok {
			continue
		}
		out := &InputTransformer{InputPathsMap: map[string]string{}}
		if tpl, unresolved := resolver.Resolve(it["InputTemplate"]); len(unresolved) == 0 {
			out.InputTemplate, _ = tpl.(string)
		}
		if pm, ok := it["InputPathsMap"].(map[string]any); ok {
			for k, v := range pm {
				if s, ok := v.(string); ok {
					out.InputPathsMap[k] = s
				}
			}
		}
		return out
	}
	return nil
}
