// Package logfilter evaluates CloudWatch Logs JSON filter patterns on JSON log events, so that the metric
// filters kmsguard deploys on the audit log group can be tested against labelled CloudTrail records
// offline (moto does not evaluate JSON filter patterns). It follows "Using filter patterns to match terms
// in JSON log events" of the CloudWatch Logs guide (docs/aws-facts.md) for the part of the syntax the
// metric filters use:
//
//	{ ($.a.b[0].c = "text*") && ($.d != "x") }    { ($.e IS FALSE) || ($.f NOT EXISTS) }
//
// A pattern is one JSON filter in braces: comparisons of a selector ($ followed by .name and [index]
// steps) with a quoted string (= or !=, where * matches any run of characters), IS TRUE, IS FALSE,
// IS NULL, EXISTS and NOT EXISTS, joined by && or || and grouped by parentheses. Anything else (numbers,
// unquoted values, regular expressions, escapes, && and || mixed without parentheses) is a parse error,
// and a comparison whose outcome the guide does not state (a string compared with a number, boolean,
// array or object, or != on a field the event lacks) is an evaluation error: the package refuses rather
// than guesses.
package logfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// Filter is a parsed JSON filter pattern.
type Filter struct {
	text string
	root node
}

// String is the pattern as given to Parse.
func (f *Filter) String() string { return f.text }

// Parse reads a JSON filter pattern.
func Parse(pattern string) (*Filter, error) {
	p := &parser{src: pattern}
	p.skipSpace()
	if !p.eat("{") {
		return nil, p.errorf("a JSON filter pattern starts with {")
	}
	root, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eat("}") {
		return nil, p.errorf("want && or || or the closing }")
	}
	p.skipSpace()
	if p.pos != len(p.src) {
		return nil, p.errorf("text after the closing }")
	}
	return &Filter{text: pattern, root: root}, nil
}

// Match reports whether the filter matches a log event decoded by encoding/json (map[string]any at the
// top). && and || evaluate left to right and stop at the first term that decides, as the guide's
// examples read; an error names the comparison the guide leaves open.
func (f *Filter) Match(event map[string]any) (bool, error) {
	return f.root.eval(event)
}

type node interface {
	eval(event map[string]any) (bool, error)
}

type junction struct {
	and   bool
	terms []node
}

func (j junction) eval(event map[string]any) (bool, error) {
	for _, t := range j.terms {
		ok, err := t.eval(event)
		if err != nil {
			return false, err
		}
		if ok != j.and {
			return ok, nil
		}
	}
	return j.and, nil
}

type step struct {
	key   string
	index int // -1 for a key step
}

type comparison struct {
	text     string // the comparison as written, for errors
	selector []step
	op       string // "=", "!=", "IS TRUE", "IS FALSE", "IS NULL", "EXISTS", "NOT EXISTS"
	value    string
}

// lookup follows the selector; ok is false when a step is missing.
func (c comparison) lookup(event map[string]any) (any, bool) {
	var cur any = event
	for _, s := range c.selector {
		if s.index < 0 {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil, false
			}
			v, found := m[s.key]
			if !found {
				return nil, false
			}
			cur = v
			continue
		}
		a, isArr := cur.([]any)
		if !isArr || s.index >= len(a) {
			return nil, false
		}
		cur = a[s.index]
	}
	return cur, true
}

func (c comparison) eval(event map[string]any) (bool, error) {
	v, found := c.lookup(event)
	switch c.op {
	case "EXISTS":
		return found, nil
	case "NOT EXISTS":
		return !found, nil
	case "IS NULL":
		return found && v == nil, nil
	case "IS TRUE", "IS FALSE":
		b, isBool := v.(bool)
		return found && isBool && b == (c.op == "IS TRUE"), nil
	case "=":
		if !found || v == nil {
			return false, nil
		}
		s, isStr := v.(string)
		if !isStr {
			return false, fmt.Errorf("%s: the event's value is %s; the guide does not say how a string compares with it", c.text, describe(v, found))
		}
		return wildcardMatch(c.value, s), nil
	case "!=":
		s, isStr := v.(string)
		if !found || !isStr {
			return false, fmt.Errorf("%s: the event's value is %s; the guide does not say how != treats it", c.text, describe(v, found))
		}
		return !wildcardMatch(c.value, s), nil
	}
	return false, fmt.Errorf("%s: unknown operator %q", c.text, c.op)
}

func describe(v any, found bool) string {
	if !found {
		return "absent"
	}
	return fmt.Sprintf("%T", v)
}

// wildcardMatch matches s against pattern, where * stands for any run of characters (none included).
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

