package cfntemplate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Pseudo holds the values of CloudFormation's pseudo parameters for one deployment. An empty field is
// not known: a reference to it goes to the Resolver's Fallback.
type Pseudo struct {
	Partition, Region, AccountID, StackName, StackID, URLSuffix string
}

// lookup returns the value of the pseudo parameter name ("AWS::Region" …), "" when unknown.
func (p Pseudo) lookup(name string) string {
	switch name {
	case "AWS::Partition":
		return p.Partition
	case "AWS::Region":
		return p.Region
	case "AWS::AccountId":
		return p.AccountID
	case "AWS::StackName":
		return p.StackName
	case "AWS::StackId":
		return p.StackID
	case "AWS::URLSuffix":
		if p.URLSuffix == "" && p.Partition != "" {
			return URLSuffixOf(p.Partition)
		}
		return p.URLSuffix
	case "AWS::NoValue":
		return ""
	}
	return ""
}

// URLSuffixOf is the AWS::URLSuffix of a partition (the domain its service endpoints live under).
func URLSuffixOf(partition string) string {
	switch partition {
	case "aws-cn":
		return "amazonaws.com.cn"
	case "aws-iso":
		return "c2s.ic.gov"
	case "aws-iso-b":
		return "sc2s.sgov.gov"
	case "aws-iso-e":
		return "cloud.adc-e.uk"
	case "aws-iso-f":
		return "csp.hci.ic.gov"
	case "aws-eusc":
		return "amazonaws.eu"
	}
	return "amazonaws.com"
}

// Resolver replaces intrinsic functions with their values. The zero value resolves nothing but plain
// data; fill in what is known.
type Resolver struct {
	// Template supplies parameter defaults and mappings (Fn::FindInMap); may be nil.
	Template *Template
	// Values are known values by Ref.String(): "LogicalId" for Ref, "LogicalId.Attr" for Fn::GetAtt, or a
	// parameter or pseudo parameter name. They win over everything else.
	Values map[string]string
	Pseudo Pseudo
	// Fallback is asked for any reference not known otherwise; ok false leaves it unresolved.
	Fallback func(Ref) (string, bool)
	// LongestIf resolves an Fn::If to the longer of its two values, whatever the condition (Longest sets
	// it: a quota must hold in every region, whichever branch applies there). Otherwise Fn::If evaluates
	// its condition from the template's Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition).
	LongestIf bool
}

// Unresolved is one reference or function a Resolver could not evaluate.
type Unresolved struct {
	What   string // "X" (Ref or parameter), "X.Attr" (Fn::GetAtt), "AWS::Region", or the function as JSON
	Reason string
}

// String is What.
func (u Unresolved) String() string { return u.What }

// UnresolvedPrefix starts the stand-in string a Resolver puts where it could not resolve something. No
// real value starts with it, so an event-pattern leaf holding one matches nothing.
const UnresolvedPrefix = "kmsguard-unresolved:"

// Resolve returns a copy of v (a value decoded by encoding/json from a template) with every intrinsic
// function replaced by its value: a string, or a list for Fn::Split and list parameters. v is never
// modified. What cannot be resolved becomes UnresolvedPrefix+What and is listed once, in the order met
// (map keys sorted).
func (r *Resolver) Resolve(v any) (any, []Unresolved) {
	c := &resolveCtx{r: r, seen: map[string]bool{}}
	return c.walk(v), c.unresolved
}

// String resolves v to one string (a list is joined with commas, as CloudFormation does for a
// CommaDelimitedList).
func (r *Resolver) String(v any) (string, []Unresolved) {
	out, u := r.Resolve(v)
	return scalarString(out), u
}

// Output resolves the Value of the named output.
func (r *Resolver) Output(t *Template, name string) (string, []Unresolved, error) {
	o, ok := t.Outputs[name]
	if !ok {
		return "", nil, fmt.Errorf("the template has no output %q", name)
	}
	s, u := r.String(o.Value)
	return s, u, nil
}

// Value resolves one reference, as Resolve would resolve {"Ref": …} or {"Fn::GetAtt": …}.
func (r *Resolver) Value(ref Ref) (string, bool) {
	c := &resolveCtx{r: r, seen: map[string]bool{}}
	s, ok := c.lookup(ref)
	return scalarString(s), ok
}

