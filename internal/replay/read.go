package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/inflate"
)

// Problem is malformed input that was skipped: file, line where the record
// (or the damage) starts, and why.
type Problem struct {
	File   string
	Line   int
	Reason string
}

func (p Problem) String() string {
	if p.File == "" { // not about one input: a bucket listing that failed midway
		return p.Reason
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
}

// maxRecord bounds one captured JSON value; CloudTrail caps events far below.
const maxRecord = 64 << 20

// ExpandPaths turns file and directory arguments into the files to read:
// directories are walked recursively, their files in lexical order; "-"
// (stdin) is kept as is.
func ExpandPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		info, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

// ReadRecords streams the CloudTrail records of one input: a CloudTrail
// log file ({"Records":[...]}, streamed element by element), JSON lines
// (one record, or one {"Records":[...]} object, per line), or a JSON array
// of records; gzip is detected by its magic bytes. fn is called per record
// with the line the record starts on; a non-nil error from fn stops the
// read and is returned. Malformed input goes to problem and is skipped.
// The returned error is an I/O failure of the input itself.
func ReadRecords(name string, r io.Reader, fn func(rec ep.Value, line int) error, problem func(Problem)) error {
	var dec ep.Decoder
	return splitRecords(name, r, func(raw []byte, line int, expand bool) error {
		return decodeRecords(&dec, name, raw, line, expand, fn, problem)
	}, problem)
}

// splitRecords is the first half of ReadRecords: it finds the records of
// one input and hands each one's raw JSON to emit, undecoded (raw is reused
// after emit returns). expand marks a top-level object read whole, whose
// "Records" array holds the records. Splitting is sequential; decoding can
// then run on other cores.
func splitRecords(name string, r io.Reader, emit func(raw []byte, line int, expand bool) error, problem func(Problem)) error {
	return scanRecords(name, r, &readers{}, nil, nil, emit, problem)
}

// readProjected streams the records of one input as the replay decodes
// them: each record object the projecting scanner can read goes to fn pruned
// to the paths of proj's tree, with its fixed fields; every other value is
// decoded in full by dec, as ReadRecords does, and its record(s) go to fn
// with their fields looked up. Problems and the returned error are those of
// ReadRecords.
func readProjected(name string, r io.Reader, rs *readers, proj *projector, dec *ep.Decoder, fn func(rec ep.Value, f *recordFields, line int) error, problem func(Problem)) error {
	full := func(rec ep.Value, line int) error {
		f := fieldsOf(rec)
		return fn(rec, &f, line)
	}
	return scanRecords(name, r, rs, proj, fn, func(raw []byte, line int, expand bool) error {
		return decodeRecords(dec, name, raw, line, expand, full, problem)
	}, problem)
}

// readBuffer is the size of the window a stream reads through; the
// projecting scanner handles records up to this size (larger ones are
// captured and decoded in full).
const readBuffer = 256 << 10

// scanRecords is splitRecords with the projecting scanner: with proj set,
// each record object that proj can scan goes to projected (pruned, with its
// fixed fields), and only the rest to emit for a full decode.
// The buffers are those of rs, kept from one input to the next.
func scanRecords(name string, r io.Reader, rs *readers, proj *projector, projected func(rec ep.Value, f *recordFields, line int) error, emit func(raw []byte, line int, expand bool) error, problem func(Problem)) error {
	br, err := rs.open(name, r)
	if err != nil {
		return err
	}
	s := &stream{r: br, line: 1, name: name, emit: emit, problem: problem, proj: proj, projected: projected}
	err = s.run()
	var stop stopError
	if errors.As(err, &stop) {
		return stop.err
	}
	return err
}

// readers are a stream's buffers and gunzip state, which a worker keeps
// from one input to the next instead of allocating them per log file.
type readers struct {
	raw, out *bufio.Reader
	gz       *gzip.Reader
	// packed and plain hold an input read whole into memory, as it is and
	// gunzipped in one call (inflate.Gunzip); win is what open returns.
	packed, plain []byte
	win           window
}

// maxWholeGunzip bounds what one input read whole into memory is gunzipped
// to in one call; a larger one (or a gzip bomb) is streamed instead.
// keepPlain is the most of that buffer a worker keeps for the next input.
const (
	maxWholeGunzip = 256 << 20
	keepPlain      = 64 << 20
)

// open returns the buffered reader of an input, gunzipped when it starts with
// the gzip magic bytes.
func (rs *readers) open(name string, r io.Reader) (*window, error) {
	// An input read whole into memory is gunzipped straight from it: in one
	// call by inflate.Gunzip, which with cgo is libdeflate, or, when that
	// declines it (damage, an unusual header, too large), by the streaming
	// reader, which reports any damage where it is (docs/replay.md,
	// "Performance").
	var src io.Reader
	gzipped := false
	if whole, ok := r.(*bytes.Reader); ok {
		var magic [2]byte
		n, _ := whole.ReadAt(magic[:], 0)
		src, gzipped = whole, n == 2 && magic[0] == 0x1f && magic[1] == 0x8b
		if gzipped {
			size := int(whole.Size())
			rs.packed = slices.Grow(rs.packed[:0], size)[:size]
			whole.ReadAt(rs.packed, 0)
			if cap(rs.plain) > keepPlain {
				rs.plain = nil
			}
			if plain, err := inflate.Gunzip(rs.plain[:0], rs.packed, maxWholeGunzip); err == nil {
				rs.plain = plain
				rs.win = window{whole: plain}
				return &rs.win, nil
			}
		}
	} else {
		if rs.raw == nil {
			rs.raw = bufio.NewReaderSize(r, readBuffer)
		} else {
			rs.raw.Reset(r)
		}
		magic, _ := rs.raw.Peek(2)
		src, gzipped = rs.raw, len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	}
	if gzipped {
		var err error
		if rs.gz == nil {
			rs.gz, err = gzip.NewReader(src)
		} else {
			err = rs.gz.Reset(src)
		}
		if err != nil {
			rs.gz = nil
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		src = rs.gz
	}
	if br, ok := src.(*bufio.Reader); ok {
		rs.win = window{br: br}
		return &rs.win, nil
	}
	if rs.out == nil {
		rs.out = bufio.NewReaderSize(src, readBuffer)
	} else {
		rs.out.Reset(src)
	}
	rs.win = window{br: rs.out}
	return &rs.win, nil
}

// window is what a stream reads through: a bufio.Reader of readBuffer bytes
// over an input, or the bytes of an input gunzipped whole, read in place
// instead of being copied through a bufio.Reader. Over whole bytes it
// behaves as a bufio.Reader of readBuffer bytes whose buffer is always as
// full as the input allows, so the projecting scanner sees the same windows
// (records over readBuffer are captured and decoded in full either way).
type window struct {
	br    *bufio.Reader
	whole []byte // the rest of the input, when br is nil
}

func (w *window) Size() int {
	if w.br != nil {
		return w.br.Size()
	}
	return readBuffer
}

func (w *window) Buffered() int {
	if w.br != nil {
		return w.br.Buffered()
	}
	return min(len(w.whole), readBuffer)
}

// Peek is bufio.Reader.Peek: fewer than n bytes only with an error (io.EOF
// at the end, bufio.ErrBufferFull past the window's size).
func (w *window) Peek(n int) ([]byte, error) {
	if w.br != nil {
		return w.br.Peek(n)
	}
	if n < 0 {
		return nil, bufio.ErrNegativeCount
	}
	if n > readBuffer {
		return w.whole[:min(len(w.whole), readBuffer)], bufio.ErrBufferFull
	}
	if n > len(w.whole) {
		return w.whole, io.EOF
	}
	return w.whole[:n], nil
}

// Discard drops n bytes; a negative n drops none, as bufio.Reader.Discard does.
func (w *window) Discard(n int) {
	if w.br != nil {
		w.br.Discard(n)
		return
	}
	w.whole = w.whole[min(max(n, 0), len(w.whole)):]
}

func (w *window) ReadByte() (byte, error) {
	if w.br != nil {
		return w.br.ReadByte()
	}
	if len(w.whole) == 0 {
		return 0, io.EOF
	}
	c := w.whole[0]
	w.whole = w.whole[1:]
	return c, nil
}

// stopError carries an error returned by the caller's fn.
type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }

// stream is a byte scanner that knows the current line.
type stream struct {
	r       *window
	line    int
	name    string
	emit    func(raw []byte, line int, expand bool) error
	problem func(Problem)
	buf     []byte // the value being captured
	ioErr   error

	proj      *projector // nil: every record is captured and decoded in full
	projected func(rec ep.Value, f *recordFields, line int) error
}

// project tries the projecting scanner on the record object at the read
// position (nothing consumed yet). done is false when the scanner gave up
// and the record is to be captured and decoded in full, from the same place.
func (s *stream) project(line int, topLevel bool) (done bool, err error) {
	s.proj.topLevel = topLevel
	chunk, _ := s.r.Peek(s.r.Buffered())
	rec, n, st := s.proj.scan(chunk)
	if st == scanMore && len(chunk) < s.r.Size() {
		// The record goes on past the buffered input: read more, once.
		var perr error
		chunk, perr = s.r.Peek(s.r.Size())
		if perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
			s.ioErr = perr
		}
		rec, n, st = s.proj.scan(chunk)
	}
	if st != scanOK {
		return false, nil
	}
	s.r.Discard(n)
	s.line += s.proj.newlines
	if err := s.projected(rec, s.proj.fields(), line); err != nil {
		return true, stopError{err}
	}
	return true, nil
}

