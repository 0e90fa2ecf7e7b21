// Package inifile parses the small, strict ini dialect of the operator tools'
// config files. It is hand-written rather than a general ini library so that
// no surprising feature (includes, continuations, auto-keys) can change what
// a root-owned config file means, and so that it can be fuzzed in isolation.
package inifile

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// MaxSize bounds the input so a mistaken path (a log, a device) fails fast.
const MaxSize = 64 << 10

// Entry is one key's value and the line it came from, so callers can name the
// line in their own validation errors.
type Entry struct {
	Value string
	Line  int
}

// File maps section name (lower-cased) to key (lower-cased) to entry. Keys
// before the first section header live in section "".
type File map[string]map[string]Entry

// Parse reads "[section]", "key = value" (or "key: value") and comment lines
// starting with '#' or ';'. Duplicate sections merge; a duplicate key is an
// error because silently taking the first or last value hides typos.
func Parse(data []byte) (File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("config is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	f := File{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSize+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			name, err := parseHeader(line, n)
			if err != nil {
				return nil, err
			}
			section = name
			if f[section] == nil {
				f[section] = map[string]Entry{}
			}
		default:
			key, val, err := parseKeyValue(line, n)
			if err != nil {
				return nil, err
			}
			if f[section] == nil {
				f[section] = map[string]Entry{}
			}
			if prev, dup := f[section][key]; dup {
				return nil, fmt.Errorf("line %d: key %q already set on line %d", n, key, prev.Line)
			}
			f[section][key] = Entry{Value: val, Line: n}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return f, nil
}

func parseHeader(line string, n int) (string, error) {
	if !strings.HasSuffix(line, "]") {
		return "", fmt.Errorf("line %d: section header without closing ']'", n)
	}
	name := strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
	if name == "" || strings.ContainsAny(name, "[]") {
		return "", fmt.Errorf("line %d: invalid section name", n)
	}
	return name, nil
}

func parseKeyValue(line string, n int) (string, string, error) {
	i := strings.IndexAny(line, "=:")
	if i < 0 {
		return "", "", fmt.Errorf("line %d: expected \"key = value\"", n)
	}
	key := strings.ToLower(strings.TrimSpace(line[:i]))
	if !validKey(key) {
		return "", "", fmt.Errorf("line %d: invalid key name", n)
	}
	val := strings.TrimSpace(line[i+1:])
	if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
		return key, val[1 : len(val)-1], nil
	}
	// An inline comment would silently become part of the value (and then fail validation with a message
	// about the value): name the real mistake instead.
	if j := inlineComment(val); j >= 0 {
		return "", "", fmt.Errorf("line %d: %s: %q after the value is not a comment here: comments must be on their own line (starting with # or ;)", n, key, val[j:])
	}
	return key, val, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// inlineComment is the index of a '#' or ';' that starts a word of an unquoted value, or -1.
func inlineComment(val string) int {
	for j := 1; j < len(val); j++ {
		if (val[j] == '#' || val[j] == ';') && (val[j-1] == ' ' || val[j-1] == '\t') {
			return j
		}
	}
	return -1
}
