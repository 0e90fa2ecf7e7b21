//go:build duckdb

// The proof that the generated SQL means what the rules mean: the queries
// run in DuckDB, an embedded SQL engine (make test runs this file with
// -tags duckdb; docs/replay.md, "Athena", says what it proves and what it
// cannot).

package athena

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// duckJSONArray is DuckDB's spelling of Athena's ARRAY(JSON), the one
// difference between the queries run here and those printed for Athena.
const duckJSONArray = "JSON[]"

// trinoMacros define in DuckDB the Trino (Athena engine version 3)
// functions the queries use that DuckDB lacks or defines otherwise, as the
// Trino documentation describes them: json_extract_scalar returns a scalar
// as text and NULL for an object, an array or null; json_format returns a
// JSON value's text; cardinality is an array's length. json_extract,
// filter, TRY_CAST, substr, split_part, COALESCE, NULLIF and LIKE ... ESCAPE
// are DuckDB's own, with the same meaning for these arguments
// (TestTheMacrosBehaveAsTrinoDocumentsTheFunctions).
var trinoMacros = []string{
	`CREATE MACRO json_extract_scalar(j, p) AS CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END`,
	`CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)`,
	`CREATE MACRO cardinality(a) AS len(a)`,
}

// duckType is a column's type in DuckDB.
func duckType(c col) string {
	fields := func() string {
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = fmt.Sprintf("%q %s", f.name(), duckType(f))
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	}
	switch c.Kind {
	case kStruct:
		return fields()
	case kStructArray:
		return fields() + "[]"
	case kMap:
		return "MAP(VARCHAR, VARCHAR)"
	}
	return "VARCHAR"
}

// serde reads a decoded JSON value into a column as the table's JSON SerDe
// does (Amazon Athena User Guide, "Hive JSON SerDe", and the CloudTrail
// table's note that requestParameters and its kind are JSON text): keys are
// matched case-insensitively, a string is read as itself and another
// scalar as its text, an object or array read into a STRING is its JSON
// text, null is NULL, and a value of the wrong shape for a STRUCT or ARRAY
// is NULL.
func serde(v any, c col) any {
	if v == nil {
		return nil
	}
	switch c.Kind {
	case kStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		return serdeObject(m, c.Fields)
	case kStructArray:
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		out := make([]any, len(a))
		for i, e := range a {
			if m, ok := e.(map[string]any); ok {
				out[i] = serdeObject(m, c.Fields)
			}
		}
		return out
	case kMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		out := map[string]any{}
		for k, x := range m {
			out[k] = serde(x, col{Kind: kString})
		}
		return out
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func serdeObject(m map[string]any, fields []col) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		var val any
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.EqualFold(k, f.Key) {
				val = m[k]
			}
		}
		out[f.name()] = serde(val, f)
	}
	return out
}

// record is one CloudTrail record of a test set.
type record struct {
	name string
	raw  []byte // compact JSON
}

// engine is DuckDB with the table and the macros.
type engine struct {
	db  *sql.DB
	dir string
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	for _, m := range trinoMacros {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	var cols []string
	for _, c := range cloudTrailColumns {
		cols = append(cols, fmt.Sprintf("%q %s", c.name(), duckType(c)))
	}
	cols = append(cols, `"account" VARCHAR`, `"region" VARCHAR`, `"timestamp" VARCHAR`)
	if _, err := db.Exec(fmt.Sprintf("CREATE TABLE %s (%s)", testTable.Name, strings.Join(cols, ", "))); err != nil {
		t.Fatal(err)
	}
	return &engine{db: db, dir: t.TempDir()}
}

// testTable is the table the queries are generated for; the days cover
// every record (TestDaysOutsideTheTableAreNotRead checks the bounds).
var testTable = Table{
	Name: "kmsguard_cloudtrail", Bucket: "kmsguard-trailbucket-abc123",
	Accounts: []string{"111122223333"}, Regions: []string{"us-east-1"},
	From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC),
}