func (s *stream) report(line int, format string, args ...any) {
	s.problem(Problem{File: s.name, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// peek returns the next byte without consuming it; ok is false at EOF.
func (s *stream) peek() (byte, bool) {
	b, err := s.r.Peek(1)
	if err != nil {
		if err != io.EOF {
			s.ioErr = err
		}
		return 0, false
	}
	return b[0], true
}

func (s *stream) next() (byte, bool) {
	c, err := s.r.ReadByte()
	if err != nil {
		if err != io.EOF {
			s.ioErr = err
		}
		return 0, false
	}
	if c == '\n' {
		s.line++
	}
	return c, true
}

func (s *stream) skipSpace() {
	for {
		c, ok := s.peek()
		if !ok || (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return
		}
		s.next()
	}
}

func (s *stream) run() error {
	for {
		s.skipSpace()
		c, ok := s.peek()
		if !ok {
			return s.ioErr
		}
		line := s.line
		var err error
		switch c {
		case '{':
			if s.proj != nil {
				if done, err := s.project(line, true); done {
					if err != nil {
						return err
					}
					continue
				}
			}
			err = s.topObject(line)
		case '[':
			s.next()
			err = s.elements(line, ']')
		default:
			s.buf = s.buf[:0]
			s.skipLine()
			s.report(line, "expected a JSON object (a CloudTrail record or {\"Records\":[...]}), got %q", truncate(s.buf))
		}
		if err != nil {
			return err
		}
		if s.ioErr != nil {
			return s.ioErr
		}
	}
}

// topObject handles a top-level object: a CloudTrail log file when its
// first key is "Records" (streamed), otherwise captured whole.
func (s *stream) topObject(line int) error {
	s.buf = append(s.buf[:0], '{')
	s.next()
	s.skipSpace()
	if c, _ := s.peek(); c == '"' {
		s.next()
		s.buf = append(s.buf, '"')
		if s.captureString() && string(s.buf) == `{"Records"` {
			s.skipSpace()
			if c, _ := s.peek(); c == ':' {
				s.next()
				s.buf = append(s.buf, ':')
				s.skipSpace()
				if c, _ := s.peek(); c == '[' {
					s.next()
					if err := s.elements(line, ']'); err != nil {
						return err
					}
					// Skip whatever else the log file object holds.
					s.buf = append(s.buf[:0], '{')
					s.capture(1, false)
					return nil
				}
			}
		}
	}
	if !s.capture(1, true) {
		s.report(line, "truncated JSON value")
		return nil
	}
	return s.emitCaptured(line, true)
}

// elements streams the records of a JSON array whose '[' was consumed.
func (s *stream) elements(fileLine int, closer byte) error {
	for i := 0; ; i++ {
		s.skipSpace()
		c, ok := s.peek()
		if !ok {
			s.report(s.line, "unexpected end of input in the Records array opened on line %d", fileLine)
			return nil
		}
		if c == closer {
			s.next()
			return nil
		}
		if i > 0 {
			if c != ',' {
				s.report(s.line, "expected ',' between records, got %q; rest of file skipped", c)
				s.drain()
				return nil
			}
			s.next()
			s.skipSpace()
		}
		line := s.line
		s.buf = s.buf[:0]
		c, _ = s.peek()
		if c != '{' && c != '[' {
			s.captureScalar()
			s.report(line, "record is not a JSON object: %q", truncate(s.buf))
			continue
		}
		if c == '{' && s.proj != nil {
			if done, err := s.project(line, false); done {
				if err != nil {
					return err
				}
				continue
			}
		}
		if !s.capture(0, false) {
			s.report(line, "truncated record; rest of file skipped")
			s.drain()
			return nil
		}
		if err := s.emitCaptured(line, false); err != nil {
			return err
		}
	}
}

// emitCaptured hands s.buf to emit.
func (s *stream) emitCaptured(line int, expand bool) error {
	if err := s.emit(s.buf, line, expand); err != nil {
		return stopError{err}
	}
	return nil
}

// decodeRecords parses one captured value and hands the record(s) to fn:
// the value itself, or with expand the elements of its "Records" array.
// An error of fn stops the input and is returned as is.
func decodeRecords(dec *ep.Decoder, name string, raw []byte, line int, expand bool, fn func(ep.Value, int) error, problem func(Problem)) error {
	report := func(line int, format string, args ...any) {
		problem(Problem{File: name, Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	v, err := dec.Parse(raw)
	if err != nil {
		var se *ep.SyntaxError
		errLine := line
		if errors.As(err, &se) && se.Offset <= len(raw) {
			errLine += bytes.Count(raw[:se.Offset], []byte{'\n'})
			err = errors.New(se.Msg)
		}
		report(errLine, "invalid JSON: %v", err)
		return nil
	}
	if v.Kind() != ep.Object {
		report(line, "record is not a JSON object")
		return nil
	}
	if recs, ok := v.Get("Records"); expand && ok && recs.Kind() == ep.Array {
		for i := 0; i < recs.Len(); i++ {
			r := recs.Index(i)
			if r.Kind() != ep.Object {
				report(line, "Records[%d] is not a JSON object", i)
				continue
			}
			if err := fn(r, line); err != nil {
				return err
			}
		}
		return nil
	}
	return fn(v, line)
}

// capture appends one JSON value to s.buf, starting at the given depth
// (1 when the opening brace is already in buf). It only tracks strings and
// brackets; Parse checks the syntax. In JSON-lines mode (topLevel) a line
// starting with '{' inside an unfinished value ends it, so one truncated
// line does not swallow the next records. It reports false if the value
// ended early (EOF, size limit, raw newline in a string, or a new line).
func (s *stream) capture(depth int, topLevel bool) bool {
	for {
		// Fast path: copy the run of buffered bytes before the next byte
		// that matters here in one go.
		if chunk, _ := s.r.Peek(s.r.Buffered()); len(chunk) > 0 {
			i := 0
			for i < len(chunk) && !structural[chunk[i]] {
				i++
			}
			if i > 0 {
				s.buf = append(s.buf, chunk[:i]...)
				s.r.Discard(i)
				if len(s.buf) > maxRecord {
					return false
				}
				if i == len(chunk) {
					continue
				}
			}
		}
		c, ok := s.next()
		if !ok {
			return false
		}
		s.buf = append(s.buf, c)
		if len(s.buf) > maxRecord {
			return false
		}
		switch c {
		case '"':
			if !s.captureString() {
				return false
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return true
			}
		case '\n':
			if n, _ := s.peek(); topLevel && n == '{' {
				return false
			}
		}
	}
}

// captureString appends the rest of a string whose opening quote is in buf.
func (s *stream) captureString() bool {
	for {
		// Fast path: copy up to the next quote or backslash in one go.
		chunk, err := s.r.Peek(s.r.Buffered())
		if len(chunk) == 0 && err == nil {
			if _, err := s.r.Peek(1); err != nil {
				if err != io.EOF {
					s.ioErr = err
				}
				return false
			}
			continue
		}
		if i := indexStringStop(chunk); i >= 0 {
			s.buf = append(s.buf, chunk[:i]...)
			s.r.Discard(i)
		} else {
			s.buf = append(s.buf, chunk...)
			s.r.Discard(len(chunk))
			if len(s.buf) > maxRecord {
				return false
			}
			continue
		}
		c, ok := s.next()
		if !ok {
			return false
		}
		switch c {
		case '"':
			s.buf = append(s.buf, c)
			return true
		case '\n': // raw newline: the string (and the record) is broken
			return false
		case '\\':
			s.buf = append(s.buf, c)
			e, ok := s.next()
			if !ok || e == '\n' {
				return false
			}
			s.buf = append(s.buf, e)
		}
	}
}

// structural marks the bytes capture must look at: string quotes,
// brackets and newlines. stringStop marks those that end a run of string
// contents: the closing quote, an escape, a raw newline.
var structural, stringStop [256]bool

func init() {
	for _, c := range []byte("\"{}[]\n") {
		structural[c] = true
	}
	for _, c := range []byte("\"\\\n") {
		stringStop[c] = true
	}
}

func indexStringStop(b []byte) int {
	for i, c := range b {
		if stringStop[c] {
			return i
		}
	}
	return -1
}

// captureScalar appends a bare token (for the error message) up to space
// or a delimiter.
func (s *stream) captureScalar() {
	for {
		c, ok := s.peek()
		if !ok || c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ',' || c == ']' || c == '}' {
			if len(s.buf) == 0 && ok { // a lone delimiter: consume it
				s.next()
				s.buf = append(s.buf, c)
			}
			return
		}
		s.next()
		s.buf = append(s.buf, c)
		if c == '"' {
			s.captureString()
			return
		}
		if len(s.buf) > 80 {
			return
		}
	}
}

// skipLine consumes the rest of the line, keeping its start for messages.
func (s *stream) skipLine() {
	for {
		c, ok := s.next()
		if !ok || c == '\n' {
			return
		}
		if len(s.buf) < 64 {
			s.buf = append(s.buf, c)
		}
	}
}

func (s *stream) drain() {
	for {
		if _, ok := s.next(); !ok {
			return
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
