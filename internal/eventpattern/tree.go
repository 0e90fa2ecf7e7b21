package eventpattern

import "net/netip"

// Layout gives the key order of the objects a decoder builds at a path of
// an event (the keys from the top, nil for the top itself), or nil where it
// does not know one. The keys must be unique, and every object the decoder
// builds there must use this very slice as its keys (ObjectValue), so that
// an object with these keys is recognized by them.
type Layout func(path []string) []string

// WithLayout returns a copy of the pattern that finds the members of objects
// laid out as layout says by their index instead of comparing names: a
// decoder that builds every object of a level with the same key slice (the
// replay's projecting scanner) saves the search per field. Any other object,
// and every result, is matched exactly as by p; p itself is unchanged.
func (p *Pattern) WithLayout(layout Layout) *Pattern {
	return &Pattern{root: p.root.withLayout(layout, nil)}
}

func (n *node) withLayout(layout Layout, path []string) *node {
	c := &node{fields: make([]field, len(n.fields)), layout: layout(path)}
	if len(c.layout) == 0 {
		c.layout = nil
	}
	for i, f := range n.fields {
		f.at = LayoutIndex(c.layout, f.key)
		if f.sub != nil {
			f.sub = f.sub.withLayout(layout, append(path[:len(path):len(path)], f.key))
		}
		c.fields[i] = f
	}
	for _, alts := range n.ors {
		var out []*node
		for _, a := range alts {
			// An alternative is matched against the same value as its level.
			out = append(out, a.withLayout(layout, path))
		}
		c.ors = append(c.ors, out)
	}
	return c
}

// Node is one object level of a compiled pattern, read-only. It exists so
// that a translator (internal/athena turns the rules into SQL) works from
// the very structure Match evaluates — duplicate keys resolved, "$or" read
// as event-ruler reads it, wildcards parsed — instead of re-reading the
// pattern JSON with rules of its own.
type Node struct{ n *node }

// Root returns the top level of the pattern.
func (p *Pattern) Root() Node { return Node{p.root} }

// Fields returns the keys of this level in pattern order; every one must
// match (AND).
func (n Node) Fields() []Field {
	out := make([]Field, len(n.n.fields))
	for i := range n.n.fields {
		f := &n.n.fields[i]
		out[i] = Field{Key: f.key, PureAbsence: f.pureAbsence()}
		if f.sub != nil {
			out[i].Sub = &Node{f.sub}
		} else {
			out[i].Leaf = &Leaf{f.leaf}
		}
	}
	return out
}

// Ors returns the "$or" groups of this level: for each group, at least one
// alternative must match the same value this level is matched against.
func (n Node) Ors() [][]Node {
	out := make([][]Node, len(n.n.ors))
	for i, alts := range n.n.ors {
		for _, a := range alts {
			out[i] = append(out[i], Node{a})
		}
	}
	return out
}

// Match applies this level to a value, as Pattern.Match applies the root
// (arrays of objects crushed element by element). A translator uses it to
// evaluate a level against a value it knows exactly, e.g. an absent field.
func (n Node) Match(v Value) bool { return n.n.match(&v) }

// Field is one key of a level: a nested level (Sub) or leaf matchers (Leaf).
type Field struct {
	Key  string
	Sub  *Node
	Leaf *Leaf
	// PureAbsence marks a leaf that only asks for the key to be absent
	// ({"exists": false} alone); inside an array of objects it must then be
	// absent from every element.
	PureAbsence bool
}

// Leaf is the list of matchers of one key: any matcher against any leaf
// value (array elements one by one), or the exists tests.
type Leaf struct{ ls *leafSet }

// ExistsTrue reports an {"exists": true} in the list.
func (l Leaf) ExistsTrue() bool { return l.ls.existsTrue }

// ExistsFalse reports an {"exists": false} in the list.
func (l Leaf) ExistsFalse() bool { return l.ls.existsFalse }

