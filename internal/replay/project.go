package replay

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unsafe"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// The projecting scanner (docs/replay.md, "Performance"): the rules read a
// few dozen fields of a record of a hundred or more, so the scanner decodes
// only the members on the paths the compiled patterns and the summary read
// (eventpattern.Pattern.Fields) and skips everything else, validating it
// without building it. Its output is an eventpattern.Value pruned to those
// paths, which matches, wraps and prints exactly as the whole record does.
//
// It accepts a subset of what eventpattern.Parse accepts: whenever it is in
// doubt (invalid JSON, an escape in a key, nesting near the limit, a value
// longer than the buffered input) it gives up and the caller decodes the
// record with eventpattern.Parse, which then reports the error exactly as
// before, or decodes the record in full.

// pathNode is one object level of the projection: the member keys to keep.
type pathNode struct {
	leaf  bool // a leaf test applies here: scalars and arrays are kept whole
	keys  []string
	kids  []*pathNode
	byLen [maxProjectedKey + 1][]keyRef // key length -> the keys of that length
	// fixedAt[f] is the index among keys of fixed field f (the root only).
	fixedAt [numFixed]int
}

// maxProjectedKey bounds the keys a node can hold; longer keys are never read.
const maxProjectedKey = 64

// child returns the node for key, creating it.
func (n *pathNode) child(key string) *pathNode {
	for i, k := range n.keys {
		if k == key {
			return n.kids[i]
		}
	}
	c := &pathNode{}
	n.keys = append(n.keys, key)
	n.kids = append(n.kids, c)
	return c
}

// add records a path to keep.
func (n *pathNode) add(keys []string, leaf bool) *pathNode {
	for _, k := range keys {
		n = n.child(k)
	}
	if leaf {
		n.leaf = true
	}
	return n
}

// index fills the by-length lookup of this node and those below it. Keys
// longer than maxProjectedKey, or more than 255 at one level, cannot be
// projected: ok is false and the caller decodes every record in full.
func (n *pathNode) index() (ok bool) {
	if len(n.keys) > 255 {
		return false
	}
	for i := range n.byLen {
		n.byLen[i] = nil
	}
	for i, k := range n.keys {
		if len(k) > maxProjectedKey {
			return false
		}
		n.byLen[len(k)] = append(n.byLen[len(k)], keyRef{prefix: keyPrefix([]byte(k)), index: uint8(i)})
		if !n.kids[i].index() {
			return false
		}
	}
	return true
}

// keyRef is one key of a node: its first eight bytes, which tell most keys
// apart without comparing them whole, and its index.
type keyRef struct {
	prefix uint64
	index  uint8
}

// keyPrefix is the first eight bytes of a key (fewer, zero-padded).
func keyPrefix(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.LittleEndian.Uint64(k)
	}
	var w uint64
	for i, c := range k {
		w |= uint64(c) << (8 * i)
	}
	return w
}

// lookupWith returns the index of key among the node's keys, or -1; pre is
// the key's prefix (keyPrefix), which the scanner has already read.
func (n *pathNode) lookupWith(key []byte, pre uint64) int {
	if len(key) > maxProjectedKey {
		return -1
	}
	refs := n.byLen[len(key)]
	if len(refs) == 0 {
		return -1
	}
	for _, r := range refs {
		if r.prefix == pre && (len(key) <= 8 || n.keys[r.index] == string(key)) {
			return int(r.index)
		}
	}
	return -1
}

// fixedField names the record members every replay reads, whatever the
// rules: Wrap's envelope and read-only test, the summary's place, and the
// errorCode the rules' prefilter and --show lines read.
type fixedField int8

const (
	fEventType fixedField = iota
	fEventID
	fEventSource
	fRecipientAccountID
	fEventTime
	fAwsRegion
	fEventCategory
	fEventName
	fReadOnly
	fErrorCode
	numFixed
)

var fixedKeys = [numFixed]string{"eventType", "eventID", "eventSource", "recipientAccountId", "eventTime", "awsRegion", "eventCategory", "eventName", "readOnly", "errorCode"}

// summaryFields are the other record paths the summary and --show lines read
// (Principal, ShowLine).
var summaryFields = [][]string{
	{"sourceIPAddress"},
	{"userIdentity", "arn"}, {"userIdentity", "type"}, {"userIdentity", "invokedBy"}, {"userIdentity", "principalId"},
}

