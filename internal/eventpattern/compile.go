package eventpattern

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kmsguard/kmsguard/internal/strindex"
)

// Pattern is a compiled EventBridge event pattern. Compile once, match
// many events; a Pattern is safe for concurrent use.
type Pattern struct {
	root *node
}

// node is one object level of a pattern: every field must match (AND) and,
// for each $or group, at least one alternative must match.
type node struct {
	fields []field
	ors    [][]*node
	// layout, when set (Pattern.WithLayout), is the key order of the
	// objects a decoder builds at this level; an event object laid out so
	// has its members found by index (field.at) instead of by name.
	layout []string
}

// field is one key of a pattern level: either a nested pattern or a list of
// leaf matchers of which any may match (OR).
type field struct {
	key  string
	sub  *node
	leaf *leafSet
	at   int // key's index in the level's layout, -1 when it has none
}

type leafSet struct {
	ms          []matcher // in pattern order, as Leaf.Matchers gives them
	existsTrue  bool
	existsFalse bool
	// exact and rest are what match tests, the same matchers split for
	// speed: a list of many exact strings (CloudTrail event names, often a
	// dozen or more) is one lookup in exact (internal/strindex) instead of
	// a comparison each; rest is every other matcher. exact is nil for a
	// short list.
	exact *strindex.Index[struct{}]
	rest  []matcher
}

// exactLookupMin is the number of exact strings from which a lookup beats
// comparing them one by one.
const exactLookupMin = 5

// index splits ms into exact and rest.
func (ls *leafSet) index() {
	n := 0
	for i := range ls.ms {
		if ls.ms[i].op == opExact && ls.ms[i].val.kind == String {
			n++
		}
	}
	if n < exactLookupMin {
		ls.exact, ls.rest = nil, ls.ms
		return
	}
	ls.exact, ls.rest = &strindex.Index[struct{}]{}, nil
	for _, m := range ls.ms {
		if m.op == opExact && m.val.kind == String {
			ls.exact.Set(m.val.str, struct{}{})
		} else {
			ls.rest = append(ls.rest, m)
		}
	}
}

// pureAbsence reports whether the field only asks for the key to be absent.
func (f *field) pureAbsence() bool {
	return f.leaf != nil && f.leaf.existsFalse && !f.leaf.existsTrue && len(f.leaf.ms) == 0
}

// reservedInOr are the operator names that stop an "$or" array from being
// read as an OR (event-ruler's RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP).
var reservedInOr = map[string]bool{
	"anything-but": true, "exists": true, "numeric": true, "prefix": true, "suffix": true,
	"equals-ignore-case": true, "wildcard": true, "cidr": true, "$or": true,
}

// Compile parses and validates an event pattern. Errors name the path of
// the offending field, e.g. `detail.errorCode: unknown operator "prefx"`.
func Compile(pattern []byte) (*Pattern, error) {
	v, err := Parse(pattern)
	if err != nil {
		return nil, fmt.Errorf("event pattern is not valid JSON: %w", err)
	}
	return CompileValue(v)
}

// CompileValue compiles a pattern that is already decoded.
func CompileValue(v Value) (*Pattern, error) {
	if v.kind != Object {
		return nil, errors.New("event pattern must be a JSON object")
	}
	if len(v.keys) == 0 {
		return nil, errors.New("event pattern must not be empty")
	}
	n, err := compileNode(v, "")
	if err != nil {
		return nil, err
	}
	return &Pattern{root: n}, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func compileNode(v Value, path string) (*node, error) {
	n := &node{}
	// The last occurrence of a duplicate key wins, as EventBridge documents.
	last := make(map[string]int, len(v.keys))
	for i, k := range v.keys {
		last[k] = i
	}
	for i, k := range v.keys {
		if last[k] != i {
			continue
		}
		val := v.items[i]
		p := join(path, k)
		if k == "$or" && isOrList(val) {
			alts := make([]*node, len(val.items))
			for j, alt := range val.items {
				if len(alt.keys) == 0 {
					return nil, fmt.Errorf("%s[%d]: empty object in $or", p, j)
				}
				sub, err := compileNode(alt, path)
				if err != nil {
					return nil, err
				}
				alts[j] = sub
			}
			n.ors = append(n.ors, alts)
			continue
		}
		switch val.kind {
		case Object:
			if len(val.keys) == 0 {
				return nil, fmt.Errorf("%s: empty object", p)
			}
			sub, err := compileNode(val, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{key: k, sub: sub, at: -1})
		case Array:
			ls, err := compileLeafs(val, p)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{key: k, leaf: ls, at: -1})
		default:
			return nil, fmt.Errorf("%s: value must be an array of match values or an object, not %s", p, kindName(val.kind))
		}
	}
	return n, nil
}

// isOrList applies event-ruler's conditions for "$or" meaning OR: an array
// of at least two objects none of which uses an operator name as a key.
func isOrList(v Value) bool {
	if v.kind != Array || len(v.items) < 2 {
		return false
	}
	for _, alt := range v.items {
		if alt.kind != Object {
			return false
		}
		for _, k := range alt.keys {
			if reservedInOr[k] {
				return false
			}
		}
	}
	return true
}