type parser struct {
	src string
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("filter pattern, offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && strings.ContainsRune(" \t\n\r", rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *parser) eat(tok string) bool {
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

// word reads an upper-case keyword (IS, TRUE, NOT, ...).
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] >= 'A' && p.src[p.pos] <= 'Z' {
		p.pos++
	}
	return p.src[start:p.pos]
}

// expr := term (("&&" term)* | ("||" term)*)
func (p *parser) expr() (node, error) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	j := junction{terms: []node{first}}
	op := ""
	for {
		p.skipSpace()
		var next string
		switch {
		case strings.HasPrefix(p.src[p.pos:], "&&"):
			next = "&&"
		case strings.HasPrefix(p.src[p.pos:], "||"):
			next = "||"
		default:
			if op == "" {
				return first, nil
			}
			j.and = op == "&&"
			return j, nil
		}
		if op != "" && next != op {
			return nil, p.errorf("&& and || at one level: group them with parentheses")
		}
		op = next
		p.pos += 2
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		j.terms = append(j.terms, t)
	}
}

// term := "(" expr ")" | comparison
func (p *parser) term() (node, error) {
	p.skipSpace()
	if p.eat("(") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !p.eat(")") {
			return nil, p.errorf("want )")
		}
		return e, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (node, error) {
	start := p.pos
	sel, err := p.selector()
	if err != nil {
		return nil, err
	}
	c := comparison{selector: sel}
	p.skipSpace()
	switch {
	case p.eat("!="):
		c.op = "!="
	case p.eat("="):
		c.op = "="
	default:
		switch w := p.word(); w {
		case "IS":
			p.skipSpace()
			switch v := p.word(); v {
			case "TRUE", "FALSE", "NULL":
				c.op = "IS " + v
			default:
				return nil, p.errorf("want TRUE, FALSE or NULL after IS, got %q", v)
			}
		case "EXISTS":
			c.op = "EXISTS"
		case "NOT":
			p.skipSpace()
			if p.word() != "EXISTS" {
				return nil, p.errorf("want EXISTS after NOT")
			}
			c.op = "NOT EXISTS"
		default:
			return nil, p.errorf("want =, !=, IS, EXISTS or NOT EXISTS after the selector (numbers and other operators are not supported)")
		}
	}
	if c.op == "=" || c.op == "!=" {
		p.skipSpace()
		v, err := p.quoted()
		if err != nil {
			return nil, err
		}
		c.value = v
	}
	c.text = strings.TrimSpace(p.src[start:p.pos])
	return c, nil
}

// selector := "$" ("." name | "[" digits "]")+
func (p *parser) selector() ([]step, error) {
	if !p.eat("$") {
		return nil, p.errorf("want a selector starting with $")
	}
	var out []step
	for {
		switch {
		case p.eat("."):
			start := p.pos
			for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
				p.pos++
			}
			if p.pos == start {
				return nil, p.errorf("want a field name after .")
			}
			out = append(out, step{key: p.src[start:p.pos], index: -1})
		case p.eat("["):
			start := p.pos
			for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
				p.pos++
			}
			n, err := strconv.Atoi(p.src[start:p.pos])
			if err != nil || !p.eat("]") {
				return nil, p.errorf("want [digits]")
			}
			out = append(out, step{index: n})
		default:
			if len(out) == 0 {
				return nil, p.errorf("want .name or [index] after $")
			}
			return out, nil
		}
	}
}

func isNameByte(b byte) bool {
	return b == '_' || b == '-' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// quoted reads a double-quoted string without escapes.
func (p *parser) quoted() (string, error) {
	if !p.eat(`"`) {
		return "", p.errorf("want a double-quoted value (unquoted values and numbers are not supported)")
	}
	end := strings.IndexByte(p.src[p.pos:], '"')
	if end < 0 {
		return "", p.errorf("unterminated string")
	}
	v := p.src[p.pos : p.pos+end]
	if strings.Contains(v, `\`) {
		return "", p.errorf("escapes in values are not supported")
	}
	p.pos += end + 1
	return v, nil
}

// DimensionValue is the value a metric filter publishes for a dimension whose value is selector ($.a.b),
// as CloudWatch Logs takes it from a matched JSON log event ("Publishing dimensions with metrics from
// values in JSON or space-delimited log events", docs/aws-facts.md). Only a string field is accepted: a
// missing field or another type is an error, as elsewhere in this package.
func DimensionValue(selector string, event map[string]any) (string, error) {
	p := &parser{src: selector}
	steps, err := p.selector()
	if err != nil {
		return "", err
	}
	if p.pos != len(p.src) {
		return "", p.errorf("text after the selector")
	}
	v, found := comparison{selector: steps}.lookup(event)
	s, isString := v.(string)
	if !found || !isString {
		return "", fmt.Errorf("logfilter: %s is %s, not a string", selector, describe(v, found))
	}
	return s, nil
}