// load replaces the table's rows with the records, read as Athena's SerDe
// reads them; each lands in the day folder of its eventTime.
func (e *engine) load(t *testing.T, recs []record) {
	t.Helper()
	if _, err := e.db.Exec("DELETE FROM " + testTable.Name); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, r := range recs {
		dec := json.NewDecoder(bytes.NewReader(r.raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		row := serdeObject(m, cloudTrailColumns)
		row["account"], row["region"], row["timestamp"] = "111122223333", "us-east-1", "2025/05/20"
		if tm, err := time.Parse(time.RFC3339, fmt.Sprint(m["eventTime"])); err == nil {
			row["timestamp"] = tm.UTC().Format("2006/01/02")
		}
		b, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	path := filepath.Join(e.dir, "rows.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range cloudTrailColumns {
		cols = append(cols, fmt.Sprintf("'%s': '%s'", c.name(), duckType(c)))
	}
	cols = append(cols, "'account': 'VARCHAR'", "'region': 'VARCHAR'", "'timestamp': 'VARCHAR'")
	q := fmt.Sprintf("INSERT INTO %s BY NAME SELECT * FROM read_json('%s', format = 'newline_delimited', columns = {%s})",
		testTable.Name, path, strings.Join(cols, ", "))
	if _, err := e.db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// run returns the eventids a query selects.
func (e *engine) run(t *testing.T, query string) (map[string]bool, error) {
	t.Helper()
	rows, err := e.db.Query(query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := map[string]bool{}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out[vals[len(vals)-1].String] = true
	}
	return out, rows.Err()
}

// replayTiers is what kmsguard-replay decides: per tier, the eventIDs of
// the records its rules alert on.
func replayTiers(t *testing.T, rules replay.Rules, recs []record) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, tier := range rules.TierNames() {
		out[tier] = map[string]bool{}
	}
	for _, r := range recs {
		v, err := ep.Parse(r.raw)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		for _, tier := range rules.Tiers(replay.Wrap(v)) {
			out[tier][v.Path("eventID").Str()] = true
		}
	}
	return out
}

// disagreements runs the queries and lists every record a tier's query
// and the replay decide differently, by record name.
func disagreements(t *testing.T, e *engine, qs []TierQuery, want map[string]map[string]bool, recs []record) []string {
	t.Helper()
	names := map[string]string{}
	for _, r := range recs {
		v, _ := ep.Parse(r.raw)
		names[v.Path("eventID").Str()] = r.name
	}
	var out []string
	for _, q := range qs {
		got, err := e.run(t, q.SQL)
		if err != nil {
			out = append(out, fmt.Sprintf("tier %s: the query fails: %v", q.Tier, err))
			continue
		}
		for id := range got {
			if !want[q.Tier][id] {
				out = append(out, fmt.Sprintf("tier %s: the query selects %q, replay does not alert", q.Tier, names[id]))
			}
		}
		for id := range want[q.Tier] {
			if !got[id] {
				out = append(out, fmt.Sprintf("tier %s: replay alerts on %q, the query misses it", q.Tier, names[id]))
			}
		}
	}
	slices.Sort(out)
	return out
}

func decode(t *testing.T, raw []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, m map[string]any) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variants are corpus records changed in the fields rule states, delivery
// and the patterns look at, so that both sides also see what the corpus
// does not hold: read-only flags, other event types and categories, missing
// or extra errors, resources and request parameters in other shapes.
var variants = []struct {
	name   string
	change func(m map[string]any)
}{
	{"readOnly true", func(m map[string]any) { m["readOnly"] = true }},
	{"readOnly false", func(m map[string]any) { m["readOnly"] = false }},
	{"readOnly \"true\" as a string", func(m map[string]any) { m["readOnly"] = "true" }},
	{"no readOnly", func(m map[string]any) { delete(m, "readOnly") }},
	{"no eventType", func(m map[string]any) { delete(m, "eventType") }},
	{"eventType AwsServiceEvent", func(m map[string]any) { m["eventType"] = "AwsServiceEvent" }},
	{"eventType AwsVpceEvent", func(m map[string]any) { m["eventType"] = "AwsVpceEvent" }},
	{"eventCategory Data", func(m map[string]any) { m["eventCategory"] = "Data" }},
	{"no errorCode", func(m map[string]any) { delete(m, "errorCode") }},
	{"errorCode AccessDenied", func(m map[string]any) { m["errorCode"] = "AccessDenied" }},
	{"errorCode ThrottlingException", func(m map[string]any) { m["errorCode"] = "ThrottlingException" }},
	{"no resources", func(m map[string]any) { delete(m, "resources") }},
	{"empty resources", func(m map[string]any) { m["resources"] = []any{} }},
	{"a null resource first", func(m map[string]any) {
		if r, ok := m["resources"].([]any); ok {
			m["resources"] = append([]any{nil}, r...)
		}
	}},
	{"a second, other resource", func(m map[string]any) {
		if r, ok := m["resources"].([]any); ok {
			m["resources"] = append(r, map[string]any{"ARN": "arn:aws:kms:us-east-1:111122223333:key/5678efgh-56ef-78gh-90ij-5678901234cd", "accountId": "111122223333", "type": "AWS::KMS::Key"})
		}
	}},
	{"requestParameters null", func(m map[string]any) { m["requestParameters"] = nil }},
	{"string request parameters as arrays", func(m map[string]any) {
		if p, ok := m["requestParameters"].(map[string]any); ok {
			for k, v := range p {
				if s, ok := v.(string); ok {
					p[k] = []any{"other-" + s, s}
				}
			}
		}
	}},
	{"string request parameters as numbers", func(m map[string]any) {
		if p, ok := m["requestParameters"].(map[string]any); ok {
			for k, v := range p {
				if _, ok := v.(string); ok {
					p[k] = json.Number("42")
				}
			}
		}
	}},
	{"request parameters nested one level down", func(m map[string]any) {
		if p, ok := m["requestParameters"].(map[string]any); ok {
			m["requestParameters"] = map[string]any{"wrapped": p}
		}
	}},
	{"no userIdentity", func(m map[string]any) { delete(m, "userIdentity") }},
	{"event selector fields split over two elements", func(m map[string]any) {
		p, _ := m["requestParameters"].(map[string]any)
		sel, _ := p["eventSelectors"].([]any)
		if len(sel) == 0 {
			return
		}
		e, _ := sel[0].(map[string]any)
		include, _ := e["includeManagementEvents"].(bool)
		a, b := maps.Clone(e), maps.Clone(e)
		a["readWriteType"], b["includeManagementEvents"] = "All", !include
		p["eventSelectors"] = []any{a, b}
	}},
}

// recordSet collects test records, each with a unique eventID (the
// queries' last column, by which their results are compared).
type recordSet struct {
	t    *testing.T
	recs []record
	seen map[string]bool
}

func (s *recordSet) add(name string, m map[string]any) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	id, _ := m["eventID"].(string)
	if id == "" || s.seen[id] {
		id = fmt.Sprintf("test-%d", len(s.recs))
		m["eventID"] = id
	}
	s.seen[id] = true
	s.recs = append(s.recs, record{name: name, raw: encode(s.t, m)})
}

// addCorpus adds the labelled corpus and its variants.
func (s *recordSet) addCorpus(vars map[string]string) {
	for i, raw := range corpusRecords(s.t, vars) {
		base := fmt.Sprintf("corpus line %d", i+1)
		s.add(base, decode(s.t, raw))
		for _, v := range variants {
			m := decode(s.t, raw)
			v.change(m)
			m["eventID"] = fmt.Sprintf("%s/%s", m["eventID"], v.name)
			s.add(base+" with "+v.name, m)
		}
	}
}

// addAlternatives adds one record per alternative of every rule's pattern
// (eventpattern.Examples, as the rule-split test uses), shaped as
// CloudTrail writes records; each must raise its own rule.
func (s *recordSet) addAlternatives(rules replay.Rules) int {
	t := s.t
	inverse := map[string]string{}
	for _, d := range detailTypes {
		inverse[d[1]] = d[0]
	}
	n := 0
	for _, r := range rules {
		var pattern map[string]any
		if err := json.Unmarshal(r.PatternJSON, &pattern); err != nil {
			t.Fatal(err)
		}
		events, err := ep.Examples(pattern)
		if err != nil {
			t.Fatalf("rule %s: %v", r.LogicalID, err)
		}
		for i, ev := range events {
			// KMS's own events (source aws.kms, e.g. "KMS CMK Deletion") are not CloudTrail records: no
			// CloudTrail table holds them, so an alternative for one has no record to generate
			// (docs/replay.md, "Athena").
			if src, _ := ev["source"].(string); src == "aws.kms" {
				continue
			}
			m, _ := ev["detail"].(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			if dt, ok := ev["detail-type"].(string); ok {
				m["eventType"] = inverse[dt] // "" for a detail-type CloudTrail never sends: not delivered
			}
			if r, ok := m["resources"].(map[string]any); ok {
				m["resources"] = []any{r} // a pattern's sub-object is one element of CloudTrail's array
			}
			if src, ok := ev["source"].(string); ok && m["eventSource"] == nil {
				m["eventSource"] = strings.TrimPrefix(src, "aws.") + ".amazonaws.com"
			}
			for env, field := range map[string]string{"account": "recipientAccountId", "region": "awsRegion", "time": "eventTime", "id": "eventID"} {
				if v, ok := ev[env]; ok && m[field] == nil {
					m[field] = v
				}
			}
			name := fmt.Sprintf("rule %s alternative %d", r.LogicalID, i+1)
			s.add(name, m)
			n++
			v, _ := ep.Parse(s.recs[len(s.recs)-1].raw)
			if r.State != replay.Disabled && !r.Matches(replay.Wrap(v)) {
				t.Errorf("%s: the generated record does not match its own rule", name)
			}
		}
	}
	return n
}

// fixture is a rule set with its records loaded and replay's answer.
type fixture struct {
	rules replay.Rules
	recs  []record
	want  map[string]map[string]bool
}

func newFixture(t *testing.T, e *engine, rules replay.Rules, vars map[string]string) fixture {
	t.Helper()
	s := &recordSet{t: t}
	s.addCorpus(vars)
	n := s.addAlternatives(rules)
	e.load(t, s.recs)
	t.Logf("%d records, %d of them generated alternatives of %d rules", len(s.recs), n, len(rules))
	return fixture{rules: rules, recs: s.recs, want: replayTiers(t, rules, s.recs)}
}

func (f fixture) queries(t *testing.T) []TierQuery {
	t.Helper()
	qs, err := queries(f.rules, testTable, duckJSONArray)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != len(f.rules.TierNames()) {
		t.Fatalf("%d queries for tiers %v", len(qs), f.rules.TierNames())
	}
	return qs
}

// TestAthenaQueriesSelectExactlyTheRecordsReplayAlertsOn: for both golden
// configurations and for synthetic rules using every operator the
// translator handles, the generated tier queries, run over the labelled
// corpus, its variants and one generated record per pattern alternative
// loaded with Athena's column types, select exactly the records
// kmsguard-replay alerts on, tier by tier.
func TestAthenaQueriesSelectExactlyTheRecordsReplayAlertsOn(t *testing.T) {
	e := newEngine(t)
	sets := []struct {
		name  string
		rules func(t *testing.T) replay.Rules
	}{
		{"default", func(t *testing.T) replay.Rules { return goldenRules(t, "default") }},
		{"hardened", func(t *testing.T) replay.Rules { return goldenRules(t, "hardened") }},
		{"synthetic", syntheticRulesT},
	}
	for i, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			vars := goldens[min(i, 1)].vars
			f := newFixture(t, e, set.rules(t), vars)
			for _, q := range f.queries(t) {
				disabled := strings.Contains(q.Tier, "Disabled")
				if (len(f.want[q.Tier]) == 0) != disabled {
					t.Errorf("tier %s: replay alerts on %d records: the comparison would prove nothing", q.Tier, len(f.want[q.Tier]))
				}
				t.Logf("tier %s: %d records", q.Tier, len(f.want[q.Tier]))
			}
			for _, d := range disagreements(t, e, f.queries(t), f.want, f.recs) {
				t.Error(d)
			}
		})
	}
}