// newProjection builds the projection tree for a rule set: the record paths
// under "detail" that any pattern reads, the fixed fields and the summary's.
// ok is false when the rules read something the scanner cannot project.
func newProjection(rules Rules) (*pathNode, bool) {
	root := &pathNode{}
	for _, k := range fixedKeys {
		root.add([]string{k}, true)
	}
	for _, p := range summaryFields {
		root.add(p, true)
	}
	reads := map[*pathNode]int{} // how many pattern fields go through a node
	for i := range rules {
		for _, f := range rules[i].Pattern.Fields() {
			if len(f.Keys) > 1 && f.Keys[0] == "detail" {
				n := root
				for _, k := range f.Keys[1:] {
					n = n.child(k)
					reads[n]++
				}
				n.leaf = n.leaf || f.Leaf
			}
		}
	}
	root.order(reads)
	for i, k := range fixedKeys {
		root.fixedAt[i] = indexOf(root.keys, k)
	}
	return root, root.index()
}

// layout is the key order of the objects the scanner builds at a path of
// the envelope Wrap puts a projected record in (eventpattern.Layout): the
// envelope's own keys at the top, the projection's below "detail"; nil
// where the path leaves the projection.
func (n *pathNode) layout(path []string) []string {
	if len(path) == 0 {
		return wrapperKeys
	}
	if path[0] != "detail" {
		return nil
	}
	for _, k := range path[1:] {
		i := indexOf(n.keys, k)
		if i < 0 {
			return nil
		}
		n = n.kids[i]
	}
	return n.keys
}

// order sorts the keys of the tree so that the ones the patterns read most
// come last, where Value.Get, which searches from the end, finds them first.
func (n *pathNode) order(reads map[*pathNode]int) {
	idx := make([]int, len(n.keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return reads[n.kids[a]] - reads[n.kids[b]] })
	keys, kids := make([]string, len(idx)), make([]*pathNode, len(idx))
	for j, i := range idx {
		keys[j], kids[j] = n.keys[i], n.kids[i]
		kids[j].order(reads)
	}
	n.keys, n.kids = keys, kids
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

// scanStatus is the outcome of scanning one record.
type scanStatus uint8

const (
	scanOK       scanStatus = iota
	scanMore                // the record runs past the end of the input given
	scanFallback            // decode it with eventpattern.Parse instead
)

// projector scans records; it is not safe for concurrent use. The Values it
// returns, and their strings, are valid while the caller handles the
// record (see str); their member slices are reused by the next scan. A projected object has every key of its tree node, in node order,
// those absent from the record with the zero (Absent) Value: to Value.Get,
// and so to matching, wrapping and printing, that is the same as leaving
// them out, and it saves building each object member by member.
type projector struct {
	root *pathNode
	// topLevel: a line-oriented top-level object, where a line starting
	// with '{' ends an unfinished value and a "Records" member makes it a
	// log file rather than a record; both are left to the full decoder.
	topLevel bool

	st       scanStatus
	newlines int
	fixed    recordFields // see fields

	slab  []ep.Value // the record's objects' members, reused per record
	elems []ep.Value // array elements being collected
	outA  []ep.Value // the record's arrays' elements, reused per record
}

// fields returns the fixed fields of the record last scanned (its root
// object is the start of the slab).
func (p *projector) fields() *recordFields {
	for f, i := range p.root.fixedAt {
		p.fixed[f] = p.slab[i]
	}
	return &p.fixed
}

// str returns the bytes of b as a string without copying them. The scanned
// input stays unchanged until the caller has handled the record (the
// stream reads no further meanwhile), so the strings of a projected record
// are valid until then, and whatever outlives the record is cloned:
// worker.record clones what a batch keeps. That is the contract that makes
// the unsafe conversion sound, and it saves copying every kept string.
func (p *projector) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// scan projects the record object at the start of b (b[0] == '{'). On
// scanOK, n is the length of the record and the fixed fields are set.
func (p *projector) scan(b []byte) (rec ep.Value, n int, st scanStatus) {
	p.st, p.newlines = scanOK, 0
	p.slab, p.outA = p.slab[:0], p.outA[:0]
	rec, n = p.object(b, 0, p.root, 0, true)
	if p.st != scanOK {
		return ep.Value{}, 0, p.st
	}
	return rec, n, scanOK
}

// The scanning functions take the input and a position and return the
// position after what they read; they keep both in registers rather than
// in the projector. On failure they record the status (the first one
// sticks) and return len(b), so that callers stop at their next check.

func (p *projector) fail(b []byte, st scanStatus) int {
	if p.st == scanOK {
		p.st = st
	}
	return len(b)
}

// ws skips JSON whitespace from i; none, the common case, costs one test.
func (p *projector) ws(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return p.wsSlow(b, i)
}

// wsSlow skips whitespace, counting newlines; on a line-oriented top level
// a line starting with '{' inside the record sends it to the full decoder.
func (p *projector) wsSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r':
			i++
		case '\n':
			i++
			p.newlines++
			if p.topLevel && i < len(b) && b[i] == '{' {
				return p.fail(b, scanFallback)
			}
		default:
			return i
		}
	}
	return i
}

