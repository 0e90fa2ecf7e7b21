package replay

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Resolver supplies the values of CloudFormation references in event
// patterns, which exist only after deployment (see Resolve).
type Resolver struct {
	Partition, Region, Account string
	// KeyARN is the master key's ARN: GetAtt Arn of MasterKey; Ref gives
	// its key id.
	KeyARN string
	// MasterKey is the logical id of the master key. LoadRules sets it to
	// the template's KMS key with Metadata "kmsguard:role": "master-key".
	MasterKey string
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
	var tpl struct {
		Outputs map[string]struct{ Value any }
	}
	if err := json.Unmarshal(templateJSON, &tpl); err != nil {
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
			if ref, ok := refName(o.Value); ok {
				r.Values[ref] = s
			}
		}
	}
	return nil
}

// refName returns "X" for {"Ref": "X"} and "X.A" for {"Fn::GetAtt": [X, A]}.
func refName(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	if s, ok := m["Ref"].(string); ok {
		return s, true
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		if len(g) == 2 {
			a, ok1 := g[0].(string)
			b, ok2 := g[1].(string)
			if ok1 && ok2 {
				return a + "." + b, true
			}
		}
	case string:
		return g, strings.Contains(g, ".")
	}
	return "", false
}

type cfnResource struct {
	Type       string
	Metadata   map[string]any
	Properties map[string]any
}

// unresolvedPrefix starts the stand-in for a reference nobody supplied;
// no real event value starts with it, so such a leaf matches nothing.
const unresolvedPrefix = "kmsguard-unresolved:"

// LoadRules reads the AWS::Events::Rule resources of a CloudFormation
// template (sorted by logical id), resolves the intrinsics in their event
// patterns and compiles them. Warnings name every reference that could not
// be resolved and how to supply it; an error means the template or a
// pattern is unusable.
func LoadRules(templateJSON []byte, res Resolver) (Rules, []string, error) {
	var tpl struct {
		Resources map[string]cfnResource
	}
	if err := json.Unmarshal(templateJSON, &tpl); err != nil {
		return nil, nil, fmt.Errorf("template: %w", err)
	}
	res.MasterKey = ""
	for id, r := range tpl.Resources {
		if r.Type == "AWS::KMS::Key" && r.Metadata["kmsguard:role"] == "master-key" {
			res.MasterKey = id
		}
	}
	ids := make([]string, 0, len(tpl.Resources))
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Events::Rule" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var rules Rules
	var warnings []string
	for _, id := range ids {
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
		resolved, unresolved := res.Resolve(raw)
		for _, u := range unresolved {
			warnings = append(warnings, fmt.Sprintf("rule %s: cannot resolve %s (%s); that pattern value will match nothing", id, u.What, u.How))
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
		rule.InputTransformer = inputTransformer(r.Properties["Targets"])
		rules = append(rules, rule)
	}
	return rules, warnings, nil
}

func inputTransformer(targets any) *InputTransformer {
	list, _ := targets.([]any)
	for _, t := range list {
		m, _ := t.(map[string]any)
		it, ok := m["InputTransformer"].(map[string]any)
		if !ok {
			continue
		}
		out := &InputTransformer{InputPathsMap: map[string]string{}}
		out.InputTemplate, _ = it["InputTemplate"].(string)
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