type resolveCtx struct {
	r          *Resolver
	unresolved []Unresolved
	seen       map[string]bool
}

func (c *resolveCtx) walk(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if IsIntrinsic(t) {
			out, _ := c.eval(t)
			return out
		}
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
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

// eval evaluates one intrinsic function node to a string or a list.
func (c *resolveCtx) eval(m map[string]any) (any, bool) {
	if ref, ok := RefOf(m); ok {
		return c.lookup(ref)
	}
	for fn, arg := range m { // one key
		switch fn {
		case "Fn::Join":
			a, ok := arg.([]any)
			if !ok || len(a) != 2 {
				break
			}
			sep, _ := a[0].(string)
			list, ok := c.list(a[1])
			if !ok {
				return c.unresolve(m, "Fn::Join of something that is not a list"), false
			}
			strs := make([]string, len(list))
			okAll := true
			for i, e := range list {
				s, ok := c.scalar(e)
				okAll = okAll && ok
				strs[i] = s
			}
			return strings.Join(strs, sep), okAll
		case "Fn::Select":
			a, ok := arg.([]any)
			if !ok || len(a) != 2 {
				break
			}
			is, _ := c.scalar(a[0])
			idx, err := strconv.Atoi(is)
			list, isList := c.list(a[1])
			if err != nil || !isList || idx < 0 || idx >= len(list) {
				return c.unresolve(m, "Fn::Select index out of range"), false
			}
			e := list[idx]
			if em, ok := e.(map[string]any); ok && IsIntrinsic(em) {
				return c.eval(em)
			}
			return e, true
		case "Fn::Split":
			a, ok := arg.([]any)
			if !ok || len(a) != 2 {
				break
			}
			sep, _ := a[0].(string)
			s, ok := c.scalar(a[1])
			if strings.HasPrefix(s, UnresolvedPrefix) {
				return c.unresolve(m, "Fn::Split of an unresolved value"), false
			}
			parts := strings.Split(s, sep)
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, ok
		case "Fn::If":
			a, ok := arg.([]any)
			if !ok || len(a) != 3 {
				break
			}
			if c.r.LongestIf {
				x, okx := c.scalar(a[1])
				y, oky := c.scalar(a[2])
				if len(y) > len(x) {
					return y, oky
				}
				return x, okx
			}
			name, _ := a[0].(string)
			holds, ok := c.condition(name)
			if !ok {
				return c.unresolve(m, "Fn::If on a condition that cannot be evaluated"), false
			}
			branch := a[2]
			if holds {
				branch = a[1]
			}
			if bm, isMap := branch.(map[string]any); isMap && IsIntrinsic(bm) {
				return c.eval(bm)
			}
			return c.walk(branch), true
		case "Fn::Sub":
			return c.sub(arg)
		case "Fn::Base64":
			return c.scalar(arg)
		case "Fn::FindInMap":
			a, ok := arg.([]any)
			if !ok || len(a) != 3 || c.r.Template == nil {
				break
			}
			k0, ok0 := c.scalar(a[0])
			k1, ok1 := c.scalar(a[1])
			k2, ok2 := c.scalar(a[2])
			if !ok0 || !ok1 || !ok2 {
				return c.unresolve(m, "Fn::FindInMap with unresolved keys"), false
			}
			m0, _ := c.r.Template.Mappings[k0].(map[string]any)
			m1, _ := m0[k1].(map[string]any)
			if v, ok := m1[k2]; ok {
				return v, true
			}
			return c.unresolve(m, "no such mapping entry"), false
		}
	}
	return c.unresolve(m, "this intrinsic function is not supported"), false
}

// scalar evaluates v to a string.
func (c *resolveCtx) scalar(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case map[string]any:
		if IsIntrinsic(t) {
			out, ok := c.eval(t)
			return scalarString(out), ok
		}
	case float64, bool:
		return scalarString(t), true
	}
	b, _ := json.Marshal(v)
	return string(b), true
}