// object scans the object whose '{' is at i, keeping the members of node.
// depth is the nesting depth as eventpattern.Parse counts it.
func (p *projector) object(b []byte, i int, node *pathNode, depth int, record bool) (ep.Value, int) {
	base, n := len(p.slab), len(node.keys)
	p.slab = slices.Grow(p.slab, n)[:base+n]
	clear(p.slab[base:])
	if i = p.members(b, i, node, base, depth, record); p.st != scanOK {
		return ep.Value{}, i
	}
	return ep.ObjectValue(node.keys, p.slab[base:base+n:base+n]), i
}

// members scans the members of the object whose '{' is at i into the slab
// from base, and returns the position after its '}'.
func (p *projector) members(b []byte, i int, node *pathNode, base, depth int, record bool) int {
	i = p.ws(b, i+1)
	if i >= len(b) {
		return p.fail(b, scanMore)
	}
	if b[i] == '}' {
		return i + 1
	}
	for {
		i = p.ws(b, i)
		if i >= len(b) {
			return p.fail(b, scanMore)
		}
		if b[i] != '"' {
			return p.fail(b, scanFallback)
		}
		end, pre := shortKey(b, i)
		if end == 0 {
			var esc bool
			var st scanStatus
			if end, esc, st = scanString(b, i); st != scanOK {
				return p.fail(b, st)
			}
			if esc { // an escaped key: rare, left to the full decoder
				return p.fail(b, scanFallback)
			}
			pre = keyPrefix(b[i+1 : end-1])
		}
		key := b[i+1 : end-1]
		i = p.ws(b, end)
		if i >= len(b) {
			return p.fail(b, scanMore)
		}
		if b[i] != ':' {
			return p.fail(b, scanFallback)
		}
		i = p.ws(b, i+1)
		if i >= len(b) {
			return p.fail(b, scanMore)
		}
		if record && p.topLevel && string(key) == "Records" {
			return p.fail(b, scanFallback)
		}
		if idx := node.lookupWith(key, pre); idx < 0 {
			if b[i] == '"' { // the common case, without the dispatch
				var st scanStatus
				if i, _, st = scanString(b, i); st != scanOK {
					return p.fail(b, st)
				}
			} else if i = p.skipValue(b, i, depth+1); p.st != scanOK {
				return i
			}
		} else if b[i] == '"' {
			// A string, the common case, written in place (nothing below
			// it can move the slab). Duplicate keys: the last one wins, as
			// in Value.Get.
			end, esc, st := scanString(b, i)
			if st != scanOK {
				return p.fail(b, st)
			}
			if esc {
				v, err := ep.Parse(b[i:end]) // the full decoder's unescaping
				if err != nil {
					return p.fail(b, scanFallback)
				}
				p.slab[base+idx] = v
			} else {
				p.slab[base+idx] = ep.StringValue(p.str(b[i+1 : end-1]))
			}
			i = end
		} else {
			var v ep.Value
			if v, i = p.value(b, i, node.kids[idx], depth+1); p.st != scanOK {
				return i
			}
			p.slab[base+idx] = v
		}
		i = p.ws(b, i)
		if i >= len(b) {
			return p.fail(b, scanMore)
		}
		c := b[i]
		i++
		if c == '}' {
			return i
		}
		if c != ',' {
			return p.fail(b, scanFallback)
		}
	}
}

