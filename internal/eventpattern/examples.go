package eventpattern

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// Examples returns events (as encoding/json values) that together exercise every alternative of an event
// pattern (decoded by encoding/json, intrinsics already resolved): each value of each leaf list, each
// operator, and each branch of each $or, with the first alternative chosen everywhere else. Every example
// matches the pattern; one that does not is an error (a pattern this generator cannot satisfy). The
// examples let a test show that a reshaped rule set still catches every alternative of the old one, which a
// corpus of real records, hitting only some branches, cannot.
func Examples(pattern map[string]any) ([]map[string]any, error) {
	variants, err := objectVariants(pattern, "")
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(pattern)
	p, err := Compile(raw)
	if err != nil {
		return nil, err
	}
	for _, v := range variants {
		ok, err := p.MatchAny(v)
		if err != nil || !ok {
			b, _ := json.Marshal(v)
			return nil, fmt.Errorf("generated example %s does not match its pattern %s", b, raw)
		}
	}
	return variants, nil
}

// absent marks a field an example must leave out ({"exists": false}).
type absentMarker struct{}

var absent = absentMarker{}

// objectVariants returns example fragments for one pattern object: the first is the base (first
// alternative everywhere), then one per further alternative.
func objectVariants(obj map[string]any, path string) ([]map[string]any, error) {
	fieldVariants := map[string][]any{}
	var orVariants []map[string]any
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		p := path + "." + k
		if k == "$or" {
			branches, ok := v.([]any)
			if !ok || len(branches) == 0 {
				return nil, fmt.Errorf("%s: $or must be a non-empty list", p)
			}
			for _, b := range branches {
				bm, ok := b.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: $or branch is not an object", p)
				}
				vs, err := objectVariants(bm, p)
				if err != nil {
					return nil, err
				}
				orVariants = append(orVariants, vs...)
			}
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			vs, err := objectVariants(x, p)
			if err != nil {
				return nil, err
			}
			for _, e := range vs {
				fieldVariants[k] = append(fieldVariants[k], e)
			}
		case []any:
			vs, err := leafVariants(x, p)
			if err != nil {
				return nil, err
			}
			fieldVariants[k] = vs
		default:
			return nil, fmt.Errorf("%s: want an object or a list", p)
		}
	}
	keys := slices.Sorted(maps.Keys(fieldVariants))
	build := func(choice map[string]any) map[string]any {
		out := map[string]any{}
		for _, k := range keys {
			v := fieldVariants[k][0]
			if c, ok := choice[k]; ok {
				v = c
			}
			if v != any(absent) {
				out[k] = v
			}
		}
		return out
	}
	base := build(nil)
	var out []map[string]any
	if len(orVariants) == 0 {
		out = append(out, base)
	} else {
		for _, ov := range orVariants {
			out = append(out, merge(build(nil), ov))
		}
	}
	for _, k := range keys {
		for _, v := range fieldVariants[k][1:] {
			e := build(map[string]any{k: v})
			if len(orVariants) > 0 {
				e = merge(e, orVariants[0])
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// merge deep-merges b into a (b wins on leaves) and returns a.
func merge(a, b map[string]any) map[string]any {
	for k, bv := range b {
		if am, ok := a[k].(map[string]any); ok {
			if bm, ok := bv.(map[string]any); ok {
				a[k] = merge(maps.Clone(am), bm)
				continue
			}
		}
		a[k] = bv
	}
	return a
}

// leafVariants returns one event value per alternative of a leaf list.
func leafVariants(list []any, path string) ([]any, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: empty list matches nothing", path)
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		v, err := leafValue(e, path)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// leafValue returns a value that one leaf (a literal or an operator) matches.
func leafValue(leaf any, path string) (any, error) {
	m, ok := leaf.(map[string]any)
	if !ok {
		return leaf, nil // a literal matches itself
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("%s: an operator object has one key", path)
	}
	for op, arg := range m {
		s, _ := arg.(string)
		switch op {
		case "prefix":
			if am, ok := arg.(map[string]any); ok { // {"prefix": {"equals-ignore-case": …}}
				s, _ = am["equals-ignore-case"].(string)
			}
			return s + "example", nil
		case "suffix":
			if am, ok := arg.(map[string]any); ok {
				s, _ = am["equals-ignore-case"].(string)
			}
			return "example" + s, nil
		case "wildcard":
			return strings.ReplaceAll(s, "*", "example"), nil
		case "equals-ignore-case":
			return strings.ToUpper(s), nil
		case "exists":
			if arg == true {
				return "example-present", nil
			}
			return absent, nil
		case "anything-but":
			return anythingBut(arg), nil
		case "cidr":
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%s: cidr %q: %v", path, s, err)
			}
			return pfx.Masked().Addr().String(), nil
		case "numeric":
			return numericExample(arg, path)
		}
		return nil, fmt.Errorf("%s: operator %q has no example generator", path, op)
	}
	return nil, nil
}

// anythingBut returns a string none of the excluded values or prefixes/suffixes match.
func anythingBut(arg any) any {
	if m, ok := arg.(map[string]any); ok { // {"anything-but": {"prefix": …}} and friends
		for _, v := range m {
			s, _ := v.(string)
			return "zz-not-" + strings.ToLower(strings.TrimSpace(s)) + "-zz"
		}
	}
	if _, isNum := arg.(float64); isNum {
		return "example-other"
	}
	return "example-other-value"
}

// numericExample returns a number within every bound of a numeric filter.
func numericExample(arg any, path string) (any, error) {
	list, ok := arg.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("%s: numeric takes operator/value pairs", path)
	}
	lo, hi := -1e9, 1e9
	for i := 0; i < len(list); i += 2 {
		op, _ := list[i].(string)
		n, _ := list[i+1].(float64)
		switch op {
		case "=":
			return n, nil
		case ">":
			lo = max(lo, n+0.5)
		case ">=":
			lo = max(lo, n)
		case "<":
			hi = min(hi, n-0.5)
		case "<=":
			hi = min(hi, n)
		}
	}
	if lo > hi {
		return nil, fmt.Errorf("%s: numeric range is empty", path)
	}
	return (lo + hi) / 2, nil
}
