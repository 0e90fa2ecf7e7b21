package athena

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kmsguard/kmsguard/internal/replay"
)

// athenaJSONArray is Athena's (Trino's) spelling of an array of JSON values.
const athenaJSONArray = "ARRAY(JSON)"

// TierQuery is the query of one tier: the records whose event at least one
// of the tier's rules would have received and matched.
type TierQuery struct {
	Tier  string
	Rules []string // logical ids, with their state, in template order
	SQL   string   // one statement, ending in ";"
}

// Queries translates the rules (compiled by replay.LoadRules, the patterns
// kmsguard-replay runs) into one query per tier over the table t. An error
// names every construct that cannot be translated, by rule and pattern
// path; then no query is returned.
func Queries(rules replay.Rules, t Table) ([]TierQuery, error) {
	return queries(rules, t, athenaJSONArray)
}

func queries(rules replay.Rules, t Table, jsonArray string) ([]TierQuery, error) {
	var out []TierQuery
	var errs []error
	for _, tier := range rules.TierNames() {
		q := TierQuery{Tier: tier}
		var conds []sqlx
		for i := range rules {
			r := &rules[i]
			if r.Tier != tier {
				continue
			}
			q.Rules = append(q.Rules, fmt.Sprintf("%s (%s)", r.LogicalID, r.State))
			tr := &translator{jsonArray: jsonArray}
			cond := tr.matchIn(r.Pattern.Root(), ctx{kind: 'w'}, "")
			for _, e := range tr.errs {
				errs = append(errs, fmt.Errorf("rule %s (tier %s): %s", r.LogicalID, tier, e))
			}
			switch r.State {
			case replay.Disabled:
				continue
			case replay.Enabled: // never receives read-only management events
				cond = and(not(readOnlySQL()), cond)
			}
			conds = append(conds, cond)
		}
		where := and(atom(t.daysSQL()), deliveredSQL(), or(conds...))
		var b strings.Builder
		fmt.Fprintf(&b, "-- tier %s: the records its rules would have alerted on (rules: %s)\n", tier, strings.Join(q.Rules, ", "))
		b.WriteString("SELECT eventtime, eventname, eventsource, awsregion, recipientaccountid, useridentity.arn AS principal, sourceipaddress, errorcode, eventid\n")
		fmt.Fprintf(&b, "FROM %s\n", t.Name)
		b.WriteString("WHERE " + where.render("") + "\n")
		b.WriteString("ORDER BY eventtime, eventid;\n")
		q.SQL = b.String()
		out = append(out, q)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("the rules cannot be translated to SQL exactly:\n%w", errors.Join(errs...))
	}
	return out, nil
}

// Write prints the CREATE TABLE statement and the tier queries, separated
// by blank lines (Athena runs one statement at a time).
func Write(w io.Writer, rules replay.Rules, t Table) error {
	if err := t.Validate(); err != nil {
		return err
	}
	qs, err := Queries(rules, t)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, t.DDL()); err != nil {
		return err
	}
	for _, q := range qs {
		if _, err := io.WriteString(w, "\n"+q.SQL); err != nil {
			return err
		}
	}
	return nil
}