func syntheticRulesT(t *testing.T) replay.Rules { return syntheticRules(t) }

// TestAMistranslatedOperatorIsCaught is the control: each translation made
// wrong on purpose — prefix as equality, and one mistake per other
// construct — makes the comparison fail.
func TestAMistranslatedOperatorIsCaught(t *testing.T) {
	e := newEngine(t)
	golden := newFixture(t, e, goldenRules(t, "default"), goldens[0].vars)

	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	only := func(op ep.Op, f func(m ep.Matcher, text string) sqlx) func(m ep.Matcher, text string) (sqlx, bool) {
		return func(m ep.Matcher, text string) (sqlx, bool) {
			if m.Op != op {
				return sqlx{}, false
			}
			return f(m, text), true
		}
	}
	hooks := map[string]func(m ep.Matcher, text string) (sqlx, bool){
		"prefix as equality": only(ep.OpPrefix, func(m ep.Matcher, text string) sqlx {
			return atom(text + " = " + quote(m.Str))
		}),
		"suffix as equality": only(ep.OpSuffix, func(m ep.Matcher, text string) sqlx {
			return atom(text + " = " + quote(m.Str))
		}),
		"wildcard as equality to its text": only(ep.OpWildcard, func(m ep.Matcher, text string) sqlx {
			return atom(text + " = " + quote(strings.Join(m.Wildcards[0].Pieces, "*")))
		}),
		"equals-ignore-case as equality": only(ep.OpEqualsFold, func(m ep.Matcher, text string) sqlx {
			return atom(text + " = " + quote(m.Str))
		}),
		"exact value as prefix": only(ep.OpExact, func(m ep.Matcher, text string) sqlx {
			return atom(text + " LIKE " + quote(likeEscape(m.Value.Str())+"%") + ` ESCAPE '\'`)
		}),
	}
	for _, name := range slices.Sorted(maps.Keys(hooks)) {
		t.Run(name, func(t *testing.T) {
			mistranslate = hooks[name]
			defer func() { mistranslate = nil }()
			expectCaught(t, e, golden, golden.queries(t))
		})
	}
	// Mistakes in the constructs around the operators, made in the SQL text
	// of the golden rules' queries.
	edit := func(t *testing.T, f fixture, old, new string) {
		bad := slices.Clone(f.queries(t))
		n := 0
		for i := range bad {
			n += strings.Count(bad[i].SQL, old)
			bad[i].SQL = strings.ReplaceAll(bad[i].SQL, old, new)
		}
		if n == 0 {
			t.Fatalf("the queries do not contain %q: the edit tests nothing", old)
		}
		expectCaught(t, e, f, bad)
	}
	for _, ed := range []struct{ name, old, new string }{
		{"anything-but as a plain list", " NOT IN (", " IN ("},
		{"exists:false as exists:true", "errorcode IS NULL", "errorcode IS NOT NULL"},
		{"arrays not searched", "= '[' THEN", "= '?' THEN"},
		{"a resources array read by its first element only", "filter(resources,", "filter(resources[1:1],"},
		{"read-only events delivered to ENABLED rules", "ELSE readonly = 'true' END", "ELSE FALSE END"},
		{"a missing eventType not taken as AwsApiCall", "NULLIF(eventtype, ''), 'AwsApiCall')", "NULLIF(eventtype, ''), 'none')"},
	} {
		t.Run(ed.name, func(t *testing.T) { edit(t, golden, ed.old, ed.new) })
	}
	// And in the constructs only the synthetic rules use.
	synthetic := newFixture(t, e, syntheticRules(t), goldens[0].vars)
	for _, ed := range []struct{ name, old, new string }{
		{"an event type EventBridge never receives taken as delivered", "'AwsCloudTrailInsight')", "'AwsCloudTrailInsight', 'AwsVpceEvent')"},
		{"the JSON type of a value ignored", `'n') = '"'`, `'n') <> '['`},
		{"a numeric bound made exclusive", " >= 7E0", " > 7E0"},
		{"a boolean column compared with the other value", "readonly = 'false'", "readonly = 'true'"},
		{"JSON null taken as absent", `'n') = 'n'`, `'n') = 'x'`},
		{"the fields of one array element taken from different elements", "json_extract(e1, '$.readWriteType')", "json_extract(requestparameters, '$.eventSelectors[1].readWriteType')"},
	} {
		t.Run("synthetic "+ed.name, func(t *testing.T) { edit(t, synthetic, ed.old, ed.new) })
	}
}

