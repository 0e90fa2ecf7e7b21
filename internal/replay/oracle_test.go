package replay

// The oracle of the differential tests: the reader as it was before the
// projecting scanner (docs/replay.md, "Performance"), frozen here: its
// splitter and eventpattern.Decoder decoding every record in full. Do not
// change it to follow the production code; it is the yardstick.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// oracleMaxRecord bounds one captured JSON value; CloudTrail caps events far below.
const oracleMaxRecord = 64 << 20

// oracleReadRecords streams the CloudTrail records of one input: a CloudTrail
// log file ({"Records":[...]}, streamed element by element), JSON lines
// (one record, or one {"Records":[...]} object, per line), or a JSON array
// of records; gzip is detected by its magic bytes. fn is called per record
// with the line the record starts on; a non-nil error from fn stops the
// read and is returned. Malformed input goes to problem and is skipped.
// The returned error is an I/O failure of the input itself.
func oracleReadRecords(name string, r io.Reader, fn func(rec ep.Value, line int) error, problem func(Problem)) error {
	var dec ep.Decoder
	return oracleSplitRecords(name, r, func(raw []byte, line int, expand bool) error {
		return oracleDecodeRecords(&dec, name, raw, line, expand, fn, problem)
	}, problem)
}

// oracleSplitRecords is the first half of oracleReadRecords: it finds the records of
// one input and hands each one's raw JSON to emit, undecoded (raw is reused
// after emit returns). expand marks a top-level object read whole, whose
// "Records" array holds the records. Splitting is sequential; decoding can
// then run on other cores.
func oracleSplitRecords(name string, r io.Reader, emit func(raw []byte, line int, expand bool) error, problem func(Problem)) error {
	br := bufio.NewReaderSize(r, 1<<20)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%s: gzip: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	}
	s := &oracleStream{r: br, line: 1, name: name, emit: emit, problem: problem}
	err := s.run()
	var stop oracleStopError
	if errors.As(err, &stop) {
		return stop.err
	}
	return err
}

// oracleStopError carries an error returned by the caller's fn.
type oracleStopError struct{ err error }

func (e oracleStopError) Error() string { return e.err.Error() }

// oracleStream is a byte scanner that knows the current line.
type oracleStream struct {
	r       *bufio.Reader
	line    int
	name    string
	emit    func(raw []byte, line int, expand bool) error
	problem func(Problem)
	buf     []byte // the value being captured
	ioErr   error
}

func (s *oracleStream) report(line int, format string, args ...any) {
	s.problem(Problem{File: s.name, Line: line, Reason: fmt.Sprintf(format, args...)})
}

// peek returns the next byte without consuming it; ok is false at EOF.
func (s *oracleStream) peek() (byte, bool) {
	b, err := s.r.Peek(1)
	if err != nil {
		if err != io.EOF {
			s.ioErr = err
		}
		return 0, false
	}
	return b[0], true
}

func (s *oracleStream) next() (byte, bool) {
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

func (s *oracleStream) skipSpace() {
	for {
		c, ok := s.peek()
		if !ok || (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return
		}
		s.next()
	}
}

func (s *oracleStream) run() error {
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
			err = s.topObject(line)
		case '[':
			s.next()
			err = s.elements(line, ']')
		default:
			s.buf = s.buf[:0]
			s.skipLine()
			s.report(line, "expected a JSON object (a CloudTrail record or {\"Records\":[...]}), got %q", oracleTruncate(s.buf))
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
func (s *oracleStream) topObject(line int) error {
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
func (s *oracleStream) elements(fileLine int, closer byte) error {
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
		if c, _ := s.peek(); c != '{' && c != '[' {
			s.captureScalar()
			s.report(line, "record is not a JSON object: %q", oracleTruncate(s.buf))
			continue
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
func (s *oracleStream) emitCaptured(line int, expand bool) error {
	if err := s.emit(s.buf, line, expand); err != nil {
		return oracleStopError{err}
	}
	return nil
}

// oracleDecodeRecords parses one captured value and hands the record(s) to fn:
// the value itself, or with expand the elements of its "Records" array.
// An error of fn stops the input and is returned as is.
func oracleDecodeRecords(dec *ep.Decoder, name string, raw []byte, line int, expand bool, fn func(ep.Value, int) error, problem func(Problem)) error {
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
func (s *oracleStream) capture(depth int, topLevel bool) bool {
	for {
		// Fast path: copy the run of buffered bytes before the next byte
		// that matters here in one go.
		if chunk, _ := s.r.Peek(s.r.Buffered()); len(chunk) > 0 {
			i := 0
			for i < len(chunk) && !oracleStructural[chunk[i]] {
				i++
			}
			if i > 0 {
				s.buf = append(s.buf, chunk[:i]...)
				s.r.Discard(i)
				if len(s.buf) > oracleMaxRecord {
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
		if len(s.buf) > oracleMaxRecord {
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
func (s *oracleStream) captureString() bool {
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
		if i := oracleIndexStringStop(chunk); i >= 0 {
			s.buf = append(s.buf, chunk[:i]...)
			s.r.Discard(i)
		} else {
			s.buf = append(s.buf, chunk...)
			s.r.Discard(len(chunk))
			if len(s.buf) > oracleMaxRecord {
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

// oracleStructural marks the bytes capture must look at: string quotes,
// brackets and newlines. oracleStringStop marks those that end a run of string
// contents: the closing quote, an escape, a raw newline.
var oracleStructural, oracleStringStop [256]bool

func init() {
	for _, c := range []byte("\"{}[]\n") {
		oracleStructural[c] = true
	}
	for _, c := range []byte("\"\\\n") {
		oracleStringStop[c] = true
	}
}

func oracleIndexStringStop(b []byte) int {
	for i, c := range b {
		if oracleStringStop[c] {
			return i
		}
	}
	return -1
}

// captureScalar appends a bare token (for the error message) up to space
// or a delimiter.
func (s *oracleStream) captureScalar() {
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
func (s *oracleStream) skipLine() {
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

func (s *oracleStream) drain() {
	for {
		if _, ok := s.next(); !ok {
			return
		}
	}
}

func oracleTruncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// oracleWrap is Wrap as it was before the replay took the record's fields
// from the projecting scanner (frozen like the reader above).
func oracleWrap(record ep.Value) Event {
	str := func(k string) string { v, _ := record.Get(k); return v.Str() }
	eventType := str("eventType")
	if eventType == "" {
		eventType = "AwsApiCall" // hand-written corpora often omit it
	}
	dt, delivered := detailTypes[eventType]
	vals := []ep.Value{
		ep.StringValue("0"),
		ep.StringValue(str("eventID")),
		ep.StringValue(dt),
		ep.StringValue(SourceFor(str("eventSource"))),
		ep.StringValue(str("recipientAccountId")),
		ep.StringValue(str("eventTime")),
		ep.StringValue(str("awsRegion")),
		ep.ArrayValue(),
		record,
	}
	return Event{
		Value:     ep.ObjectValue(wrapperKeys, vals),
		Delivered: delivered,
		ReadOnly:  oracleIsReadOnlyManagement(record, str),
	}
}

func oracleIsReadOnlyManagement(record ep.Value, str func(string) string) bool {
	if c := str("eventCategory"); c != "" && c != "Management" {
		return false
	}
	name := str("eventName")
	if stsChangeEvents[name] && str("eventSource") == "sts.amazonaws.com" {
		return false
	}
	ro, ok := record.Get("readOnly")
	if !ok || ro.Kind() == ep.Null {
		return strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
	}
	return ro.Str() == "true" // JSON true, or the string "true"
}
