package athena

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Table says where a trail's log files are and what the table projects.
// The key layouts are those CloudTrail writes (docs/replay.md, "Reading the
// trail bucket"):
//
//	PREFIX/AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/         an account's trail
//	PREFIX/AWSLogs/o-ORGID/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ an organization trail
type Table struct {
	Name     string    // Athena table name
	Bucket   string    // the trail bucket
	Prefix   string    // the trail's S3 key prefix ("" for none)
	OrgID    string    // o-... for an organization trail's layout, "" for an account's trail
	Accounts []string  // account ids projected (the account partition)
	Regions  []string  // regions projected (the region partition)
	From     time.Time // first day projected and read (UTC)
	To       time.Time // last day read, included; zero: up to today (the projection ends at NOW)
}

// DefaultTableName is the table name when none is given.
const DefaultTableName = "kmsguard_cloudtrail"

var (
	tableNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,254}$`)
	accountRE   = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	// orgIDRE is the organization id pattern of the AWS Organizations API
	// reference (docs/aws-facts.md).
	orgIDRE = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	// bucketRE: S3 general purpose bucket names (docs/aws-facts.md).
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Validate reports every problem of the table at once, in field order,
// each naming the setting and the fix.
func (t Table) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !tableNameRE.MatchString(t.Name) {
		bad("table name %q: use lower-case letters, digits and underscores, starting with a letter or underscore", t.Name)
	}
	if !bucketRE.MatchString(t.Bucket) {
		bad("bucket %q: want the trail bucket's name, as in s3://BUCKET/PREFIX", t.Bucket)
	}
	if strings.ContainsAny(t.Prefix, "'\\\n\r\t") || strings.Contains(t.Prefix, "AWSLogs") {
		bad("prefix %q: want the trail's S3 key prefix only (the part before AWSLogs/), without quotes or backslashes", t.Prefix)
	}
	if t.OrgID != "" && !orgIDRE.MatchString(t.OrgID) {
		bad("organization id %q: want o- followed by 10 to 32 lower-case letters or digits, as in the organization trail's key layout AWSLogs/o-.../", t.OrgID)
	}
	if len(t.Accounts) == 0 {
		bad("accounts: name at least one account id whose logs the table reads")
	}
	for _, a := range t.Accounts {
		if !accountRE.MatchString(a) {
			bad("account %q: want a 12-digit account id", a)
		}
	}
	if len(t.Regions) == 0 {
		bad("regions: name at least one region whose logs the table reads")
	}
	for _, r := range t.Regions {
		if !regionRE.MatchString(r) {
			bad("region %q: want a region code such as eu-west-1", r)
		}
	}
	if t.From.IsZero() {
		bad("from: give the first day to read")
	}
	if !t.To.IsZero() && t.To.Before(t.From) {
		bad("to %s is before from %s: swap them", day(t.To), day(t.From))
	}
	return errors.Join(errs...)
}

func day(t time.Time) string { return t.UTC().Format("2006/01/02") }

// logsRoot is s3://BUCKET/PREFIX/AWSLogs/[o-ORGID/].
func (t Table) logsRoot() string {
	p := strings.Trim(t.Prefix, "/")
	if p != "" {
		p += "/"
	}
	root := "s3://" + t.Bucket + "/" + p + "AWSLogs/"
	if t.OrgID != "" {
		root += t.OrgID + "/"
	}
	return root
}

// DDL returns the CREATE EXTERNAL TABLE statement: AWS's documented
// CloudTrail table with partition projection (docs/replay.md, "Athena"),
// projected over the accounts, the regions and the days of the table, so
// Athena lists and reads only those folders.
func (t Table) DDL() string {
	var b strings.Builder
	layout := "an account's trail (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/)"
	if t.OrgID != "" {
		layout = "an organization trail (AWSLogs/" + t.OrgID + "/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/)"
	}
	fmt.Fprintf(&b, "-- The CloudTrail table of %s, with partition projection (docs/replay.md, \"Athena\").\n", layout)
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s (\n", t.Name)
	for i, c := range cloudTrailColumns {
		sep := ","
		if i == len(cloudTrailColumns)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %s %s%s\n", c.name(), c.hiveType(), sep)
	}
	b.WriteString(")\n")
	b.WriteString("PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)\n")
	b.WriteString("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n")
	b.WriteString("STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n")
	b.WriteString("OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n")
	fmt.Fprintf(&b, "LOCATION '%s'\n", t.logsRoot())
	to := "NOW"
	if !t.To.IsZero() {
		to = day(t.To)
	}
	props := [][2]string{
		{"projection.enabled", "true"},
		{"projection.account.type", "enum"},
		{"projection.account.values", strings.Join(t.Accounts, ",")},
		{"projection.region.type", "enum"},
		{"projection.region.values", strings.Join(t.Regions, ",")},
		{"projection.timestamp.type", "date"},
		{"projection.timestamp.format", "yyyy/MM/dd"},
		{"projection.timestamp.interval", "1"},
		{"projection.timestamp.interval.unit", "DAYS"},
		{"projection.timestamp.range", day(t.From) + "," + to},
		{"storage.location.template", t.logsRoot() + "${account}/CloudTrail/${region}/${timestamp}"},
	}
	b.WriteString("TBLPROPERTIES (\n")
	for i, p := range props {
		sep := ","
		if i == len(props)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  '%s'='%s'%s\n", p[0], p[1], sep)
	}
	b.WriteString(");\n")
	return b.String()
}

// daysSQL is the partition predicate of the queries: only the table's days
// are listed and read.
func (t Table) daysSQL() string {
	if t.To.IsZero() {
		return fmt.Sprintf(`"timestamp" >= '%s'`, day(t.From))
	}
	return fmt.Sprintf(`"timestamp" BETWEEN '%s' AND '%s'`, day(t.From), day(t.To))
}