// expectCaught fails unless the queries disagree with replay somewhere.
func expectCaught(t *testing.T, e *engine, f fixture, qs []TierQuery) {
	t.Helper()
	if d := disagreements(t, e, qs, f.want, f.recs); len(d) == 0 {
		t.Error("the queries still agree with replay: the comparison cannot see this mistake")
	} else {
		t.Logf("caught: %d disagreements, e.g. %s", len(d), d[0])
	}
}

// TestDaysOutsideTheTableAreNotRead: the queries read only the days of the
// table (the partition predicate): the corpus moved to 2025/05/20 is
// selected as replay selects it, and the same records moved to the day
// before or the day after are not.
func TestDaysOutsideTheTableAreNotRead(t *testing.T) {
	e := newEngine(t)
	rules := goldenRules(t, "default")
	s := &recordSet{t: t}
	for i, raw := range corpusRecords(t, goldens[0].vars) {
		for _, day := range []string{"2025-05-19", "2025-05-20", "2025-05-21"} {
			m := decode(t, raw)
			tm, _ := m["eventTime"].(string)
			m["eventTime"] = day + tm[len(day):] // the record's own time of day, on this day
			m["eventID"] = fmt.Sprintf("%s/%s", m["eventID"], day)
			s.add(fmt.Sprintf("corpus line %d on %s", i+1, day), m)
		}
	}
	e.load(t, s.recs)
	want := replayTiers(t, rules, s.recs)
	days := testTable
	days.From, days.To = time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC), time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC)
	qs, err := queries(rules, days, duckJSONArray)
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped := 0, 0
	for _, q := range qs {
		got, err := e.run(t, q.SQL)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.recs {
			v, _ := ep.Parse(r.raw)
			id, inside := v.Path("eventID").Str(), strings.HasPrefix(v.Path("eventTime").Str(), "2025-05-20")
			switch {
			case got[id] && !inside:
				t.Errorf("tier %s: %s is outside the day read and was selected", q.Tier, r.name)
			case want[q.Tier][id] && inside && !got[id]:
				t.Errorf("tier %s: %s is inside the day read and was missed", q.Tier, r.name)
			case want[q.Tier][id] && inside:
				kept++
			case want[q.Tier][id]:
				dropped++
			}
		}
	}
	if kept == 0 || dropped == 0 {
		t.Fatalf("replay must alert both inside (%d) and outside (%d) the day for this test to mean anything", kept, dropped)
	}
}

