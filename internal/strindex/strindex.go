// Package strindex finds a string in a fixed set: by its length, then its
// first eight bytes, then the whole string. It exists because the replay
// looks up a few strings of every CloudTrail record (event names and
// sources, against lists of dozens) and, for such short strings, this is
// about twice as fast as a Go map, which hashes the whole string first
// (docs/replay.md, "Performance").
package strindex

// maxLen is the longest string held by length; longer ones go to a map.
const maxLen = 64

// Index maps each string of a fixed set to a value. It is read-only once
// built and safe for concurrent use.
type Index[V any] struct {
	byLen [maxLen + 1][]entry[V]
	long  map[string]V
	n     int
}

type entry[V any] struct {
	prefix uint64
	s      string
	v      V
}

// Set adds s with value v, replacing the value of an s already there.
func (x *Index[V]) Set(s string, v V) {
	if len(s) > maxLen {
		if x.long == nil {
			x.long = map[string]V{}
		}
		if _, ok := x.long[s]; !ok {
			x.n++
		}
		x.long[s] = v
		return
	}
	es := x.byLen[len(s)]
	for i := range es {
		if es[i].s == s {
			es[i].v = v
			return
		}
	}
	x.byLen[len(s)] = append(es, entry[V]{prefix: prefix(s), s: s, v: v})
	x.n++
}

// Len is the number of strings held.
func (x *Index[V]) Len() int { return x.n }

// Get returns the value of s, and whether s is held.
func (x *Index[V]) Get(s string) (v V, ok bool) {
	if len(s) > maxLen {
		v, ok = x.long[s]
		return v, ok
	}
	es := x.byLen[len(s)]
	if len(es) == 0 {
		return v, false
	}
	p := prefix(s)
	for i := range es {
		if es[i].prefix == p && (len(s) <= 8 || es[i].s[8:] == s[8:]) {
			return es[i].v, true
		}
	}
	return v, false
}

// prefix is the first eight bytes of s, little-endian (fewer, zero-padded).
func prefix(s string) uint64 {
	if len(s) >= 8 {
		_ = s[7]
		return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	return w
}
