// Package cfntemplate is kmsguard's one reader of synthesized CloudFormation templates. Every tool that
// looks inside a template — replay, the synth summary, the quota checker, the emulator deploy and the tests
// — loads it here and resolves its intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select,
// Fn::Split, pseudo parameters, parameter defaults) with a Resolver, so that they all agree on what a
// template means.
//
// A Resolver takes values from three places, in this order: explicit Values (deployed values, from a
// `cdk deploy --outputs-file` or a test), the pseudo parameters and parameter defaults, and a Fallback.
// The Fallback decides what an unknown reference becomes: a placeholder that matches nothing (replay), a
// readable "<Id.Attr>" (the summary), or the longest value the reference can take at deploy time (the quota
// checker, see Longest and docs/quotas.md).
package cfntemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// Template is a parsed CloudFormation template. Properties and values stay as encoding/json decoded
// them (map[string]any, []any, string, float64, bool), intrinsics included, until a Resolver resolves them.
type Template struct {
	Description string               `json:"Description,omitempty"`
	Parameters  map[string]Parameter `json:"Parameters,omitempty"`
	Mappings    map[string]any       `json:"Mappings,omitempty"`
	Conditions  map[string]any       `json:"Conditions,omitempty"`
	Resources   map[string]Resource  `json:"Resources"`
	Outputs     map[string]Output    `json:"Outputs,omitempty"`
}

// Resource is one entry of a template's Resources.
type Resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties,omitempty"`
	Metadata            map[string]any `json:"Metadata,omitempty"`
	DependsOn           any            `json:"DependsOn,omitempty"`
	Condition           string         `json:"Condition,omitempty"`
	DeletionPolicy      string         `json:"DeletionPolicy,omitempty"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy,omitempty"`
}

// Parameter is one entry of a template's Parameters; Default is what a deploy uses when none is given.
type Parameter struct {
	Type    string `json:"Type"`
	Default any    `json:"Default,omitempty"`
}

// Output is one entry of a template's Outputs.
type Output struct {
	Description string `json:"Description,omitempty"`
	Value       any    `json:"Value"`
	Export      any    `json:"Export,omitempty"`
}

// Parse reads a template from JSON. A document without a Resources map is not a template.
func Parse(raw []byte) (*Template, error) {
	var t Template
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("not a CloudFormation template: %w", err)
	}
	if t.Resources == nil {
		return nil, fmt.Errorf("not a CloudFormation template: no Resources")
	}
	return &t, nil
}

// Load reads and parses the template file at path.
func Load(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// IDs returns every logical id, sorted, so that whatever walks the template does it in a stable order.
func (t *Template) IDs() []string { return slices.Sorted(maps.Keys(t.Resources)) }

// OfType returns the logical ids of the resources of one type, sorted.
func (t *Template) OfType(typ string) []string {
	var out []string
	for _, id := range t.IDs() {
		if t.Resources[id].Type == typ {
			out = append(out, id)
		}
	}
	return out
}

// WithMetadata returns the logical ids, sorted, of the resources whose Metadata has key = value (kmsguard
// marks its roles, for example "kmsguard:role": "master-key").
func (t *Template) WithMetadata(key, value string) []string {
	var out []string
	for _, id := range t.IDs() {
		if v, ok := t.Resources[id].Metadata[key].(string); ok && v == value {
			out = append(out, id)
		}
	}
	return out
}

// OneWithMetadata is WithMetadata for a role that exactly one resource has.
func (t *Template) OneWithMetadata(key, value string) (string, error) {
	ids := t.WithMetadata(key, value)
	if len(ids) != 1 {
		return "", fmt.Errorf("want one resource with Metadata %s=%s, found %d %v", key, value, len(ids), ids)
	}
	return ids[0], nil
}

// OutputIDs returns the output names, sorted.
func (t *Template) OutputIDs() []string { return slices.Sorted(maps.Keys(t.Outputs)) }

// Ref names what a Ref or Fn::GetAtt points at: ID alone for Ref, ID and Attr for Fn::GetAtt.
type Ref struct {
	ID, Attr string
}

// String is "ID" or "ID.Attr", the key of Resolver.Values.
func (r Ref) String() string {
	if r.Attr == "" {
		return r.ID
	}
	return r.ID + "." + r.Attr
}

// IsPseudo reports whether r is a pseudo parameter (AWS::Region and the like).
func (r Ref) IsPseudo() bool { return r.Attr == "" && strings.HasPrefix(r.ID, "AWS::") }

// RefOf returns the reference in {"Ref": X} or {"Fn::GetAtt": [X, A]} (or "X.A"); ok is false for
// anything else.
func RefOf(v any) (Ref, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return Ref{}, false
	}
	if s, ok := m["Ref"].(string); ok {
		return Ref{ID: s}, true
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		if len(g) == 2 {
			id, ok1 := g[0].(string)
			attr, ok2 := g[1].(string)
			if ok1 && ok2 {
				return Ref{ID: id, Attr: attr}, true
			}
		}
	case string:
		if id, attr, ok := strings.Cut(g, "."); ok {
			return Ref{ID: id, Attr: attr}, true
		}
	}
	return Ref{}, false
}