// TestTheMacrosBehaveAsTrinoDocumentsTheFunctions pins the behaviour the
// queries rely on, one documented example per function.
func TestTheMacrosBehaveAsTrinoDocumentsTheFunctions(t *testing.T) {
	e := newEngine(t)
	for _, c := range []struct{ sql, want string }{
		{`json_extract_scalar('{"a":"x\"y"}', '$.a')`, `x"y`},
		{`json_extract_scalar('{"a":12}', '$.a')`, `12`},
		{`json_extract_scalar('{"a":true}', '$.a')`, `true`},
		{`COALESCE(json_extract_scalar('{"a":null}', '$.a'), 'NULL')`, `NULL`},
		{`COALESCE(json_extract_scalar('{"a":[1]}', '$.a'), 'NULL')`, `NULL`},
		{`COALESCE(json_extract_scalar('{"a":{"b":1}}', '$.a'), 'NULL')`, `NULL`},
		{`COALESCE(json_extract_scalar('{"a":1}', '$.b'), 'NULL')`, `NULL`},
		{`json_format(json_extract('{"a":"x"}', '$.a'))`, `"x"`},
		{`json_format(json_extract('{"a":null}', '$.a'))`, `null`},
		{`json_format(json_extract('{"a":[1,"b"]}', '$.a'))`, `[1,"b"]`},
		{`CAST(cardinality(filter(TRY_CAST(json_extract('{"a":[1,"b",null]}', '$.a') AS JSON[]), e -> TRUE)) AS VARCHAR)`, `3`},
		{`COALESCE(CAST(TRY_CAST(json_extract('{"a":"x"}', '$.a') AS JSON[]) AS VARCHAR), 'NULL')`, `NULL`},
		{`split_part('kms.amazonaws.com', '.amazonaws.com', 1)`, `kms`},
		{"translate('KmsGuard-\u212a\u017f-\u00e9', '" + foldFrom + "', '" + foldTo + "')", "kmsguard-ks-\u00e9"},
		{`CAST('a_c' LIKE 'a\_c' ESCAPE '\' AND NOT ('abc' LIKE 'a\_c' ESCAPE '\') AND NOT ('ABC' LIKE 'a%' ESCAPE '\') AS VARCHAR)`, `true`},
	} {
		var got string
		if err := e.db.QueryRow("SELECT " + c.sql).Scan(&got); err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.sql, got, c.want)
		}
	}
}
