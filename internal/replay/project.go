package replay

import (
	"encoding/binary"
	"math/bits"
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
	byLen [maxProjectedKey + 1][]uint8 // key length -> indexes into keys
	// fixed[i] is the fixedField kept from member i at the record's level.
	fixed []int8
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
	n.fixed = append(n.fixed, -1)
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
		n.byLen[len(k)] = append(n.byLen[len(k)], uint8(i))
		if !n.kids[i].index() {
			return false
		}
	}
	return true
}

// lookup returns the index of key among the node's keys, or -1.
func (n *pathNode) lookup(key []byte) int {
	if len(key) > maxProjectedKey {
		return -1
	}
	for _, i := range n.byLen[len(key)] {
		if n.keys[i] == string(key) {
			return int(i)
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
	// Pattern fields first: object() emits members in reverse node order.
	for i := range rules {
		for _, f := range rules[i].Pattern.Fields() {
			if len(f.Keys) > 1 && f.Keys[0] == "detail" {
				root.add(f.Keys[1:], f.Leaf)
			}
		}
	}
	for i, k := range fixedKeys {
		root.add([]string{k}, true)
		root.fixed[indexOf(root.keys, k)] = int8(i)
	}
	for _, p := range summaryFields {
		root.add(p, true)
	}
	return root, root.index()
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
// returns are valid until the next scan: their strings live in an arena
// that is never overwritten (they may be kept), but their member slices are
// reused.
type projector struct {
	root *pathNode
	// topLevel: a line-oriented top-level object, where a line starting
	// with '{' ends an unfinished value and a "Records" member makes it a
	// log file rather than a record; both are left to the full decoder.
	topLevel bool

	b        []byte
	i        int
	st       scanStatus
	newlines int
	esc      bool // the last string skipped had an escape
	fixed    recordFields

	arena []byte     // string bytes; only ever appended to
	slots []ep.Value // per object level: the kept value of each key
	set   []bool
	elems []ep.Value // array elements being collected
	outK  []string   // the record's projected objects, reused per record
	outV  []ep.Value
	outA  []ep.Value // the record's projected arrays, reused per record
}

// strArenaChunk is the size of a string arena chunk.
const strArenaChunk = 64 << 10

// str copies b into the arena and returns it as a string. The arena is
// append-only, a full chunk is left to the garbage collector and a new one
// started, so the bytes behind a returned string are never written again:
// that is what makes the unsafe conversion sound.
func (p *projector) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(p.arena)-len(p.arena) < len(b) {
		p.arena = make([]byte, 0, max(strArenaChunk, len(b)))
	}
	start := len(p.arena)
	p.arena = append(p.arena, b...)
	return unsafe.String(&p.arena[start], len(b))
}

// scan projects the record object at the start of b (b[0] == '{'). On
// scanOK, n is the length of the record and the fixed fields are set.
func (p *projector) scan(b []byte) (rec ep.Value, n int, st scanStatus) {
	p.b, p.i, p.st, p.newlines = b, 0, scanOK, 0
	p.outK, p.outV, p.outA = p.outK[:0], p.outV[:0], p.outA[:0]
	p.fixed = recordFields{}
	rec = p.object(p.root, 0, true)
	p.b = nil
	if p.st != scanOK {
		return ep.Value{}, 0, p.st
	}
	return rec, p.i, scanOK
}

func (p *projector) fail(st scanStatus) {
	if p.st == scanOK {
		p.st = st
	}
}

// eof marks running out of input: more may come.
func (p *projector) eof() bool {
	if p.i >= len(p.b) {
		p.fail(scanMore)
		return true
	}
	return false
}

// skipSpace skips JSON whitespace, counting newlines.
func (p *projector) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r':
			p.i++
		case '\n':
			p.i++
			p.newlines++
			if p.topLevel && p.i < len(p.b) && p.b[p.i] == '{' {
				p.fail(scanFallback)
				return
			}
		default:
			return
		}
	}
}

