package eventpattern

// FieldPath is one path of event keys that a pattern reads.
type FieldPath struct {
	Keys []string
	// Leaf is true when a leaf test (values, operators, exists) applies at
	// Keys; otherwise only keys below it are read.
	Leaf bool
}

// Fields returns every path of keys the pattern reads, $or alternatives
// included, in pattern order (a path may repeat). It exists so that a
// reader of many events can decode only what matching looks at: matching
// reads nothing but these keys, so an event in which every object keeps
// only the members on these paths (arrays kept element by element, their
// objects pruned the same way, and objects found at a path that is only a
// Leaf emptied) matches exactly as the whole event does.
func (p *Pattern) Fields() []FieldPath {
	var out []FieldPath
	p.root.paths(nil, &out)
	return out
}

func (n *node) paths(prefix []string, out *[]FieldPath) {
	for i := range n.fields {
		f := &n.fields[i]
		keys := append(append([]string(nil), prefix...), f.key)
		if f.sub != nil {
			*out = append(*out, FieldPath{Keys: keys})
			f.sub.paths(keys, out)
		} else {
			*out = append(*out, FieldPath{Keys: keys, Leaf: true})
		}
	}
	for _, alts := range n.ors {
		for _, alt := range alts {
			alt.paths(prefix, out)
		}
	}
}

// Requirement is what a pattern needs of the value at one path of an event
// for it to match (Pattern.Requires).
type Requirement struct {
	Kind    RequirementKind
	Strings []string // the accepted strings, for OneOf
}

// RequirementKind says which requirement a pattern sets at a path.
type RequirementKind uint8

// The requirements. A leaf value is a string, number, boolean or null; an
// object found at the path counts as no leaf value, as in matching.
const (
	NoRequirement RequirementKind = iota
	OneOf                         // a string equal to one of Strings
	Present                       // a leaf value
	Missing                       // no leaf value: the key absent, or an object there
)

// Requires reports what the pattern requires of the value at path for an
// event to match. The promise holds for events with no array on the way to
// path nor at it, where "the value at path" is missing as soon as a step is
// missing or is not an object; for other events it says nothing. It exists
// so that a replay of many rules can skip, with a few lookups, the rules an
// event cannot match, instead of matching each of them.
func (p *Pattern) Requires(path ...string) Requirement {
	if len(path) == 0 {
		return Requirement{}
	}
	return p.root.requires(path)
}

// requires follows matchIn: every field of a level must match, so a
// requirement of one field is a requirement of the level; an $or group
// requires what all its alternatives have in common.
func (n *node) requires(path []string) Requirement {
	for i := range n.fields {
		f := &n.fields[i]
		if f.key != path[0] {
			continue
		}
		var r Requirement
		switch {
		case len(path) == 1 && f.leaf != nil:
			r = f.leaf.requirement()
		case len(path) > 1 && f.sub != nil:
			r = f.sub.requires(path[1:])
		}
		if r.Kind != NoRequirement {
			return r
		}
	}
	for _, alts := range n.ors {
		var u Requirement
		for j, alt := range alts {
			r := alt.requires(path)
			if j == 0 {
				u = r
			} else {
				u = union(u, r)
			}
			if u.Kind == NoRequirement {
				break
			}
		}
		if u.Kind != NoRequirement {
			return u
		}
	}
	return Requirement{}
}

// union is what either of two requirements being met implies.
func union(a, b Requirement) Requirement {
	switch {
	case a.Kind == NoRequirement || b.Kind == NoRequirement:
		return Requirement{}
	case a.Kind == Missing || b.Kind == Missing:
		if a.Kind == b.Kind {
			return a
		}
		return Requirement{}
	case a.Kind == OneOf && b.Kind == OneOf:
		return Requirement{Kind: OneOf, Strings: append(append([]string(nil), a.Strings...), b.Strings...)}
	default: // Present with OneOf or Present: a string is a leaf value
		return Requirement{Kind: Present}
	}
}

// requirement of a leaf test on the value at its key (leafSet.match on a
// non-array value: a matcher matching needs a leaf, as does exists:true).
func (ls *leafSet) requirement() Requirement {
	if s, ok := ls.exactStrings(); ok {
		return Requirement{Kind: OneOf, Strings: s}
	}
	if !ls.existsFalse {
		return Requirement{Kind: Present}
	}
	if !ls.existsTrue && len(ls.ms) == 0 {
		return Requirement{Kind: Missing}
	}
	return Requirement{}
}

// exactStrings returns the values of a leaf test that only matches a string
// equal to one of them: exact string values, no operator, no exists.
func (ls *leafSet) exactStrings() ([]string, bool) {
	if ls.existsTrue || ls.existsFalse || len(ls.ms) == 0 {
		return nil, false
	}
	out := make([]string, 0, len(ls.ms))
	for i := range ls.ms {
		m := &ls.ms[i]
		if m.op != opExact || m.val.kind != String {
			return nil, false
		}
		out = append(out, m.val.str)
	}
	return out, true
}
