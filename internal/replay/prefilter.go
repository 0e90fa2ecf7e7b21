package replay

import (
	"slices"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/strindex"
)

// prefilter skips the rules an event cannot match with a few lookups
// instead of matching each rule (docs/replay.md, "Performance"). For every
// leaf path of the patterns at which at least two rules set a requirement
// (eventpattern.Pattern.Requires: for kmsguard's rules "detail-type",
// "detail.eventSource", "detail.eventName" and "detail.errorCode"), it keeps
// which rules require a string out of a set, a value, or no value there. An
// event's value at the path then rules out those whose requirement it fails;
// when the promise of Requires does not cover the event (an array on the
// way) nothing is ruled out. The rules left are matched in full, so the
// prefilter can only save work, never change a result.
type prefilter struct {
	all   []uint64 // every rule, one bit each
	paths []filterPath
}

type filterPath struct {
	keys    []string
	steps   []filterStep            // keys, with the layout of each object on the way (bind)
	env     int                     // >= 0: the value is the envelope's member ("detail-type")
	fixed   fixedField              // >= 0: the value is the record's fixed field ("detail.eventName")
	free    []uint64                // rules with no requirement here
	present []uint64                // rules requiring a leaf value
	missing []uint64                // rules requiring no leaf value
	oneOf   []uint64                // rules requiring one of some strings
	by      strindex.Index[*accept] // a string -> the rules among oneOf accepting it
	n       int                     // rules with a requirement here
}

// filterStep is one key of a path and, when the projection lays out the
// object it is looked up in, that layout and the key's index in it (-1:
// not in it, so absent).
type filterStep struct {
	key    string
	layout []string
	at     int
}

// unboundSteps is a path with no layout known: every member by name.
func unboundSteps(keys []string) []filterStep {
	out := make([]filterStep, len(keys))
	for i, k := range keys {
		out[i] = filterStep{key: k, at: -1}
	}
	return out
}

// bind records the layout of the objects on each path, so that the
// members of a projected record are found by index (eventpattern.Layout).
func (f *prefilter) bind(layout ep.Layout) {
	for i := range f.paths {
		p := &f.paths[i]
		p.steps = p.steps[:0]
		for j, k := range p.keys {
			l := layout(p.keys[:j])
			p.steps = append(p.steps, filterStep{key: k, layout: l, at: ep.LayoutIndex(l, k)})
		}
	}
}

// accept is the rules that accept one string at a path.
type accept struct {
	key   string
	rules []uint64
}

func newPrefilter(rules Rules) prefilter {
	words := (len(rules) + 63) / 64
	bit := func(set []uint64, j int) { set[j>>6] |= 1 << (j & 63) }
	f := prefilter{all: make([]uint64, words)}
	for j := range rules {
		bit(f.all, j)
	}
	seen := map[string]bool{}
	for i := range rules {
		for _, fp := range rules[i].Pattern.Fields() {
			k := strings.Join(fp.Keys, "\x00")
			if !fp.Leaf || seen[k] {
				continue
			}
			seen[k] = true
			p := filterPath{keys: fp.Keys, steps: unboundSteps(fp.Keys), env: -1, fixed: -1,
				free: make([]uint64, words), present: make([]uint64, words), missing: make([]uint64, words),
				oneOf: make([]uint64, words)}
			for j := range rules {
				req := rules[j].Pattern.Requires(fp.Keys...)
				switch req.Kind {
				case ep.NoRequirement:
					bit(p.free, j)
					continue
				case ep.Present:
					bit(p.present, j)
				case ep.Missing:
					bit(p.missing, j)
				case ep.OneOf:
					bit(p.oneOf, j)
					for _, s := range req.Strings {
						a, ok := p.by.Get(s)
						if !ok {
							a = &accept{key: s, rules: make([]uint64, words)}
							p.by.Set(s, a)
						}
						bit(a.rules, j)
					}
				}
				p.n++
			}
			// A requirement of one rule saves at most that rule's match,
			// which costs about what the lookup does.
			if p.n < 2 {
				continue
			}
			if len(p.keys) == 1 {
				p.env = indexOf(wrapperKeys, p.keys[0])
			}
			if len(p.keys) == 2 && p.keys[0] == "detail" {
				if i := indexOf(fixedKeys[:], p.keys[1]); i >= 0 {
					p.fixed = fixedField(i)
				}
			}
			f.paths = append(f.paths, p)
		}
	}
	// The most telling paths first: once no rule is left, the rest is skipped.
	slices.SortStableFunc(f.paths, func(a, b filterPath) int { return b.n - a.n })
	return f
}