func kindName(k Kind) string {
	return [...]string{"absent", "null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

func compileLeafs(arr Value, path string) (*leafSet, error) {
	if len(arr.items) == 0 {
		return nil, fmt.Errorf("%s: empty array matches nothing", path)
	}
	ls := &leafSet{}
	for i, e := range arr.items {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch e.kind {
		case String, Number, Bool, Null:
			ls.ms = append(ls.ms, matcher{op: opExact, val: e})
		case Array:
			return nil, fmt.Errorf("%s: nested arrays are not allowed", p)
		case Object:
			if len(e.keys) != 1 {
				return nil, fmt.Errorf("%s: a match object needs exactly one operator, got %d keys", p, len(e.keys))
			}
			op, arg := e.keys[0], e.items[0]
			if op == "exists" {
				if arg.kind != Bool {
					return nil, fmt.Errorf("%s: exists takes true or false", p)
				}
				if arg.str == "true" {
					ls.existsTrue = true
				} else {
					ls.existsFalse = true
				}
				continue
			}
			m, err := compileOperator(op, arg)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			ls.ms = append(ls.ms, m)
		}
	}
	ls.index()
	return ls, nil
}

type opKind uint8

const (
	opExact opKind = iota
	opPrefix
	opPrefixFold
	opSuffix
	opSuffixFold
	opEqualsFold
	opWildcard
	opNumeric
	opCIDR
	opAnythingBut       // vals: excluded exact values
	opAnythingButPrefix // str
	opAnythingButSuffix // str
	opAnythingButFold   // strs
	opAnythingButWild   // wilds
)

// matcher is one leaf test. Which fields are used depends on op.
type matcher struct {
	op     opKind
	val    Value      // opExact
	str    string     // prefix/suffix text
	vals   []Value    // opAnythingBut
	strs   []string   // opAnythingButFold
	wilds  []wildcard // opWildcard (one), opAnythingButWild
	lo, hi float64    // opNumeric bounds, ±Inf when open
	loInc  bool
	hiInc  bool
	eq     bool // opNumeric "=": lo == hi == value
	prefix netip.Prefix
}

func compileOperator(op string, arg Value) (matcher, error) {
	switch op {
	case "prefix", "suffix":
		fold, s, err := stringOrFold(op, arg)
		if err != nil {
			return matcher{}, err
		}
		k := map[string][2]opKind{"prefix": {opPrefix, opPrefixFold}, "suffix": {opSuffix, opSuffixFold}}[op]
		if fold {
			return matcher{op: k[1], str: s}, nil
		}
		return matcher{op: k[0], str: s}, nil
	case "equals-ignore-case":
		if arg.kind != String {
			return matcher{}, errors.New("equals-ignore-case takes a string")
		}
		return matcher{op: opEqualsFold, str: arg.str}, nil
	case "wildcard":
		if arg.kind != String {
			return matcher{}, errors.New("wildcard takes a string")
		}
		w, err := compileWildcard(arg.str)
		if err != nil {
			return matcher{}, err
		}
		return matcher{op: opWildcard, wilds: []wildcard{w}}, nil
	case "anything-but":
		return compileAnythingBut(arg)
	case "numeric":
		return compileNumeric(arg)
	case "cidr":
		if arg.kind != String {
			return matcher{}, errors.New("cidr takes a string such as \"10.0.0.0/24\"")
		}
		pfx, err := netip.ParsePrefix(arg.str)
		if err != nil {
			return matcher{}, fmt.Errorf("cidr: %w", err)
		}
		return matcher{op: opCIDR, prefix: pfx.Masked()}, nil
	default:
		return matcher{}, fmt.Errorf("unknown operator %q", op)
	}
}

// stringOrFold reads the argument of prefix/suffix: a string, or
// {"equals-ignore-case": string}.
func stringOrFold(op string, arg Value) (fold bool, s string, err error) {
	switch {
	case arg.kind == String:
		return false, arg.str, nil
	case arg.kind == Object && len(arg.keys) == 1 && arg.keys[0] == "equals-ignore-case" && arg.items[0].kind == String:
		return true, arg.items[0].str, nil
	default:
		return false, "", fmt.Errorf("%s takes a string or {\"equals-ignore-case\": string}", op)
	}
}

func compileAnythingBut(arg Value) (matcher, error) {
	switch arg.kind {
	case String, Number:
		return matcher{op: opAnythingBut, vals: []Value{arg}}, nil
	case Array:
		if len(arg.items) == 0 {
			return matcher{}, errors.New("anything-but list must not be empty")
		}
		k := arg.items[0].kind
		if k != String && k != Number {
			return matcher{}, errors.New("anything-but list must contain only strings or only numbers")
		}
		for _, e := range arg.items {
			if e.kind != k {
				return matcher{}, errors.New("anything-but list must contain only strings or only numbers")
			}
		}
		return matcher{op: opAnythingBut, vals: arg.items}, nil
	case Object:
		if len(arg.keys) != 1 {
			return matcher{}, errors.New("anything-but object needs exactly one of prefix, suffix, equals-ignore-case, wildcard")
		}
		op, v := arg.keys[0], arg.items[0]
		switch op {
		case "prefix", "suffix":
			if v.kind != String {
				return matcher{}, fmt.Errorf("anything-but %s takes a single string", op)
			}
			if op == "prefix" {
				return matcher{op: opAnythingButPrefix, str: v.str}, nil
			}
			return matcher{op: opAnythingButSuffix, str: v.str}, nil
		case "equals-ignore-case", "wildcard":
			strs, err := stringOrStrings(v)
			if err != nil {
				return matcher{}, fmt.Errorf("anything-but %s: %w", op, err)
			}
			if op == "equals-ignore-case" {
				return matcher{op: opAnythingButFold, strs: strs}, nil
			}
			m := matcher{op: opAnythingButWild}
			for _, s := range strs {
				w, err := compileWildcard(s)
				if err != nil {
					return matcher{}, err
				}
				m.wilds = append(m.wilds, w)
			}
			return m, nil
		default:
			return matcher{}, fmt.Errorf("unknown anything-but operator %q", op)
		}
	default:
		return matcher{}, fmt.Errorf("anything-but takes a string, a number, a list, or an object, not %s", kindName(arg.kind))
	}
}

func stringOrStrings(v Value) ([]string, error) {
	if v.kind == String {
		return []string{v.str}, nil
	}
	if v.kind != Array || len(v.items) == 0 {
		return nil, errors.New("takes a string or a non-empty list of strings")
	}
	out := make([]string, len(v.items))
	for i, e := range v.items {
		if e.kind != String {
			return nil, errors.New("takes a string or a non-empty list of strings")
		}
		out[i] = e.str
	}
	return out, nil
}

func compileNumeric(arg Value) (matcher, error) {
	if arg.kind != Array || len(arg.items) == 0 || len(arg.items)%2 != 0 || len(arg.items) > 4 {
		return matcher{}, errors.New(`numeric takes ["op", number] or ["op", number, "op", number]`)
	}
	m := matcher{op: opNumeric, lo: math.Inf(-1), hi: math.Inf(1)}
	var haveLo, haveHi bool
	for i := 0; i < len(arg.items); i += 2 {
		o, n := arg.items[i], arg.items[i+1]
		if o.kind != String {
			return matcher{}, fmt.Errorf("numeric: operator must be a string, not %s", kindName(o.kind))
		}
		f, ok := n.Float()
		if !ok {
			return matcher{}, fmt.Errorf("numeric: %q must be followed by a number", o.str)
		}
		switch o.str {
		case "=":
			if len(arg.items) != 2 {
				return matcher{}, errors.New(`numeric: "=" cannot be combined with a range`)
			}
			m.eq, m.lo, m.hi, m.loInc, m.hiInc = true, f, f, true, true
		case ">", ">=":
			if haveLo {
				return matcher{}, errors.New("numeric: two lower bounds")
			}
			haveLo, m.lo, m.loInc = true, f, o.str == ">="
		case "<", "<=":
			if haveHi {
				return matcher{}, errors.New("numeric: two upper bounds")
			}
			haveHi, m.hi, m.hiInc = true, f, o.str == "<="
		default:
			return matcher{}, fmt.Errorf("numeric: unknown operator %q (want <, <=, =, >, >=)", o.str)
		}
	}
	if haveLo && haveHi && m.lo > m.hi {
		return matcher{}, errors.New("numeric: lower bound above upper bound")
	}
	return m, nil
}

// comparableLimit is the magnitude up to which event-ruler compares numbers
// by value (its ComparableNumber range); beyond it only the literal text
// is compared, so account ids never collide with floats.
const comparableLimit = 5e9

// numbersEqual is EventBridge's exact match of two JSON numbers.
func numbersEqual(a, b string) bool {
	if a == b {
		return true
	}
	fa, err1 := strconv.ParseFloat(a, 64)
	fb, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || math.Abs(fa) > comparableLimit || math.Abs(fb) > comparableLimit {
		return false
	}
	return fa == fb
}

// sameValue is exact matching of one pattern value against one event leaf.
func sameValue(p, v *Value) bool {
	if p.kind != v.kind {
		return false
	}
	switch p.kind {
	case Number:
		return numbersEqual(p.str, v.str)
	case Null:
		return true
	default:
		return p.str == v.str
	}
}

func hasPrefixFold(s, prefix string) bool {
	n := strings.Count(prefix, "") - 1 // runes in prefix
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := decodeRune(s[i:])
		i += size
	}
	return n == 0 && strings.EqualFold(s[:i], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	n := strings.Count(suffix, "") - 1
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := decodeLastRune(s[:i])
		i -= size
	}
	return n == 0 && strings.EqualFold(s[i:], suffix)
}