// object scans an object whose '{' is at p.i, keeping the members of node.
// depth is the nesting depth as eventpattern.Parse counts it.
func (p *projector) object(node *pathNode, depth int, record bool) ep.Value {
	base := len(p.slots)
	for range node.keys {
		p.slots = append(p.slots, ep.Value{})
		p.set = append(p.set, false)
	}
	ok := p.members(node, base, depth, record)
	if !ok {
		p.slots, p.set = p.slots[:base], p.set[:base]
		return ep.Value{}
	}
	// The kept members in reverse node order: the pattern fields were added
	// to the tree first, so they come last, where Value.Get (which searches
	// from the end) finds them first.
	start := len(p.outK)
	for j := len(node.keys) - 1; j >= 0; j-- {
		if p.set[base+j] {
			p.outK = append(p.outK, node.keys[j])
			p.outV = append(p.outV, p.slots[base+j])
			if record && node.fixed[j] >= 0 {
				p.fixed[node.fixed[j]] = p.slots[base+j]
			}
		}
	}
	p.slots, p.set = p.slots[:base], p.set[:base]
	end := len(p.outK)
	if start == end {
		return ep.ObjectValue(nil, nil)
	}
	return ep.ObjectValue(p.outK[start:end:end], p.outV[start:end:end])
}

// members scans the members of the object at p.i into the slots from base.
func (p *projector) members(node *pathNode, base, depth int, record bool) bool {
	p.i++ // '{'
	p.skipSpace()
	if p.eof() {
		return false
	}
	if p.b[p.i] == '}' {
		p.i++
		return true
	}
	for {
		p.skipSpace()
		if p.eof() {
			return false
		}
		if p.b[p.i] != '"' {
			p.fail(scanFallback)
			return false
		}
		kStart := p.i + 1
		if !p.skipString() {
			return false
		}
		if p.esc { // an escaped key: rare, left to the full decoder
			p.fail(scanFallback)
			return false
		}
		key := p.b[kStart : p.i-1]
		p.skipSpace()
		if p.eof() {
			return false
		}
		if p.b[p.i] != ':' {
			p.fail(scanFallback)
			return false
		}
		p.i++
		p.skipSpace()
		if record && p.topLevel && string(key) == "Records" {
			p.fail(scanFallback)
			return false
		}
		if idx := node.lookup(key); idx < 0 {
			p.skipValue(depth + 1)
		} else {
			v := p.value(node.kids[idx], depth+1)
			// Duplicate keys: the last one wins, as in Value.Get.
			p.slots[base+idx], p.set[base+idx] = v, true
		}
		if p.st != scanOK {
			return false
		}
		p.skipSpace()
		if p.eof() {
			return false
		}
		c := p.b[p.i]
		p.i++
		if c == '}' {
			return true
		}
		if c != ',' {
			p.fail(scanFallback)
			return false
		}
	}
}

// value decodes the value at p.i for a kept member: objects pruned to node's
// keys (emptied if it has none), arrays element by element, scalars whole.
func (p *projector) value(node *pathNode, depth int) ep.Value {
	if p.eof() {
		return ep.Value{}
	}
	if depth > maxScanDepth {
		p.fail(scanFallback)
		return ep.Value{}
	}
	switch c := p.b[p.i]; {
	case c == '{':
		if len(node.keys) == 0 {
			p.skipContainer(depth, '}')
			return ep.ObjectValue(nil, nil)
		}
		return p.object(node, depth, false)
	case c == '[':
		return p.array(node, depth)
	case c == '"':
		start := p.i
		if !p.skipString() {
			return ep.Value{}
		}
		raw := p.b[start+1 : p.i-1]
		if p.esc {
			v, err := ep.Parse(p.b[start:p.i]) // the full decoder's unescaping
			if err != nil {
				p.fail(scanFallback)
			}
			return v
		}
		return ep.StringValue(p.str(raw))
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		if !p.skipNumber() {
			return ep.Value{}
		}
		return ep.NumberValue(p.str(p.b[start:p.i]))
	case c == 't':
		if p.literal("true") {
			return ep.BoolValue(true)
		}
	case c == 'f':
		if p.literal("false") {
			return ep.BoolValue(false)
		}
	case c == 'n':
		if p.literal("null") {
			return ep.NullValue()
		}
	default:
		p.fail(scanFallback)
	}
	return ep.Value{}
}

func (p *projector) array(node *pathNode, depth int) ep.Value {
	p.i++ // '['
	base := len(p.elems)
	defer func() { p.elems = p.elems[:base] }()
	p.skipSpace()
	if p.eof() {
		return ep.Value{}
	}
	if p.b[p.i] == ']' {
		p.i++
		return ep.ArrayValue()
	}
	for {
		p.skipSpace()
		v := p.value(node, depth+1)
		if p.st != scanOK {
			return ep.Value{}
		}
		p.elems = append(p.elems, v)
		p.skipSpace()
		if p.eof() {
			return ep.Value{}
		}
		c := p.b[p.i]
		p.i++
		if c == ']' {
			break
		}
		if c != ',' {
			p.fail(scanFallback)
			return ep.Value{}
		}
	}
	start := len(p.outA)
	p.outA = append(p.outA, p.elems[base:]...)
	end := len(p.outA)
	return ep.ArrayValue(p.outA[start:end:end]...)
}