// Match applies the list to a value (absent, a scalar, an array or an object).
func (l Leaf) Match(v Value) bool { return l.ls.match(&v) }

// Matchers returns the value and operator matchers of the list, in order.
func (l Leaf) Matchers() []Matcher {
	out := make([]Matcher, len(l.ls.ms))
	for i, m := range l.ls.ms {
		out[i] = Matcher{
			Op: Op(m.op), Value: m.val, Str: m.str, Values: m.vals, Strs: m.strs,
			Lo: m.lo, Hi: m.hi, LoInc: m.loInc, HiInc: m.hiInc, Eq: m.eq, CIDR: m.prefix,
		}
		for _, w := range m.wilds {
			out[i].Wildcards = append(out[i].Wildcards, Wildcard{Pieces: w.pieces, LeadStar: w.leadStar, TrailStar: w.trailStar})
		}
	}
	return out
}

// Op is the kind of one matcher.
type Op uint8

// The matcher kinds; which Matcher fields they use is given per kind.
const (
	OpExact             Op = Op(opExact)             // Value: the exact value
	OpPrefix            Op = Op(opPrefix)            // Str
	OpPrefixFold        Op = Op(opPrefixFold)        // Str, case-insensitive
	OpSuffix            Op = Op(opSuffix)            // Str
	OpSuffixFold        Op = Op(opSuffixFold)        // Str, case-insensitive
	OpEqualsFold        Op = Op(opEqualsFold)        // Str
	OpWildcard          Op = Op(opWildcard)          // Wildcards[0]
	OpNumeric           Op = Op(opNumeric)           // Lo, Hi, LoInc, HiInc, Eq
	OpCIDR              Op = Op(opCIDR)              // CIDR
	OpAnythingBut       Op = Op(opAnythingBut)       // Values: the excluded values
	OpAnythingButPrefix Op = Op(opAnythingButPrefix) // Str
	OpAnythingButSuffix Op = Op(opAnythingButSuffix) // Str
	OpAnythingButFold   Op = Op(opAnythingButFold)   // Strs
	OpAnythingButWild   Op = Op(opAnythingButWild)   // Wildcards
)

// String names the operator as the pattern spells it.
func (o Op) String() string {
	switch o {
	case OpExact:
		return "exact value"
	case OpPrefix:
		return "prefix"
	case OpPrefixFold:
		return "prefix equals-ignore-case"
	case OpSuffix:
		return "suffix"
	case OpSuffixFold:
		return "suffix equals-ignore-case"
	case OpEqualsFold:
		return "equals-ignore-case"
	case OpWildcard:
		return "wildcard"
	case OpNumeric:
		return "numeric"
	case OpCIDR:
		return "cidr"
	case OpAnythingBut:
		return "anything-but"
	case OpAnythingButPrefix:
		return "anything-but prefix"
	case OpAnythingButSuffix:
		return "anything-but suffix"
	case OpAnythingButFold:
		return "anything-but equals-ignore-case"
	case OpAnythingButWild:
		return "anything-but wildcard"
	}
	return "unknown operator"
}

// Matcher is one compiled leaf matcher; Op says which fields are set.
type Matcher struct {
	Op        Op
	Value     Value      // OpExact
	Str       string     // prefix/suffix/equals-ignore-case text
	Values    []Value    // OpAnythingBut: all strings or all numbers
	Strs      []string   // OpAnythingButFold
	Wildcards []Wildcard // OpWildcard (one), OpAnythingButWild
	// OpNumeric: Lo < v < Hi, with LoInc/HiInc making a bound inclusive
	// (±Inf when open); Eq for "=" (Lo == Hi == the value).
	Lo, Hi       float64
	LoInc, HiInc bool
	Eq           bool
	CIDR         netip.Prefix // OpCIDR
}

// Wildcard is a parsed wildcard: literal Pieces, joined by '*' runs, with a
// leading and/or trailing '*'. Without stars it is one piece matched
// exactly.
type Wildcard struct {
	Pieces              []string
	LeadStar, TrailStar bool
}
