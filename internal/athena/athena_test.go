package athena

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
	"github.com/kmsguard/kmsguard/internal/replay"
)

func day0(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// rulesOf compiles patterns into rules of tier "t" (state ENABLED_WITH_ALL...).
func rulesOf(t *testing.T, patterns ...string) replay.Rules {
	t.Helper()
	var rs replay.Rules
	for i, p := range patterns {
		pat, err := ep.Compile([]byte(p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		rs = append(rs, replay.Rule{LogicalID: "R" + string(rune('A'+i)), Tier: "t", State: replay.EnabledWithAllMgmtEvent, Pattern: pat, PatternJSON: []byte(p)})
	}
	return rs
}

var table = Table{Name: DefaultTableName, Bucket: "trail-bucket", Accounts: []string{"111122223333"}, Regions: []string{"us-east-1"}, From: day0("2025-05-01")}

// TestConstructsThatCannotBeTranslatedAreRefusedByRuleAndPath: a pattern
// the queries could not reproduce exactly is an error naming the rule, the
// path and the reason, every one at once; nothing is printed. The control:
// the same fields with translatable operators give queries.
func TestConstructsThatCannotBeTranslatedAreRefusedByRuleAndPath(t *testing.T) {
	rules := rulesOf(t,
		`{"detail":{"eventName":[{"equals-ignore-case":"disablekeyſ"}]}}`,
		`{"detail":{"sourceIPAddress":[{"cidr":"203.0.113.0/24"}]}}`,
		`{"detail":{"eventname":["DisableKey"]}}`,
		`{"detail":{"managementEvent":[true]}}`,
		`{"detail":{"errorCode":[null]}}`,
		`{"detail":{"requestParameters":{"x-amz-acl":["private"]}}}`,
		`{"detail":{"requestParameters":[{"exists":false}]}}`,
		`{"detail":{"userIdentity":{"sessionContext":{"webIdFederationData":{"attributes":{"k":["v"]}}}}}}`,
		`{"detail":{"requestParameters":{"n":[12345678901]}}}`,
		`{"detail":{"eventName":["tab\there"]}}`,
	)
	var out strings.Builder
	err := Write(&out, rules, table)
	if err == nil {
		t.Fatal("untranslatable patterns gave queries")
	}
	if out.Len() != 0 {
		t.Errorf("something was printed before the error:\n%s", out.String())
	}
	msg := err.Error()
	for _, want := range []string{
		"rule RA (tier t): detail.eventName: equals-ignore-case cannot be translated: EventBridge folds case by Unicode rules that SQL's lower() does not reproduce (only an ASCII value is translated)",
		"rule RB (tier t): detail.sourceIPAddress: cidr cannot be translated",
		"rule RC (tier t): detail.eventname: not a field of AWS's CloudTrail table for Athena (the record spells it eventName",
		"rule RD (tier t): detail.managementEvent: not a field of AWS's CloudTrail table",
		"rule RE (tier t): detail.errorCode: null cannot be translated",
		"rule RF (tier t): detail.requestParameters.x-amz-acl: a key with characters other than",
		"rule RG (tier t): detail.requestParameters: a test of the whole field",
		"rule RH (tier t): detail.userIdentity.sessionContext.webIdFederationData.attributes: a MAP column",
		"rule RI (tier t): detail.requestParameters.n: the number 12345678901 cannot be translated",
		"rule RJ (tier t): detail.eventName: the value \"tab\\there\" holds control characters",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	// Control: the same fields, translatable (equals-ignore-case of an ASCII value is).
	ok := rulesOf(t,
		`{"detail":{"eventName":[{"prefix":"Disable"},{"equals-ignore-case":"disablekey"}]}}`,
		`{"detail":{"sourceIPAddress":["203.0.113.7"]}}`,
		`{"detail":{"errorCode":[{"exists":false}]}}`,
		`{"detail":{"requestParameters":{"acl":["private"],"n":[12345]}}}`,
		`{"detail":{"userIdentity":{"sessionContext":{"webIdFederationData":{"federatedProvider":["x"]}}}}}`,
	)
	out.Reset()
	if err := Write(&out, ok, table); err != nil {
		t.Fatalf("translatable patterns refused: %v", err)
	}
	if !strings.Contains(out.String(), "-- tier t:") {
		t.Errorf("no query for tier t:\n%s", out.String())
	}
}

// TestEveryOperatorOfTheRulesIsTranslated: the committed templates' rules
// and the synthetic ones (every translatable operator) give one query per
// tier, with no error.
func TestEveryOperatorOfTheRulesIsTranslated(t *testing.T) {
	for name, rules := range map[string]replay.Rules{
		"default": goldenRules(t, "default"), "hardened": goldenRules(t, "hardened"), "synthetic": syntheticRules(t),
	} {
		qs, err := Queries(rules, table)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(qs) != len(rules.TierNames()) {
			t.Errorf("%s: %d queries for %d tiers", name, len(qs), len(rules.TierNames()))
		}
		for _, q := range qs {
			if !strings.Contains(q.SQL, "ARRAY(JSON)") && strings.Contains(q.SQL, "TRY_CAST(json_extract") {
				t.Errorf("%s: tier %s casts JSON arrays to something other than ARRAY(JSON)", name, q.Tier)
			}
			if strings.Contains(q.SQL, "JSON[]") {
				t.Errorf("%s: tier %s uses DuckDB's spelling JSON[]", name, q.Tier)
			}
		}
	}
}

// TestTheAthenaAndTheTestedQueriesDifferOnlyInTheJSONArrayType: the
// queries the embedded engine runs are the printed ones with ARRAY(JSON)
// spelled JSON[]; nothing else differs.
func TestTheAthenaAndTheTestedQueriesDifferOnlyInTheJSONArrayType(t *testing.T) {
	for _, rules := range []replay.Rules{goldenRules(t, "default"), syntheticRules(t)} {
		athena, err := Queries(rules, table)
		if err != nil {
			t.Fatal(err)
		}
		tested, err := queries(rules, table, "JSON[]")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range athena {
			n += strings.Count(athena[i].SQL, "ARRAY(JSON)")
			if strings.ReplaceAll(athena[i].SQL, "ARRAY(JSON)", "JSON[]") != tested[i].SQL {
				t.Errorf("tier %s: the queries differ beyond the array type", athena[i].Tier)
			}
		}
		if n == 0 {
			t.Error("no JSON array in the queries: the comparison shows nothing")
		}
	}
}

// TestTheTableFollowsTheTrailsKeyLayout: an account's trail and an
// organization trail are read from their layouts, projected over the given
// accounts, regions and days.
func TestTheTableFollowsTheTrailsKeyLayout(t *testing.T) {
	acct := table
	acct.Prefix = "/trails/prod/"
	acct.Accounts = []string{"111122223333", "444455556666"}
	acct.Regions = []string{"us-east-1", "eu-west-1"}
	ddl := acct.DDL()
	for _, want := range []string{
		"LOCATION 's3://trail-bucket/trails/prod/AWSLogs/'",
		"'storage.location.template'='s3://trail-bucket/trails/prod/AWSLogs/${account}/CloudTrail/${region}/${timestamp}'",
		"'projection.account.values'='111122223333,444455556666'",
		"'projection.region.values'='us-east-1,eu-west-1'",
		"'projection.timestamp.range'='2025/05/01,NOW'",
		"PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)",
		"ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
		"STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
		"  requestparameters STRING,\n",
		"  readonly STRING,\n",
		"  resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,\n",
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("account trail: the DDL lacks %q:\n%s", want, ddl)
		}
	}
	org := table
	org.OrgID = "o-a1b2c3d4e5"
	org.To = day0("2025-05-31")
	ddl = org.DDL()
	for _, want := range []string{
		"LOCATION 's3://trail-bucket/AWSLogs/o-a1b2c3d4e5/'",
		"'storage.location.template'='s3://trail-bucket/AWSLogs/o-a1b2c3d4e5/${account}/CloudTrail/${region}/${timestamp}'",
		"'projection.timestamp.range'='2025/05/01,2025/05/31'",
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("organization trail: the DDL lacks %q:\n%s", want, ddl)
		}
	}
	if strings.Contains(acct.DDL(), "o-a1b2c3d4e5") || !strings.Contains(org.daysSQL(), "BETWEEN '2025/05/01' AND '2025/05/31'") || acct.daysSQL() != `"timestamp" >= '2025/05/01'` {
		t.Errorf("days: %s / %s", acct.daysSQL(), org.daysSQL())
	}
}

// TestTableProblemsAreReportedAllAtOnce: every bad setting is named, in
// field order; a good table passes.
func TestTableProblemsAreReportedAllAtOnce(t *testing.T) {
	bad := Table{Name: "Bad-Name", Bucket: "B", Prefix: "x/AWSLogs", OrgID: "o-short", Accounts: []string{"12"}, Regions: []string{"mars"}, From: day0("2025-05-02"), To: day0("2025-05-01")}
	err := bad.Validate()
	if err == nil {
		t.Fatal("a bad table passed")
	}
	var last int
	for _, want := range []string{`table name "Bad-Name"`, `bucket "B"`, `prefix "x/AWSLogs"`, `organization id "o-short"`, `account "12"`, `region "mars"`, "to 2025/05/01 is before from 2025/05/02"} {
		i := strings.Index(err.Error(), want)
		if i < last {
			t.Errorf("%q missing or out of order in:\n%v", want, err)
		}
		last = max(last, i)
	}
	if err := table.Validate(); err != nil {
		t.Errorf("a good table: %v", err)
	}
	if err := (Table{Name: "t", Bucket: "bkt"}).Validate(); err == nil || !strings.Contains(err.Error(), "accounts: name at least one") || !strings.Contains(err.Error(), "from: give the first day") {
		t.Errorf("missing accounts/regions/from: %v", err)
	}
}

// TestDetailTypesAreReplays: the eventType → detail-type table the queries
// use is the one replay.Wrap applies, and the types it omits are the ones
// replay does not deliver.
func TestDetailTypesAreReplays(t *testing.T) {
	types := []string{"AwsVpceEvent", "AwsCloudTrailInsight"}
	for _, d := range detailTypes {
		types = append(types, d[0])
	}
	for _, et := range append(types, "") {
		rec := map[string]any{"eventName": "X"}
		if et != "" {
			rec["eventType"] = et
		}
		ev, err := replay.WrapRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		eff := et
		if eff == "" {
			eff = "AwsApiCall"
		}
		for _, d := range detailTypes {
			if d[0] == eff {
				want = d[1]
			}
		}
		got, _ := ev.Value.Get("detail-type")
		if got.Str() != want || ev.Delivered != (want != "") {
			t.Errorf("eventType %q: replay gives %q (delivered %v), the queries assume %q", et, got.Str(), ev.Delivered, want)
		}
	}
}

// TestMakeTestRunsTheSQLProof: the DuckDB tests sit behind a build tag;
// make test (what CI runs) must pass that tag, or the proof silently stops
// running.
func TestMakeTestRunsTheSQLProof(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, recipe, _ := strings.Cut(string(mk), "\ntest: setup\n")
	recipe, _, _ = strings.Cut(recipe, "\n\n")
	if !strings.Contains(recipe, "go test -count=1 -tags duckdb ./internal/athena/") {
		t.Errorf("make test does not run go test -tags duckdb ./internal/athena/:\n%s", recipe)
	}
}

// TestTheCaseFoldTableIsEveryCharacterThatFoldsToAnASCIILetter: the characters equals-ignore-case's
// translation folds (foldFrom, to foldTo) are exactly those that Unicode simple case folding, as
// eventpattern compares, makes equal to an ASCII letter, and each goes to that letter: so an ASCII value's
// translation neither misses a spelling replay matches nor matches one replay does not. The control: the
// table without the Kelvin sign is found short.
func TestTheCaseFoldTableIsEveryCharacterThatFoldsToAnASCIILetter(t *testing.T) {
	missing := func(from, to string) []string {
		table := map[rune]rune{}
		tr := []rune(to)
		for i, r := range []rune(from) {
			table[r] = tr[i]
		}
		var bad []string
		for r := rune(0); r <= unicode.MaxRune; r++ {
			var letter rune // the lower-case ASCII letter r folds to, if any
			for f := unicode.SimpleFold(r); ; f = unicode.SimpleFold(f) {
				if 'a' <= f && f <= 'z' {
					letter = f
				}
				if f == r {
					break
				}
			}
			got, want := r, r // translate() leaves a character that is not in the table as it is
			if v, ok := table[r]; ok {
				got = v
			}
			if letter != 0 {
				want = letter
			}
			if got != want {
				bad = append(bad, fmt.Sprintf("%U: folds to %q, the translation gives %q", r, want, got))
			}
		}
		return bad
	}
	if bad := missing(foldFrom, foldTo); len(bad) > 0 {
		t.Errorf("the fold table is wrong: %v", bad)
	}
	if bad := missing(strings.Replace(foldFrom, "\u212a", "", 1), strings.Replace(foldTo, "yzks", "yzs", 1)); len(bad) != 1 {
		t.Errorf("control: the table without the Kelvin sign gives %v, want one character missed", bad)
	}
}
