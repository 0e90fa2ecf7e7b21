package eventpattern

import (
	"net/netip"
	"strings"
)

// Match reports whether the event matches the pattern.
func (p *Pattern) Match(event Value) bool { return p.root.match(&event) }

// MatchRef is Match for an event the caller holds: the matcher reads it
// through the pointer and never copies a Value, which a replay of millions of
// records notices (a Value is several words long). The event is not changed.
func (p *Pattern) MatchRef(event *Value) bool { return p.root.match(event) }

// MatchJSON decodes the event and matches it.
func (p *Pattern) MatchJSON(event []byte) (bool, error) {
	v, err := Parse(event)
	if err != nil {
		return false, err
	}
	return p.Match(v), nil
}

// MatchAny matches an event decoded by encoding/json (map[string]any, ...).
func (p *Pattern) MatchAny(event any) (bool, error) {
	v, err := ValueOf(event)
	if err != nil {
		return false, err
	}
	return p.Match(v), nil
}

// missing is the value of a missing member, shared read-only by the matcher.
var missing Value

// match applies one pattern level to an event value. Arrays of objects are
// "crushed" as EventBridge does: the level matches if one element matches
// it as a whole (fields from different elements are never combined), while
// a field that must be absent must be absent from every element.
func (n *node) match(ev *Value) bool {
	if ev.kind != Array {
		return n.matchIn(ev)
	}
	for i := range n.fields {
		f := &n.fields[i]
		if f.pureAbsence() && crushedHasLeaf(ev, f.key) {
			return false
		}
	}
	objects := false
	for i := range ev.items {
		if e := &ev.items[i]; e.kind == Object || e.kind == Array {
			objects = true
			if n.match(e) {
				return true
			}
		}
	}
	if !objects { // [] or only scalars: no member exists at this level
		return n.matchIn(&missing)
	}
	return false
}

func (n *node) matchIn(ev *Value) bool {
	for i := range n.fields {
		f := &n.fields[i]
		v := ev.MemberAt(f.key, n.layout, f.at)
		if v == nil {
			v = &missing
		}
		if f.sub != nil {
			if !f.sub.match(v) {
				return false
			}
		} else if !f.leaf.match(v) {
			return false
		}
	}
	for _, alts := range n.ors {
		ok := false
		for _, alt := range alts {
			if alt.match(ev) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// crushedHasLeaf reports whether any object inside arr has a leaf value at key.
func crushedHasLeaf(arr *Value, key string) bool {
	for i := range arr.items {
		switch e := &arr.items[i]; e.kind {
		case Object:
			if v := e.Member(key); v != nil && hasLeaf(v) {
				return true
			}
		case Array:
			if crushedHasLeaf(e, key) {
				return true
			}
		}
	}
	return false
}

// hasLeaf reports whether v is, or (as an array) contains, a non-object value.
func hasLeaf(v *Value) bool {
	switch v.kind {
	case Absent, Object:
		return false
	case Array:
		for i := range v.items {
			if hasLeaf(&v.items[i]) {
				return true
			}
		}
		return false
	default:
		return true
	}
}

// match tests the leaf values at one key: any matcher against any leaf
// (array elements are leaves one by one), or the exists tests.
func (ls *leafSet) match(v *Value) bool {
	matched, found := ls.walk(v)
	if matched {
		return true
	}
	return (ls.existsTrue && found) || (ls.existsFalse && !found)
}

func (ls *leafSet) walk(v *Value) (matched, found bool) {
	switch v.kind {
	case Absent, Object:
		return false, false
	case Array:
		for i := range v.items {
			m, f := ls.walk(&v.items[i])
			if m {
				return true, true
			}
			found = found || f
		}
		return false, found
	}
	if ls.exact != nil && v.kind == String {
		if _, ok := ls.exact.Get(v.str); ok {
			return true, true
		}
	}
	for i := range ls.rest {
		if ls.rest[i].matchLeaf(v) {
			return true, true
		}
	}
	return false, true
}

// matchLeaf tests one scalar event value (string, number, bool or null).
func (m *matcher) matchLeaf(v *Value) bool {
	switch m.op {
	case opExact:
		return sameValue(&m.val, v)
	case opPrefix:
		return v.kind == String && strings.HasPrefix(v.str, m.str)
	case opPrefixFold:
		return v.kind == String && hasPrefixFold(v.str, m.str)
	case opSuffix:
		return v.kind == String && strings.HasSuffix(v.str, m.str)
	case opSuffixFold:
		return v.kind == String && hasSuffixFold(v.str, m.str)
	case opEqualsFold:
		return v.kind == String && strings.EqualFold(v.str, m.str)
	case opWildcard:
		return v.kind == String && m.wilds[0].match(v.str)
	case opNumeric:
		f, ok := v.Float()
		if !ok {
			return false
		}
		if m.eq {
			return f == m.lo
		}
		return (f > m.lo || (m.loInc && f == m.lo)) && (f < m.hi || (m.hiInc && f == m.hi))
	case opCIDR:
		if v.kind != String {
			return false
		}
		a, err := netip.ParseAddr(v.str)
		return err == nil && m.prefix.Contains(a.Unmap())
	case opAnythingBut:
		for i := range m.vals {
			if sameValue(&m.vals[i], v) {
				return false
			}
		}
		return true
	case opAnythingButPrefix:
		return v.kind != String || !strings.HasPrefix(v.str, m.str)
	case opAnythingButSuffix:
		return v.kind != String || !strings.HasSuffix(v.str, m.str)
	case opAnythingButFold:
		if v.kind != String {
			return true
		}
		for _, s := range m.strs {
			if strings.EqualFold(v.str, s) {
				return false
			}
		}
		return true
	case opAnythingButWild:
		if v.kind != String {
			return true
		}
		for i := range m.wilds {
			if m.wilds[i].match(v.str) {
				return false
			}
		}
		return true
	}
	return false
}