// IsIntrinsic reports whether v is a one-key map whose key is Ref or Fn::…, the shape of every intrinsic
// function.
func IsIntrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// Refs calls visit for every Ref and Fn::GetAtt inside v (a Fn::Sub's ${X} and ${X.A} included), with
// the path of map keys that leads to it. Keys that are not field names — "$or", EventBridge's operators
// (prefix, suffix, wildcard, anything-but, …) and the intrinsic functions themselves — are left out of the
// path, so that in an event pattern the path is the event field the value is compared with. Maps are
// walked in key order.
func Refs(v any, visit func(path []string, r Ref)) {
	refs(v, nil, visit)
}

// notAField are the keys Refs leaves out of a path.
var notAField = map[string]bool{
	"$or": true, "prefix": true, "suffix": true, "wildcard": true, "anything-but": true, "equals-ignore-case": true,
	"exists": true, "numeric": true, "cidr": true,
}

func refs(v any, path []string, visit func([]string, Ref)) {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := RefOf(x); ok {
			visit(slices.Clone(path), r)
			return
		}
		if sub, ok := x["Fn::Sub"]; ok && len(x) == 1 {
			tmpl, vars := subArgs(sub)
			for _, name := range subNames(tmpl) {
				if _, local := vars[name]; local {
					continue
				}
				id, attr, _ := strings.Cut(name, ".")
				visit(slices.Clone(path), Ref{ID: id, Attr: attr})
			}
			for _, k := range slices.Sorted(maps.Keys(vars)) {
				refs(vars[k], path, visit)
			}
			return
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := path
			if !notAField[k] && !strings.HasPrefix(k, "Fn::") {
				p = append(slices.Clone(path), k)
			}
			refs(x[k], p, visit)
		}
	case []any:
		for _, e := range x {
			refs(e, path, visit)
		}
	}
}

// Rewrite returns a copy of v in which every intrinsic function node (see IsIntrinsic) for which f
// returns ok is replaced by f's value; other nodes are copied as they are and walked. v is not modified.
func Rewrite(v any, f func(node map[string]any) (any, bool)) any {
	switch x := v.(type) {
	case map[string]any:
		if IsIntrinsic(x) {
			if out, ok := f(x); ok {
				return out
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Rewrite(e, f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Rewrite(e, f)
		}
		return out
	default:
		return v
	}
}

// subArgs splits Fn::Sub's argument into its template string and variable map.
func subArgs(arg any) (string, map[string]any) {
	switch t := arg.(type) {
	case string:
		return t, nil
	case []any:
		if len(t) == 2 {
			s, _ := t[0].(string)
			m, _ := t[1].(map[string]any)
			return s, m
		}
	}
	return "", nil
}

// subNames lists the ${Name} references of a Fn::Sub template in order (${!Literal} is not one).
func subNames(tmpl string) []string {
	var out []string
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			return out
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return out
		}
		name := tmpl[i+2 : i+end]
		tmpl = tmpl[i+end+1:]
		if !strings.HasPrefix(name, "!") {
			out = append(out, name)
		}
	}
}