// value decodes the value at i for a kept member: objects pruned to node's
// keys (emptied if it has none), arrays element by element, scalars whole.
func (p *projector) value(b []byte, i int, node *pathNode, depth int) (ep.Value, int) {
	if i >= len(b) {
		return ep.Value{}, p.fail(b, scanMore)
	}
	if depth > maxScanDepth {
		return ep.Value{}, p.fail(b, scanFallback)
	}
	switch c := b[i]; {
	case c == '{':
		if len(node.keys) == 0 {
			i = p.skipContainer(b, i, depth, '}')
			return ep.ObjectValue(nil, nil), i
		}
		return p.object(b, i, node, depth, false)
	case c == '[':
		return p.array(b, i, node, depth)
	case c == '"':
		end, esc, st := scanString(b, i)
		if st != scanOK {
			return ep.Value{}, p.fail(b, st)
		}
		if esc {
			v, err := ep.Parse(b[i:end]) // the full decoder's unescaping
			if err != nil {
				return ep.Value{}, p.fail(b, scanFallback)
			}
			return v, end
		}
		return ep.StringValue(p.str(b[i+1 : end-1])), end
	case c == '-' || (c >= '0' && c <= '9'):
		end := p.skipNumber(b, i)
		if p.st != scanOK {
			return ep.Value{}, end
		}
		return ep.NumberValue(p.str(b[i:end])), end
	case c == 't':
		return ep.BoolValue(true), p.literal(b, i, "true")
	case c == 'f':
		return ep.BoolValue(false), p.literal(b, i, "false")
	case c == 'n':
		return ep.NullValue(), p.literal(b, i, "null")
	}
	return ep.Value{}, p.fail(b, scanFallback)
}

func (p *projector) array(b []byte, i int, node *pathNode, depth int) (ep.Value, int) {
	base := len(p.elems)
	defer func() { p.elems = p.elems[:base] }()
	i = p.ws(b, i+1)
	if i >= len(b) {
		return ep.Value{}, p.fail(b, scanMore)
	}
	if b[i] == ']' {
		return ep.ArrayValue(), i + 1
	}
	for {
		i = p.ws(b, i)
		var v ep.Value
		if v, i = p.value(b, i, node, depth+1); p.st != scanOK {
			return ep.Value{}, i
		}
		p.elems = append(p.elems, v)
		i = p.ws(b, i)
		if i >= len(b) {
			return ep.Value{}, p.fail(b, scanMore)
		}
		c := b[i]
		i++
		if c == ']' {
			break
		}
		if c != ',' {
			return ep.Value{}, p.fail(b, scanFallback)
		}
	}
	start := len(p.outA)
	p.outA = append(p.outA, p.elems[base:]...)
	end := len(p.outA)
	return ep.ArrayValue(p.outA[start:end:end]...), i
}

// maxScanDepth is the deepest value the scanner handles; eventpattern.Parse
// refuses more than 512 levels, and deeper input goes to it for the message.
const maxScanDepth = 500

// skipValue validates and skips the value at i.
func (p *projector) skipValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return p.fail(b, scanMore)
	}
	if depth > maxScanDepth {
		return p.fail(b, scanFallback)
	}
	switch c := b[i]; {
	case c == '"':
		end, _, st := scanString(b, i)
		if st != scanOK {
			return p.fail(b, st)
		}
		return end
	case c == '{':
		return p.skipContainer(b, i, depth, '}')
	case c == '[':
		return p.skipContainer(b, i, depth, ']')
	case c == '-' || (c >= '0' && c <= '9'):
		return p.skipNumber(b, i)
	case c == 't':
		return p.literal(b, i, "true")
	case c == 'f':
		return p.literal(b, i, "false")
	case c == 'n':
		return p.literal(b, i, "null")
	}
	return p.fail(b, scanFallback)
}