// valueAt follows a path from v as Pattern.Requires defines the value
// there, by reference (nil: absent); ok is false when an array is on the
// way or at the end.
func valueAt(v *ep.Value, steps []filterStep) (_ *ep.Value, ok bool) {
	for i := range steps {
		s := &steps[i]
		switch v.Kind() {
		case ep.Object:
			if v = v.MemberAt(s.key, s.layout, s.at); v == nil {
				return nil, true
			}
		case ep.Array:
			return nil, false
		default:
			return nil, true
		}
	}
	return v, v.Kind() != ep.Array
}

// absentValue stands for a missing member; it is only read.
var absentValue ep.Value

// filterState is one worker's memory for the prefilter.
type filterState struct {
	// last remembers the string last found at each path: consecutive
	// records often share it ("detail-type" nearly always), and comparing
	// it costs less than a map lookup.
	last []*accept
	// A path that seldom tells anything (an array on the way: CloudTrail's
	// "resources" is always one) costs a lookup per record for nothing: after
	// filterSample records, the paths that told nothing for nearly all of
	// them are no longer looked at. Leaving a path out keeps more rules to
	// match, so it never changes a result.
	seen   int
	silent []int
	off    []bool
}

const filterSample = 1024

func (f *prefilter) newState() *filterState {
	n := len(f.paths)
	return &filterState{last: make([]*accept, n), silent: make([]int, n), off: make([]bool, n)}
}

// candidates returns the rules ev may match, as a bit set in buf's storage;
// env and rf are the envelope values and record fields ev was built from.
func (f *prefilter) candidates(ev *ep.Value, env []ep.Value, rf *recordFields, buf []uint64, st *filterState) []uint64 {
	buf = append(buf[:0], f.all...)
	if st.seen < filterSample {
		if st.seen++; st.seen == filterSample {
			for i, n := range st.silent {
				st.off[i] = n > filterSample*15/16
			}
		}
	}
	for i := range f.paths {
		if st.off[i] {
			continue
		}
		p := &f.paths[i]
		var v *ep.Value
		switch {
		case p.env >= 0:
			v = &env[p.env]
		case p.fixed >= 0:
			v = &rf[p.fixed]
		default:
			var ok bool
			if v, ok = valueAt(ev, p.steps); !ok {
				st.silent[i]++
				continue
			}
		}
		var by []uint64
		leaf := true
		if v == nil {
			v = &absentValue
		}
		switch v.Kind() {
		case ep.Array:
			st.silent[i]++
			continue
		case ep.Absent, ep.Object:
			leaf = false
		case ep.String:
			if a := st.last[i]; a != nil && a.key == v.Str() {
				by = a.rules
			} else if a, _ := p.by.Get(v.Str()); a != nil {
				by, st.last[i] = a.rules, a
			}
		}
		left := uint64(0)
		for j := range buf {
			keep := p.free[j]
			if leaf {
				keep |= p.present[j]
			} else {
				keep |= p.missing[j]
			}
			if by != nil {
				keep |= by[j]
			}
			buf[j] &= keep
			left |= buf[j]
		}
		if left == 0 {
			break
		}
	}
	return buf
}
