package replay

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Unresolved is one reference or function that Resolve could not evaluate.
type Unresolved struct {
	What string // "X" (Ref), "X.Attr" (Fn::GetAtt), "AWS::Region", or the function as JSON
	How  string // how kmsguard-replay is given the value
}

// String is What: the reference alone, for callers that are not kmsguard-replay.
func (u Unresolved) String() string { return u.What }

// Resolve returns v, a value decoded by encoding/json from a CloudFormation
// template, with every intrinsic function (Ref, Fn::GetAtt, Fn::Join,
// Fn::Sub, Fn::Select) replaced by its string value: Values first, then the
// pseudo parameters of Partition, Region and Account, then the master key
// (MasterKey, KeyARN). Maps and slices are copied, never modified. Whatever
// it cannot resolve becomes a stand-in string that no real value equals, so
// a pattern leaf holding it matches nothing, and is listed in the order met
// (map keys sorted).
func (r Resolver) Resolve(v any) (any, []Unresolved) {
	c := resolveCtx{res: r}
	out := c.walk(v)
	return out, c.unresolved
}

// resolveCtx is one Resolve call.
type resolveCtx struct {
	res        Resolver
	unresolved []Unresolved
}

// walk returns v with every intrinsic function replaced by its value.
func (c *resolveCtx) walk(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 1 {
			for k := range t {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					s, _ := c.intrinsic(t)
					return s
				}
			}
		}
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) { // deterministic order of Unresolved
			out[k] = c.walk(t[k])
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = c.walk(e)
		}
		return out
	default:
		return v
	}
}

// intrinsic evaluates Ref, Fn::GetAtt, Fn::Join, Fn::Sub and Fn::Select to
// a string. Anything unknown yields a stand-in that matches nothing, and a
// warning.
func (c *resolveCtx) intrinsic(m map[string]any) (string, bool) {
	if ref, ok := refName(m); ok {
		return c.lookup(ref)
	}
	if j, ok := m["Fn::Join"].([]any); ok && len(j) == 2 {
		sep, _ := j[0].(string)
		parts, _ := j[1].([]any)
		strs := make([]string, 0, len(parts))
		okAll := true
		for _, p := range parts {
			s, ok := c.scalar(p)
			okAll = okAll && ok
			strs = append(strs, s)
		}
		return strings.Join(strs, sep), okAll
	}
	if s, ok := m["Fn::Select"].([]any); ok && len(s) == 2 {
		idx, err := strconv.Atoi(fmt.Sprint(s[0]))
		list, isList := s[1].([]any)
		if err == nil && isList && idx >= 0 && idx < len(list) {
			return c.scalar(list[idx])
		}
	}
	if sub, ok := m["Fn::Sub"]; ok {
		return c.sub(sub)
	}
	return c.unresolve(m, "this intrinsic function is not supported")
}

func (c *resolveCtx) scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case map[string]any:
		return c.intrinsic(t)
	default:
		return fmt.Sprint(t), true
	}
}

func (c *resolveCtx) sub(arg any) (string, bool) {
	var tmpl string
	vars := map[string]string{}
	okAll := true
	switch t := arg.(type) {
	case string:
		tmpl = t
	case []any:
		if len(t) != 2 {
			return c.unresolve(map[string]any{"Fn::Sub": arg}, "malformed Fn::Sub")
		}
		tmpl, _ = t[0].(string)
		m, _ := t[1].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s, ok := c.scalar(m[k])
			okAll = okAll && ok
			vars[k] = s
		}
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			b.WriteString(tmpl[i:])
			break
		}
		name := tmpl[i+2 : i+end]
		tmpl = tmpl[i+end+1:]
		if strings.HasPrefix(name, "!") { // ${!Literal}
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		if v, ok := vars[name]; ok {
			b.WriteString(v)
			continue
		}
		s, ok := c.lookup(name)
		okAll = okAll && ok
		b.WriteString(s)
	}
	return b.String(), okAll
}

// lookup resolves "X" (Ref) or "X.Attr" (GetAtt).
func (c *resolveCtx) lookup(ref string) (string, bool) {
	if v, ok := c.res.Values[ref]; ok {
		return v, true
	}
	pseudo := map[string]string{
		"AWS::Partition": c.res.Partition,
		"AWS::Region":    c.res.Region,
		"AWS::AccountId": c.res.Account,
	}
	if c.res.Partition != "" {
		pseudo["AWS::URLSuffix"] = "amazonaws.com"
		if c.res.Partition == "aws-cn" {
			pseudo["AWS::URLSuffix"] = "amazonaws.com.cn"
		}
	}
	if v, ok := pseudo[ref]; ok && v != "" {
		return v, true
	}
	mk := c.res.MasterKey
	if mk != "" && c.res.KeyARN != "" {
		switch ref {
		case mk, mk + ".KeyId":
			return c.res.KeyID(), true
		case mk + ".Arn":
			return c.res.KeyARN, true
		}
	}
	how := fmt.Sprintf("pass --resolve %s=VALUE or --outputs FILE", ref)
	if strings.HasPrefix(ref, "AWS::") {
		how = fmt.Sprintf("pass --key-arn, --region/--account, or --resolve %s=VALUE", ref)
	} else if mk != "" && strings.HasPrefix(ref, mk) {
		how = "pass --key-arn"
	}
	return c.unresolve(ref, how)
}

func (c *resolveCtx) unresolve(what any, how string) (string, bool) {
	desc, ok := what.(string)
	if !ok {
		b, _ := json.Marshal(what)
		desc = string(b)
	}
	c.unresolved = append(c.unresolved, Unresolved{What: desc, How: how})
	return unresolvedPrefix + desc, false
}