// maxScanDepth is the deepest value the scanner handles; eventpattern.Parse
// refuses more than 512 levels, and deeper input goes to it for the message.
const maxScanDepth = 500

// skipValue validates and skips the value at p.i.
func (p *projector) skipValue(depth int) {
	if p.eof() {
		return
	}
	if depth > maxScanDepth {
		p.fail(scanFallback)
		return
	}
	switch c := p.b[p.i]; {
	case c == '"':
		p.skipString()
	case c == '{':
		p.skipContainer(depth, '}')
	case c == '[':
		p.skipContainer(depth, ']')
	case c == '-' || (c >= '0' && c <= '9'):
		p.skipNumber()
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	default:
		p.fail(scanFallback)
	}
}

// skipContainer validates and skips an object or array.
func (p *projector) skipContainer(depth int, closer byte) {
	p.i++
	p.skipSpace()
	if p.eof() {
		return
	}
	if p.b[p.i] == closer {
		p.i++
		return
	}
	for {
		p.skipSpace()
		if closer == '}' {
			if p.eof() {
				return
			}
			if p.b[p.i] != '"' {
				p.fail(scanFallback)
				return
			}
			if !p.skipString() {
				return
			}
			p.skipSpace()
			if p.eof() {
				return
			}
			if p.b[p.i] != ':' {
				p.fail(scanFallback)
				return
			}
			p.i++
			p.skipSpace()
		}
		p.skipValue(depth + 1)
		if p.st != scanOK {
			return
		}
		p.skipSpace()
		if p.eof() {
			return
		}
		c := p.b[p.i]
		p.i++
		if c == closer {
			return
		}
		if c != ',' {
			p.fail(scanFallback)
			return
		}
	}
}

func (p *projector) literal(word string) bool {
	if len(p.b)-p.i < len(word) {
		if string(p.b[p.i:]) == word[:len(p.b)-p.i] {
			p.fail(scanMore)
		} else {
			p.fail(scanFallback)
		}
		return false
	}
	if string(p.b[p.i:p.i+len(word)]) != word {
		p.fail(scanFallback)
		return false
	}
	p.i += len(word)
	return true
}

// skipNumber validates a number with eventpattern.Parse's grammar.
func (p *projector) skipNumber() bool {
	b, i := p.b, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		p.fail(scanMore)
		return false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		p.fail(scanFallback)
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			p.fail(scanFallback)
			return false
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
			p.fail(scanFallback)
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i >= len(b) { // the number may go on in input not yet read
		p.fail(scanMore)
		return false
	}
	p.i = i
	return true
}

// SWAR constants: one byte repeated in each of a word's eight bytes.
const (
	lo8    = 0x0101010101010101
	hi8    = 0x8080808080808080
	quote8 = '"' * lo8
	bslash = '\\' * lo8
	space8 = 0x20 * lo8
)

// skipString validates and skips a string whose opening quote is at p.i:
// as eventpattern.Parse, it refuses control characters and invalid escapes
// (\u needs four hex digits) and passes invalid UTF-8 through. It scans
// eight bytes at a time for a quote, a backslash or a control character.
func (p *projector) skipString() bool {
	b := p.b
	i := p.i + 1
	p.esc = false
	for {
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			// A byte of interest has its high bit set in m; bits above
			// the first one may be spurious, the first one is exact.
			q, s := w^quote8, w^bslash
			m := ((q - lo8) &^ q) | ((s - lo8) &^ s) | ((w - space8) &^ w)
			m &= hi8
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
		if i >= len(b) {
			p.fail(scanMore)
			return false
		}
		switch c := b[i]; {
		case c == '"':
			p.i = i + 1
			return true
		case c < 0x20:
			p.fail(scanFallback)
			return false
		}
		// An escape.
		p.esc = true
		if i+1 >= len(b) {
			p.fail(scanMore)
			return false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) {
				p.fail(scanMore)
				return false
			}
			for _, h := range b[i+2 : i+6] {
				if !isHex(h) {
					p.fail(scanFallback)
					return false
				}
			}
			i += 6
		default:
			p.fail(scanFallback)
			return false
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
