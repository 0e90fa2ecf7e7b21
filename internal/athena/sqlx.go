package athena

import "strings"

// sqlx is a boolean SQL expression under construction. Constants fold as
// they are combined, so what the translator knows statically (a field the
// table cannot hold, an operator that cannot match a column's type) leaves
// no trace in the query.
type sqlx struct {
	op   byte // 'T' true, 'F' false, 'a' atom, '&' AND, '|' OR, '!' NOT
	text string
	args []sqlx
}

var (
	xTrue  = sqlx{op: 'T'}
	xFalse = sqlx{op: 'F'}
)

func atom(s string) sqlx { return sqlx{op: 'a', text: s} }

func static(b bool) sqlx {
	if b {
		return xTrue
	}
	return xFalse
}

func and(xs ...sqlx) sqlx { return join('&', xs) }
func or(xs ...sqlx) sqlx  { return join('|', xs) }

// join folds constants (FALSE absorbs AND, TRUE absorbs OR), drops the
// neutral ones and flattens nested lists of the same operator.
func join(op byte, xs []sqlx) sqlx {
	absorb, neutral := byte('F'), byte('T')
	if op == '|' {
		absorb, neutral = 'T', 'F'
	}
	var out []sqlx
	for _, x := range xs {
		switch x.op {
		case absorb:
			return x
		case neutral:
			continue
		case op:
			out = append(out, x.args...)
		default:
			out = append(out, x)
		}
	}
	switch len(out) {
	case 0:
		return sqlx{op: neutral}
	case 1:
		return out[0]
	}
	return sqlx{op: op, args: out}
}

func not(x sqlx) sqlx {
	switch x.op {
	case 'T':
		return xFalse
	case 'F':
		return xTrue
	case '!':
		return x.args[0]
	}
	return sqlx{op: '!', args: []sqlx{x}}
}

// inline renders the expression on one line.
func (x sqlx) inline() string {
	switch x.op {
	case 'T':
		return "TRUE"
	case 'F':
		return "FALSE"
	case 'a':
		return x.text
	case '!':
		return "NOT " + x.args[0].paren()
	}
	word := " AND "
	if x.op == '|' {
		word = " OR "
	}
	parts := make([]string, len(x.args))
	for i, a := range x.args {
		parts[i] = a.paren()
	}
	return strings.Join(parts, word)
}

// paren renders an operand of AND, OR or NOT.
func (x sqlx) paren() string {
	if x.op == '&' || x.op == '|' || x.op == '!' {
		return "(" + x.inline() + ")"
	}
	return x.inline()
}

// render lays the expression out over lines, one operand of a long AND or
// OR per line, indented by depth.
func (x sqlx) render(indent string) string {
	if (x.op != '&' && x.op != '|') || len(x.inline()) <= 100 {
		return x.inline()
	}
	word := "AND "
	if x.op == '|' {
		word = "OR "
	}
	var b strings.Builder
	inner := indent + "  "
	for i, a := range x.args {
		if i == 0 {
			b.WriteString("(\n" + inner)
		} else {
			b.WriteString("\n" + inner + word)
		}
		if a.op == '&' || a.op == '|' {
			r := a.render(inner)
			if !strings.HasPrefix(r, "(") {
				r = "(" + r + ")"
			}
			b.WriteString(r)
		} else {
			b.WriteString(a.paren())
		}
	}
	b.WriteString("\n" + indent + ")")
	return b.String()
}