// list evaluates v to a list.
func (c *resolveCtx) list(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case map[string]any:
		if IsIntrinsic(t) {
			out, ok := c.eval(t)
			if l, isList := out.([]any); isList {
				return l, ok
			}
			if s, isStr := out.(string); isStr && ok { // a CommaDelimitedList parameter
				parts := strings.Split(s, ",")
				l := make([]any, len(parts))
				for i, p := range parts {
					l[i] = p
				}
				return l, true
			}
		}
	}
	return nil, false
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = scalarString(e)
		}
		return strings.Join(parts, ",")
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	default:
		return fmt.Sprint(t)
	}
}

func (c *resolveCtx) sub(arg any) (any, bool) {
	tmpl, varsRaw := subArgs(arg)
	if _, ok := arg.(string); !ok && varsRaw == nil {
		if a, isList := arg.([]any); !isList || len(a) != 2 {
			return c.unresolve(map[string]any{"Fn::Sub": arg}, "malformed Fn::Sub"), false
		}
	}
	vars := map[string]string{}
	okAll := true
	for _, k := range slices.Sorted(maps.Keys(varsRaw)) {
		s, ok := c.scalar(varsRaw[k])
		okAll = okAll && ok
		vars[k] = s
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
		id, attr, _ := strings.Cut(name, ".")
		s, ok := c.lookup(Ref{ID: id, Attr: attr})
		okAll = okAll && ok
		b.WriteString(scalarString(s))
	}
	return b.String(), okAll
}

// lookup resolves a reference: Values, then pseudo parameters, then parameter defaults, then Fallback.
func (c *resolveCtx) lookup(ref Ref) (any, bool) {
	key := ref.String()
	if v, ok := c.r.Values[key]; ok {
		return v, true
	}
	if ref.IsPseudo() {
		if v := c.r.Pseudo.lookup(ref.ID); v != "" || ref.ID == "AWS::NoValue" {
			return v, true
		}
	}
	if ref.Attr == "" && c.r.Template != nil {
		if p, ok := c.r.Template.Parameters[ref.ID]; ok && p.Default != nil {
			s, _ := c.scalar(p.Default)
			return s, true
		}
	}
	if c.r.Fallback != nil {
		if v, ok := c.r.Fallback(ref); ok {
			return v, true
		}
	}
	reason := "no value given for it"
	if ref.IsPseudo() {
		reason = "pseudo parameter not given"
	}
	return c.unresolve(key, reason), false
}

// unresolve records what (a reference name or a function node) and returns its stand-in.
func (c *resolveCtx) unresolve(what any, reason string) string {
	desc, ok := what.(string)
	if !ok {
		b, _ := json.Marshal(what)
		desc = string(b)
	}
	if !c.seen[desc] {
		c.seen[desc] = true
		c.unresolved = append(c.unresolved, Unresolved{What: desc, Reason: reason})
	}
	return UnresolvedPrefix + desc
}

// condition evaluates the template's condition name.
func (c *resolveCtx) condition(name string) (bool, bool) {
	if c.r.Template == nil {
		return false, false
	}
	expr, ok := c.r.Template.Conditions[name]
	if !ok || c.seen["condition:"+name] {
		return false, false
	}
	c.seen["condition:"+name] = true
	defer delete(c.seen, "condition:"+name)
	return c.conditionExpr(expr)
}

// conditionExpr evaluates a condition function: Fn::Equals, Fn::Not, Fn::And, Fn::Or, or a reference to
// another condition.
func (c *resolveCtx) conditionExpr(v any) (bool, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, false
	}
	for fn, arg := range m {
		if fn == "Condition" {
			name, _ := arg.(string)
			return c.condition(name)
		}
		a, ok := arg.([]any)
		if !ok {
			return false, false
		}
		switch fn {
		case "Fn::Equals":
			if len(a) != 2 {
				return false, false
			}
			x, okx := c.scalar(a[0])
			y, oky := c.scalar(a[1])
			return x == y, okx && oky
		case "Fn::Not":
			if len(a) != 1 {
				return false, false
			}
			b, ok := c.conditionExpr(a[0])
			return !b, ok
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			out := and
			for _, e := range a {
				b, ok := c.conditionExpr(e)
				if !ok {
					return false, false
				}
				if and {
					out = out && b
				} else {
					out = out || b
				}
			}
			return out, true
		}
	}
	return false, false
}
