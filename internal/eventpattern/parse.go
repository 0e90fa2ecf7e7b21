package eventpattern

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// SyntaxError is a JSON syntax error at a byte offset of the input.
type SyntaxError struct {
	Offset int // byte offset of the offending character
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Parse decodes one JSON value (surrounded by optional whitespace). It is a
// purpose-built decoder: unescaped strings share one copy of the input and
// objects keep their key order, which makes it several times faster than
// encoding/json into map[string]any. Invalid UTF-8 is passed through.
func Parse(data []byte) (Value, error) {
	var d Decoder
	return d.Parse(data)
}

// Decoder is Parse with scratch space kept between calls, for decoding
// many records in a row. The zero Decoder is ready; it is not safe for
// concurrent use. Values it returns do not share memory with each other.
type Decoder struct{ p parser }

// Parse decodes one JSON value, like the package-level Parse.
func (d *Decoder) Parse(data []byte) (Value, error) {
	p := &d.p
	p.src, p.pos = string(data), 0
	defer func() { p.src = "" }()
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return Value{}, p.errorf("unexpected %q after the value", p.src[p.pos])
	}
	return v, nil
}

type parser struct {
	src     string
	pos     int
	keys    []string // scratch stacks, copied out per object
	vals    []Value
	elemBuf []Value
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if p.pos >= len(p.src) {
		return Value{}, p.errorf("unexpected end of input")
	}
	if depth > maxDepth {
		return Value{}, p.errorf("nesting deeper than %d", maxDepth)
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return Value{kind: String, str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", Value{kind: Bool, str: "true"})
	case c == 'f':
		return p.literal("false", Value{kind: Bool, str: "false"})
	case c == 'n':
		return p.literal("null", Value{kind: Null})
	default:
		return Value{}, p.errorf("unexpected %q", c)
	}
}

func (p *parser) literal(word string, v Value) (Value, error) {
	if len(p.src)-p.pos >= len(word) && p.src[p.pos:p.pos+len(word)] == word {
		p.pos += len(word)
		return v, nil
	}
	return Value{}, p.errorf("invalid literal")
}

func (p *parser) object(depth int) (Value, error) {
	p.pos++ // {
	base := len(p.keys)
	defer func() { p.keys, p.vals = p.keys[:base], p.vals[:base] }()
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return Value{kind: Object}, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return Value{}, p.errorf("expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return Value{}, p.errorf("expected ':' after key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.keys = append(p.keys, k)
		p.vals = append(p.vals, v)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return Value{}, p.errorf("unexpected end of input in object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			n := len(p.keys) - base
			keys := make([]string, n)
			copy(keys, p.keys[base:])
			vals := make([]Value, n)
			copy(vals, p.vals[base:])
			return Value{kind: Object, keys: keys, items: vals}, nil
		default:
			return Value{}, p.errorf("expected ',' or '}' in object")
		}
	}
}

func (p *parser) array(depth int) (Value, error) {
	p.pos++ // [
	base := len(p.elemBuf)
	defer func() { p.elemBuf = p.elemBuf[:base] }()
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return Value{kind: Array}, nil
	}
	for {
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.elemBuf = append(p.elemBuf, v)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return Value{}, p.errorf("unexpected end of input in array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			items := make([]Value, len(p.elemBuf)-base)
			copy(items, p.elemBuf[base:])
			return Value{kind: Array, items: items}, nil
		default:
			return Value{}, p.errorf("expected ',' or ']' in array")
		}
	}
}

func (p *parser) number() (Value, error) {
	start := p.pos
	s := p.src
	i := p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return Value{}, p.errorf("invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			p.pos = i
			return Value{}, p.errorf("invalid number")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			p.pos = i
			return Value{}, p.errorf("invalid number")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	p.pos = i
	return Value{kind: Number, str: s[start:i]}, nil
}

// str reads a string starting at the opening quote. Strings without
// escapes are substrings of the input (no allocation).
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	s := p.src
	for i := start; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			p.pos = i + 1
			return s[start:i], nil
		}
		if c == '\\' {
			p.pos = i
			return p.strEscaped(start)
		}
		if c < 0x20 {
			p.pos = i
			return "", p.errorf("control character in string")
		}
	}
	p.pos = len(s)
	return "", p.errorf("unterminated string")
}

func (p *parser) strEscaped(start int) (string, error) {
	s := p.src
	buf := make([]byte, 0, p.pos-start+16)
	buf = append(buf, s[start:p.pos]...)
	i := p.pos
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				p.pos = i
				return "", p.errorf("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok2 = hex4(s, i+2)
				}
				if ok2 {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.pos = i - 1
			return "", p.errorf("invalid escape %q", e)
		}
	}
	p.pos = len(s)
	return "", p.errorf("unterminated string")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}
