package athena

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// translator turns one compiled pattern into a WHERE condition over the
// CloudTrail table. It mirrors eventpattern's matcher level by level
// (docs/replay.md, "Athena", lists what it assumes and what it refuses).
type translator struct {
	// jsonArray is the SQL type an array of JSON values is cast to:
	// ARRAY(JSON) in Athena. The embedded engine of the tests spells the
	// same type JSON[]; nothing else in the queries differs.
	jsonArray string
	depth     int      // lambda nesting, for fresh variable names
	errs      []string // constructs that cannot be translated, "path: why"
}

// mistranslate, when set, replaces the translation of a string matcher on
// a value; the tests use it to show that a wrong operator is caught.
var mistranslate func(m ep.Matcher, text string) (sqlx, bool)

func (t *translator) fail(path, format string, a ...any) sqlx {
	t.errs = append(t.errs, path+": "+fmt.Sprintf(format, a...))
	return xFalse
}

// lit quotes a string for SQL. Control characters and invalid UTF-8 are
// refused rather than written into a query.
func (t *translator) lit(path, s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		t.fail(path, "the value %q holds control characters or invalid UTF-8, which the query text cannot carry", s)
		return "''"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// likeEscape escapes LIKE's metacharacters with a backslash (ESCAPE '\').
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func (t *translator) like(path, text, pattern string) sqlx {
	return atom(text + " LIKE " + t.lit(path, pattern) + ` ESCAPE '\'`)
}

func wildcardLike(w ep.Wildcard) string {
	parts := make([]string, len(w.Pieces))
	for i, p := range w.Pieces {
		parts[i] = likeEscape(p)
	}
	s := strings.Join(parts, "%")
	if w.LeadStar {
		s = "%" + s
	}
	if w.TrailStar {
		s += "%"
	}
	return s
}

// stringOp translates a matcher that tests strings only, on a text known
// to be a string: prefix, suffix, wildcard; ok is false for other kinds.
func (t *translator) stringOp(path string, m ep.Matcher, text string) (sqlx, bool) {
	if mistranslate != nil {
		if x, ok := mistranslate(m, text); ok {
			return x, true
		}
	}
	switch m.Op {
	case ep.OpPrefix:
		return t.like(path, text, likeEscape(m.Str)+"%"), true
	case ep.OpSuffix:
		return t.like(path, text, "%"+likeEscape(m.Str)), true
	case ep.OpWildcard:
		return t.like(path, text, wildcardLike(m.Wildcards[0])), true
	case ep.OpEqualsFold: // an ASCII value (refused lets no other through)
		return atom("translate(" + text + ", " + t.lit(path, foldFrom) + ", " + t.lit(path, foldTo) + ") = " +
			t.lit(path, asciiLower(m.Str))), true
	}
	return sqlx{}, false
}

// foldFrom and foldTo fold case for an equals-ignore-case whose value is ASCII, character by character
// with SQL's translate(): foldFrom is every character that case folding (Unicode simple folding, as
// eventpattern compares) takes to an ASCII letter — A to Z, the Kelvin sign (to k) and the long s (to s) —
// and foldTo that letter. A value's character then equals the ASCII value's folded character exactly when
// the two fold alike; any other character is left as it is and can only equal itself. lower() is not used:
// its mapping of other characters is the engine's own (docs/replay.md, "Athena").
const (
	foldFrom = "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u212a\u017f"
	foldTo   = "abcdefghijklmnopqrstuvwxyzks"
)

// asciiLower lower-cases the ASCII letters of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// isASCII is whether s holds ASCII characters only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// refused names the matchers no query can reproduce exactly: those that fold case, but equals-ignore-case
// of an ASCII value (stringOp).
func refused(m ep.Matcher) string {
	switch m.Op {
	case ep.OpEqualsFold:
		if !isASCII(m.Str) {
			return "EventBridge folds case by Unicode rules that SQL's lower() does not reproduce (only an ASCII value is translated)"
		}
	case ep.OpPrefixFold, ep.OpSuffixFold, ep.OpAnythingButFold:
		return "EventBridge folds case by Unicode rules that SQL's lower() does not reproduce"
	case ep.OpCIDR:
		return "SQL has no exact equivalent of EventBridge's IP address parsing"
	}
	return ""
}

// --- where a pattern key leads -------------------------------------------

type slotKind uint8

const (
	sStatic      slotKind = iota // a value known exactly (v)
	sText                        // a text column or expression; NULL is absent
	sObject                      // the record, or a STRUCT column: an object or absent
	sStructArray                 // an ARRAY<STRUCT> column
	sJSONRoot                    // a STRING column holding an object's JSON text, or NULL
	sJSON                        // a JSON value; SQL NULL is absent
	sError                       // a key the table does not have
)

type slot struct {
	kind       slotKind
	v          ep.Value // sStatic
	sql        string
	nonNull    bool  // sText that is never absent (the envelope's strings)
	boolCol    bool  // sText holding a JSON boolean (readOnly)
	detailType bool  // sText: the envelope's detail-type
	fields     []col // sObject, sStructArray
	why        string
}

// ctx is an object the pattern's keys are looked up in.
type ctx struct {
	kind   byte // 'w' the EventBridge envelope, 'c' the record or a struct, 'j' a JSON object
	base   string
	fields []col
}

var jsonKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// effectiveType is eventType as replay reads it: a missing one is AwsApiCall.
const effectiveType = "COALESCE(NULLIF(eventtype, ''), 'AwsApiCall')"

// detailTypes is EventBridge's detail-type for each CloudTrail eventType
// (docs/replay.md, "Semantics and decisions"); other types are not
// delivered. A test checks it against replay.Wrap.
var detailTypes = [][2]string{
	{"AwsApiCall", "AWS API Call via CloudTrail"},
	{"AwsServiceEvent", "AWS Service Event via CloudTrail"},
	{"AwsConsoleSignIn", "AWS Console Signin via CloudTrail"},
	{"AwsConsoleAction", "AWS Console Action via CloudTrail"},
	{"AwsCloudTrailInsight", "AWS Insight via CloudTrail"},
}

func detailTypeSQL() string {
	var b strings.Builder
	b.WriteString("CASE " + effectiveType)
	for _, d := range detailTypes {
		fmt.Fprintf(&b, " WHEN '%s' THEN '%s'", d[0], d[1])
	}
	b.WriteString(" ELSE '' END")
	return b.String()
}

func (t *translator) slotFor(c ctx, key string) slot {
	switch c.kind {
	case 'w':
		text := func(sql string) slot { return slot{kind: sText, sql: sql, nonNull: true} }
		switch key {
		case "version":
			return slot{kind: sStatic, v: ep.StringValue("0")}
		case "id":
			return text("COALESCE(eventid, '')")
		case "detail-type":
			s := text(detailTypeSQL())
			s.detailType = true
			return s
		case "source":
			return text("CASE WHEN COALESCE(eventsource, '') = '' THEN '' ELSE 'aws.' || split_part(eventsource, '.amazonaws.com', 1) END")
		case "account":
			return text("COALESCE(recipientaccountid, '')")
		case "time":
			return text("COALESCE(eventtime, '')")
		case "region":
			return text("COALESCE(awsregion, '')")
		case "resources":
			return slot{kind: sStatic, v: ep.ArrayValue()}
		case "detail":
			return slot{kind: sObject, fields: cloudTrailColumns}
		}
		return slot{kind: sStatic} // EventBridge's envelope has no other key: absent
	case 'j':
		if !jsonKeyRE.MatchString(key) {
			return slot{kind: sError, why: "a key with characters other than letters, digits and _ is not written into a JSON path"}
		}
		return slot{kind: sJSON, sql: fmt.Sprintf("json_extract(%s, '$.%s')", c.base, key)}
	}
	cl, ok := lookup(c.fields, key)
	if !ok {
		why := "not a field of AWS's CloudTrail table for Athena"
		if n := near(c.fields, key); n != "" {
			why += fmt.Sprintf(" (the record spells it %s; EventBridge matches keys case-sensitively)", n)
		}
		return slot{kind: sError, why: why}
	}
	ref := cl.name()
	if c.base != "" {
		ref = c.base + "." + ref
	}
	switch cl.Kind {
	case kString:
		return slot{kind: sText, sql: ref}
	case kBool:
		return slot{kind: sText, sql: ref, boolCol: true}
	case kJSON:
		return slot{kind: sJSONRoot, sql: ref}
	case kStruct:
		return slot{kind: sObject, sql: ref, fields: cl.Fields}
	case kStructArray:
		return slot{kind: sStructArray, sql: ref, fields: cl.Fields}
	}
	return slot{kind: sError, why: "a MAP column, whose missing keys Athena and EventBridge treat differently"}
}

// --- levels ----------------------------------------------------------------

func join2(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// matchIn is a level applied to an object (or to nothing): every field,
// and one alternative of every $or group.
func (t *translator) matchIn(n ep.Node, c ctx, path string) sqlx {
	var parts []sqlx
	for _, f := range n.Fields() {
		p := join2(path, f.Key)
		s := t.slotFor(c, f.Key)
		if f.Sub != nil {
			parts = append(parts, t.node(*f.Sub, s, p))
		} else {
			parts = append(parts, t.leaf(*f.Leaf, s, p))
		}
	}
	for _, alts := range n.Ors() {
		var xs []sqlx
		for _, a := range alts {
			xs = append(xs, t.matchIn(a, c, path))
		}
		parts = append(parts, or(xs...))
	}
	return and(parts...)
}

func (t *translator) lambda(prefix string) string {
	t.depth++
	return fmt.Sprintf("%s%d", prefix, t.depth)
}

// anyElem is "some element of the array satisfies body"; false for a NULL array.
func anyElem(array, v string, body sqlx) sqlx {
	if body.op == 'F' {
		return xFalse
	}
	return atom(fmt.Sprintf("COALESCE(cardinality(filter(%s, %s -> %s)) > 0, FALSE)", array, v, body.inline()))
}

// node is a nested level applied to the value a key holds.
func (t *translator) node(n ep.Node, s slot, path string) sqlx {
	absent := n.Match(ep.Value{}) // the level against a missing (or scalar) value
	switch s.kind {
	case sError:
		return t.fail(path, "%s", s.why)
	case sStatic:
		return static(n.Match(s.v))
	case sText: // a scalar holds no keys
		return static(absent)
	case sObject:
		return t.matchIn(n, ctx{kind: 'c', base: s.sql, fields: s.fields}, path)
	case sJSONRoot: // CloudTrail writes these fields as objects or null
		return t.matchIn(n, ctx{kind: 'j', base: s.sql}, path)
	case sStructArray:
		v := t.lambda("r")
		defer func() { t.depth-- }()
		elem := ctx{kind: 'c', base: v, fields: s.fields}
		var pure []sqlx
		for _, f := range n.Fields() {
			if !f.PureAbsence {
				continue
			}
			if es := t.slotFor(elem, f.Key); es.kind == sText {
				pure = append(pure, not(anyElem(s.sql, v, atom(es.sql+" IS NOT NULL"))))
			}
		}
		some := anyElem(s.sql, v, and(atom(v+" IS NOT NULL"), t.matchIn(n, elem, path)))
		none := and(not(anyElem(s.sql, v, atom(v+" IS NOT NULL"))), static(absent))
		return and(append(pure, or(some, none))...)
	}
	// sJSON: an object, an array (of objects, crushed element by element), a scalar or nothing.
	x := s.sql
	v := t.lambda("e")
	defer func() { t.depth-- }()
	var pure []sqlx
	for _, f := range n.Fields() {
		if f.PureAbsence && jsonKeyRE.MatchString(f.Key) {
			k := fmt.Sprintf("json_extract(%s, '$.%s')", v, f.Key)
			pure = append(pure, not(anyElem(t.jsonArrayOf(x), v, and(atom(kind(v)+" = '{'"), t.anyLeaf(k, isLeaf)))))
		}
	}
	some := anyElem(t.jsonArrayOf(x), v, and(atom(kind(v)+" = '{'"), t.matchIn(n, ctx{kind: 'j', base: v}, path)))
	none := and(not(anyElem(t.jsonArrayOf(x), v, atom(kind(v)+" IN ('{', '[')"))), static(absent))
	inArray := and(append(pure, or(some, none))...)
	inObject := t.matchIn(n, ctx{kind: 'j', base: x}, path)
	return atom(fmt.Sprintf("CASE WHEN %s IS NULL THEN %s WHEN %s = '[' THEN %s WHEN %s = '{' THEN %s ELSE %s END",
		x, static(absent).inline(), kind(x), inArray.inline(), kind(x), inObject.inline(), static(absent).inline()))
}

// --- leaves ------------------------------------------------------------------

// kind is the first character of a JSON value's text: '"' string, '{'
// object, '[' array, 'n' null, 't'/'f' boolean, else a number. An array
// element that is SQL NULL is JSON null.
func kind(v string) string { return fmt.Sprintf("COALESCE(substr(json_format(%s), 1, 1), 'n')", v) }

func (t *translator) jsonArrayOf(x string) string {
	return fmt.Sprintf("TRY_CAST(%s AS %s)", x, t.jsonArray)
}

func isLeaf(v string) sqlx { return atom(kind(v) + " NOT IN ('{', '[')") }

// anyLeaf is "a leaf value at x satisfies pred": x itself, or an element of
// the array x.
func (t *translator) anyLeaf(x string, pred func(v string) sqlx) sqlx {
	v := t.lambda("e")
	defer func() { t.depth-- }()
	inArray := anyElem(t.jsonArrayOf(x), v, pred(v))
	here := pred(x)
	if inArray.op == 'F' && here.op == 'F' {
		return xFalse
	}
	return atom(fmt.Sprintf("CASE WHEN %s IS NULL THEN FALSE WHEN %s = '[' THEN %s ELSE %s END", x, kind(x), inArray.inline(), here.inline()))
}

// comparableLimit is event-ruler's range of numbers compared by value
// (docs/replay.md, "Semantics and decisions"); beyond it EventBridge
// compares the number's text, which engines do not preserve alike.
const comparableLimit = 5e9

func numberLit(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, "eE") {
		s += "E0" // a DOUBLE literal, not a DECIMAL
	}
	return s
}

// leaf is a key's list of matchers applied to the value the key holds.
func (t *translator) leaf(l ep.Leaf, s slot, path string) sqlx {
	switch s.kind {
	case sError:
		return t.fail(path, "%s", s.why)
	case sStatic:
		return static(l.Match(s.v))
	case sObject, sStructArray: // objects are not leaf values
		return static(l.Match(ep.ObjectValue(nil, nil)))
	case sJSONRoot:
		a, n, o := l.Match(ep.Value{}), l.Match(ep.NullValue()), l.Match(ep.ObjectValue(nil, nil))
		if a != n || a != o {
			return t.fail(path, "a test of the whole field: it holds an object, and Athena reads a JSON null and a missing field alike; test a key inside it")
		}
		return static(a)
	case sText:
		return t.textLeaf(l, s, path)
	}
	return t.jsonLeaf(l, s.sql, path)
}

// textLeaf: a STRING column (or envelope string). NULL is a missing field;
// the column holds a JSON string, or for readOnly a JSON boolean.
func (t *translator) textLeaf(l ep.Leaf, s slot, path string) sqlx {
	present, missing := atom(s.sql+" IS NOT NULL"), atom(s.sql+" IS NULL")
	if s.nonNull {
		present, missing = xTrue, xFalse
	}
	var ms []sqlx
	var exact []string
	for _, m := range l.Matchers() {
		if why := refused(m); why != "" && !s.boolCol {
			ms = append(ms, t.fail(path, "%s cannot be translated: %s", m.Op, why))
			continue
		}
		switch m.Op {
		case ep.OpExact:
			switch k := m.Value.Kind(); {
			case k == ep.Null:
				ms = append(ms, t.fail(path, "null cannot be translated: Athena reads a JSON null and a missing field alike"))
			case k == ep.String && !s.boolCol:
				exact = append(exact, m.Value.Str())
			case k == ep.Bool && s.boolCol:
				ms = append(ms, atom(s.sql+" = "+t.lit(path, m.Value.Str())))
			}
			// a number, or a string/boolean of the other type, never equals the field's value
		case ep.OpAnythingBut:
			var ex []string
			for _, v := range m.Values {
				if v.Kind() == ep.String && !s.boolCol {
					ex = append(ex, t.lit(path, v.Str()))
				}
			}
			if len(ex) == 0 {
				ms = append(ms, present) // nothing of the field's type is excluded
			} else {
				ms = append(ms, atom(s.sql+" NOT IN ("+strings.Join(ex, ", ")+")"))
			}
		case ep.OpAnythingButPrefix, ep.OpAnythingButSuffix, ep.OpAnythingButWild:
			if s.boolCol {
				ms = append(ms, present) // not a string: anything-but matches what is there
				continue
			}
			var ex []sqlx
			switch m.Op {
			case ep.OpAnythingButPrefix:
				ex = append(ex, t.like(path, s.sql, likeEscape(m.Str)+"%"))
			case ep.OpAnythingButSuffix:
				ex = append(ex, t.like(path, s.sql, "%"+likeEscape(m.Str)))
			default:
				for _, w := range m.Wildcards {
					ex = append(ex, t.like(path, s.sql, wildcardLike(w)))
				}
			}
			ms = append(ms, not(or(ex...)))
		default:
			if s.boolCol {
				if m.Op == ep.OpAnythingButFold {
					ms = append(ms, present) // not a string: anything-but matches what is there
				}
				continue // string and number operators never match a boolean
			}
			if x, ok := t.stringOp(path, m, s.sql); ok {
				ms = append(ms, x)
			}
			// numeric never matches a string
		}
	}
	if len(exact) > 0 {
		ms = append(ms, t.exactText(path, s, exact))
	}
	// A missing field makes the matchers NULL, not FALSE: that is the same
	// in a WHERE clause, because no translation ever negates a leaf's result
	// (the negations the translator writes are of NULL-free tests).
	parts := []sqlx{or(ms...)}
	if l.ExistsTrue() {
		parts = append(parts, present)
	}
	if l.ExistsFalse() {
		parts = append(parts, missing)
	}
	return or(parts...)
}

// exactText is "the text is one of these strings". On detail-type it tests
// eventType instead, which reads better and is the same condition.
func (t *translator) exactText(path string, s slot, values []string) sqlx {
	if mistranslate != nil {
		if x, ok := mistranslate(ep.Matcher{Op: ep.OpExact, Value: ep.StringValue(values[0])}, s.sql); ok {
			return x
		}
	}
	col := s.sql
	if s.detailType {
		var types []string
		for _, v := range values {
			for _, d := range detailTypes {
				if d[1] == v {
					types = append(types, d[0])
				}
			}
		}
		if len(types) == 0 {
			return xFalse
		}
		col, values = effectiveType, types
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = t.lit(path, v)
	}
	if len(quoted) == 1 {
		return atom(col + " = " + quoted[0])
	}
	return atom(col + " IN (" + strings.Join(quoted, ", ") + ")")
}

// jsonLeaf: a value inside a JSON column, any JSON type; arrays are
// searched element by element.
func (t *translator) jsonLeaf(l ep.Leaf, x, path string) sqlx {
	ms := l.Matchers()
	for _, m := range ms {
		if why := refused(m); why != "" {
			return t.fail(path, "%s cannot be translated: %s", m.Op, why)
		}
		if m.Op == ep.OpExact && m.Value.Kind() == ep.Number {
			if f, ok := m.Value.Float(); !ok || math.Abs(f) > comparableLimit {
				return t.fail(path, "the number %s cannot be translated: beyond ±5e9 EventBridge compares numbers by their text", m.Value.Str())
			}
		}
		if m.Op == ep.OpAnythingBut {
			for _, v := range m.Values {
				if f, ok := v.Float(); v.Kind() == ep.Number && (!ok || math.Abs(f) > comparableLimit) {
					return t.fail(path, "the number %s cannot be translated: beyond ±5e9 EventBridge compares numbers by their text", v.Str())
				}
			}
		}
	}
	var parts []sqlx
	if len(ms) > 0 {
		parts = append(parts, t.anyLeaf(x, func(v string) sqlx { return t.jsonMatchers(ms, v, path) }))
	}
	if l.ExistsTrue() || l.ExistsFalse() {
		found := t.anyLeaf(x, isLeaf)
		if l.ExistsTrue() {
			parts = append(parts, found)
		}
		if l.ExistsFalse() {
			parts = append(parts, not(found))
		}
	}
	return or(parts...)
}

// jsonMatchers is "the JSON leaf v matches one of the matchers".
func (t *translator) jsonMatchers(ms []ep.Matcher, v, path string) sqlx {
	k := kind(v)
	text := fmt.Sprintf("json_extract_scalar(%s, '$')", v)
	num := fmt.Sprintf("TRY_CAST(%s AS DOUBLE)", text)
	isStr := atom(k + ` = '"'`)
	isNum := atom(k + " IN ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')")
	var out []sqlx
	var exact []string
	for _, m := range ms {
		switch m.Op {
		case ep.OpExact:
			switch m.Value.Kind() {
			case ep.String:
				exact = append(exact, m.Value.Str())
			case ep.Number:
				f, _ := m.Value.Float()
				out = append(out, and(isNum, atom(num+" = "+numberLit(f))))
			case ep.Bool:
				out = append(out, atom(k+" = "+t.lit(path, m.Value.Str()[:1])))
			case ep.Null:
				out = append(out, atom(k+" = 'n'"))
			}
		case ep.OpNumeric:
			var b []sqlx
			if m.Eq {
				b = append(b, atom(num+" = "+numberLit(m.Lo)))
			} else {
				if !math.IsInf(m.Lo, -1) {
					op := " > "
					if m.LoInc {
						op = " >= "
					}
					b = append(b, atom(num+op+numberLit(m.Lo)))
				}
				if !math.IsInf(m.Hi, 1) {
					op := " < "
					if m.HiInc {
						op = " <= "
					}
					b = append(b, atom(num+op+numberLit(m.Hi)))
				}
			}
			out = append(out, and(append([]sqlx{isNum, atom(num + " IS NOT NULL")}, b...)...))
		case ep.OpAnythingBut:
			var strs []string
			var excl []sqlx
			for _, x := range m.Values {
				if x.Kind() == ep.String {
					strs = append(strs, t.lit(path, x.Str()))
				} else {
					f, _ := x.Float()
					excl = append(excl, and(isNum, atom(num+" = "+numberLit(f))))
				}
			}
			if len(strs) > 0 {
				excl = append(excl, and(isStr, atom(text+" IN ("+strings.Join(strs, ", ")+")")))
			}
			out = append(out, and(isLeaf(v), not(or(excl...))))
		case ep.OpAnythingButPrefix, ep.OpAnythingButSuffix, ep.OpAnythingButWild:
			var ex []sqlx
			switch m.Op {
			case ep.OpAnythingButPrefix:
				ex = append(ex, t.like(path, text, likeEscape(m.Str)+"%"))
			case ep.OpAnythingButSuffix:
				ex = append(ex, t.like(path, text, "%"+likeEscape(m.Str)))
			default:
				for _, w := range m.Wildcards {
					ex = append(ex, t.like(path, text, wildcardLike(w)))
				}
			}
			out = append(out, and(isLeaf(v), not(and(isStr, or(ex...)))))
		default:
			if x, ok := t.stringOp(path, m, text); ok {
				out = append(out, and(isStr, x))
			}
		}
	}
	if len(exact) > 0 {
		out = append(out, and(isStr, t.exactText(path, slot{sql: text}, exact)))
	}
	return or(out...)
}

// readOnlySQL is replay's "read-only management event" (docs/replay.md,
// "Semantics and decisions"), which rules in state ENABLED never receive.
func readOnlySQL() sqlx {
	management := atom("COALESCE(eventcategory, '') IN ('', 'Management')")
	stsChange := atom("(COALESCE(eventsource, '') = 'sts.amazonaws.com' AND COALESCE(eventname, '') IN ('GetFederationToken', 'GetSessionToken'))")
	flag := atom("CASE WHEN readonly IS NULL THEN (COALESCE(eventname, '') LIKE 'Describe%' OR COALESCE(eventname, '') LIKE 'Get%' OR COALESCE(eventname, '') LIKE 'List%') ELSE readonly = 'true' END")
	return and(management, not(stsChange), flag)
}

// deliveredSQL: the eventTypes CloudTrail hands to EventBridge.
func deliveredSQL() sqlx {
	var types []string
	for _, d := range detailTypes {
		types = append(types, "'"+d[0]+"'")
	}
	return atom(effectiveType + " IN (" + strings.Join(types, ", ") + ")")
}