// skipContainer validates and skips the object or array at i.
func (p *projector) skipContainer(b []byte, i, depth int, closer byte) int {
	i = p.ws(b, i+1)
	if i >= len(b) {
		return p.fail(b, scanMore)
	}
	if b[i] == closer {
		return i + 1
	}
	for {
		i = p.ws(b, i)
		if closer == '}' {
			if i >= len(b) {
				return p.fail(b, scanMore)
			}
			if b[i] != '"' {
				return p.fail(b, scanFallback)
			}
			end, _, st := scanString(b, i)
			if st != scanOK {
				return p.fail(b, st)
			}
			i = p.ws(b, end)
			if i >= len(b) {
				return p.fail(b, scanMore)
			}
			if b[i] != ':' {
				return p.fail(b, scanFallback)
			}
			i = p.ws(b, i+1)
		}
		if i < len(b) && b[i] == '"' {
			end, _, st := scanString(b, i)
			if st != scanOK {
				return p.fail(b, st)
			}
			i = end
		} else if i = p.skipValue(b, i, depth+1); p.st != scanOK {
			return i
		}
		i = p.ws(b, i)
		if i >= len(b) {
			return p.fail(b, scanMore)
		}
		c := b[i]
		i++
		if c == closer {
			return i
		}
		if c != ',' {
			return p.fail(b, scanFallback)
		}
	}
}

func (p *projector) literal(b []byte, i int, word string) int {
	if len(b)-i < len(word) {
		if string(b[i:]) == word[:len(b)-i] {
			return p.fail(b, scanMore)
		}
		return p.fail(b, scanFallback)
	}
	if string(b[i:i+len(word)]) != word {
		return p.fail(b, scanFallback)
	}
	return i + len(word)
}

// skipNumber validates a number with eventpattern.Parse's grammar.
func (p *projector) skipNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return p.fail(b, scanMore)
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return p.fail(b, scanFallback)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return p.fail(b, scanFallback)
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return p.fail(b, scanFallback)
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i >= len(b) { // the number may go on in input not yet read
		return p.fail(b, scanMore)
	}
	return i
}

// SWAR constants: one byte repeated in each of a word's eight bytes.
const (
	lo8    = 0x0101010101010101
	hi8    = 0x8080808080808080
	quote8 = '"' * lo8
	bslash = '\\' * lo8
	space8 = 0x20 * lo8
)

// scanString validates the string whose opening quote is at i and returns
// the position after its closing quote, and whether it holds an escape. As
// eventpattern.Parse, it refuses control characters and invalid escapes
// (\u needs four hex digits) and passes invalid UTF-8 through. It looks at
// eight bytes at a time for a quote, a backslash or a control character.
func scanString(b []byte, i int) (end int, esc bool, st scanStatus) {
	i++
	for {
		// Eight bytes at a time, then byte by byte near the end of b.
		for {
			if i+8 <= len(b) {
				if m := stringStops(binary.LittleEndian.Uint64(b[i:])); m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					break
				}
				i += 8
				continue
			}
			for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
				i++
			}
			if i >= len(b) {
				return 0, esc, scanMore
			}
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, scanOK
		case c < 0x20:
			return 0, esc, scanFallback
		}
		// An escape.
		esc = true
		if i+1 >= len(b) {
			return 0, esc, scanMore
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) {
				return 0, esc, scanMore
			}
			for _, h := range b[i+2 : i+6] {
				if !isHex(h) {
					return 0, esc, scanFallback
				}
			}
			i += 6
		default:
			return 0, esc, scanFallback
		}
	}
}

// shortKey reads the member key whose opening quote is at i when it is
// shorter than 16 bytes and holds no escape or control character, the
// common case, in two eight-byte words: it returns the position after the
// closing quote and the key's prefix (keyPrefix). end is 0 when the key is
// not such a key (or b ends too soon): the caller then scans it as any string.
func shortKey(b []byte, i int) (end int, pre uint64) {
	if i+17 > len(b) {
		return 0, 0
	}
	w := binary.LittleEndian.Uint64(b[i+1:])
	n := 0
	m := stringStops(w)
	if m == 0 {
		if m = stringStops(binary.LittleEndian.Uint64(b[i+9:])); m == 0 {
			return 0, 0
		}
		n = 8
	}
	n += bits.TrailingZeros64(m) >> 3
	if b[i+1+n] != '"' {
		return 0, 0
	}
	if n < 8 {
		w &= 1<<(8*n) - 1
	}
	return i + n + 2, w
}

// stringStops marks, by its high bit, each byte of w (eight string bytes,
// little-endian) that is a quote, a backslash or a control character; bits
// above the first mark may be spurious, the first one is exact.
func stringStops(w uint64) uint64 {
	q, s := w^quote8, w^bslash
	return (((q - lo8) &^ q) | ((s - lo8) &^ s) | ((w - space8) &^ w)) & hi8
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
