package replay

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/inflate"
)

// The labelled corpus and golden template of the detection tests (README.md,
// "Detection"; test/testdata/cloudtrail/README.md): the second benchmark
// corpus and the source of the equivalence tests, so that many record shapes
// go through the synthesized rules, not only the synthetic KMS record.
const (
	labelledCorpusPath = "../../test/testdata/cloudtrail/corpus.jsonl"
	goldenTemplatePath = "../../test/testdata/default.template.json"
	corpusMasterKeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// labelledRecords returns the corpus records with the default configuration's
// placeholders filled, as test/testdata/cloudtrail/README.md describes.
func labelledRecords(tb testing.TB) [][]byte {
	tb.Helper()
	vars := map[string]string{
		"STACK": "KmsGuard", "ALIAS": "alias/mariadb-encryption", "TRAIL": "mariadb-encryption-key",
		"LOG_GROUP": "/kmsguard/cloudtrail/mariadb-encryption-key", "ADMIN": "MDBEncAdmin", "SERVER_USER": "MDBEnc",
		"ADMIN_ARN":           "arn:aws:iam::111122223333:user/MDBEncAdmin",
		"SERVER_USER_ARN":     "arn:aws:iam::111122223333:user/MDBEnc",
		"STACK_ID":            "arn:aws:cloudformation:us-east-1:111122223333:stack/KmsGuard/11112222-3333-4444-5555-666677778888",
		"KEY_USER_ROLE":       "no-key-user-role",
		"DELIVERY_ROLE":       "KmsGuard-AuditTrailDeliveryRole-ABC",
		"DELIVERY_POLICY_ARN": "arn:aws:iam::111122223333:policy/KmsGuard-AuditTrailDeliveryPolicy-ABC",
	}
	data, err := os.ReadFile(labelledCorpusPath)
	if err != nil {
		tb.Fatal(err)
	}
	re := regexp.MustCompile(`\$\{([A-Z_]+)\}`)
	var out [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e struct {
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			tb.Fatal(err)
		}
		if len(e.Record) == 0 {
			continue // an EventBridge event KMS sends itself ("event"), not a CloudTrail record
		}
		rec := re.ReplaceAllFunc(e.Record, func(m []byte) []byte {
			v, ok := vars[string(m[2:len(m)-1])]
			if !ok {
				tb.Fatalf("unknown placeholder %s", m)
			}
			return []byte(v)
		})
		var compact bytes.Buffer
		if err := json.Compact(&compact, rec); err != nil {
			tb.Fatal(err)
		}
		out = append(out, compact.Bytes())
	}
	return out
}

// goldenRules loads the rules of the committed default template, every
// reference resolved with the corpus's fixed fake deploy-time values.
func goldenRules(tb testing.TB) Rules {
	tb.Helper()
	tpl, err := os.ReadFile(goldenTemplatePath)
	if err != nil {
		tb.Fatal(err)
	}
	var t struct {
		Resources map[string]struct {
			Type       string
			Metadata   map[string]any
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(tpl, &t); err != nil {
		tb.Fatal(err)
	}
	res, err := NewResolver(corpusMasterKeyArn)
	if err != nil {
		tb.Fatal(err)
	}
	keyArns := map[string]string{
		"audit-key":  "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321",
		"alerts-key": "arn:aws:kms:us-east-1:111122223333:key/5555eeee-66ff-7788-99aa-bbccddeeff00",
		// The second, independent alert destination.
		"security-alerts-key": "arn:aws:kms:us-east-1:111122223333:key/7777aaaa-88bb-99cc-00dd-eeff11223344",
	}
	trailBucket := ""
	for _, r := range t.Resources {
		if r.Type == "AWS::CloudTrail::Trail" {
			ref, _ := r.Properties["S3BucketName"].(map[string]any)
			trailBucket, _ = ref["Ref"].(string)
		}
	}
	for id, r := range t.Resources {
		switch r.Type {
		case "AWS::KMS::Key":
			role, _ := r.Metadata["kmsguard:role"].(string)
			if arn, ok := keyArns[role]; ok {
				res.Values[id+".Arn"] = arn
			}
		case "AWS::SQS::Queue": // one dead-letter queue per destination; the CDK keeps the construct id in the logical id
			res.Values[id] = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionUndeliveredAlerts-ABC"
			if strings.Contains(id, "Security") {
				res.Values[id] = "https://sqs.us-east-1.amazonaws.com/111122223333/KmsGuard-DetectionSecurityUndeliveredAlerts-DEF"
			}
		case "AWS::S3::Bucket":
			if id == trailBucket {
				res.Values[id] = "kmsguard-trailbucket-abc123"
			} else {
				res.Values[id] = "kmsguard-accesslogbucket-def456"
			}
		case "AWS::SNS::Topic":
			res.Values[id] = "arn:aws:sns:us-east-1:111122223333:KmsGuard-AlertingTopic-XYZ"
			if strings.Contains(id, "Security") {
				res.Values[id] = "arn:aws:sns:us-east-1:111122223333:KmsGuard-SecurityAlertingTopic-UVW"
			}
		case "AWS::Logs::LogGroup": // its name is generated at deploy time; the corpus's LOG_GROUP stands in
			res.Values[id] = "/kmsguard/cloudtrail/mariadb-encryption-key"
		case "AWS::IAM::User":
			name, _ := r.Properties["UserName"].(string)
			res.Values[id+".Arn"] = "arn:aws:iam::111122223333:user/" + name
		case "AWS::IAM::Role": // the trail's delivery role; every managed policy gets its policy's ARN (only that one is in a pattern)
			res.Values[id] = "KmsGuard-AuditTrailDeliveryRole-ABC"
		case "AWS::IAM::ManagedPolicy":
			res.Values[id] = "arn:aws:iam::111122223333:policy/KmsGuard-AuditTrailDeliveryPolicy-ABC"
		}
	}
	rules, warnings, err := LoadRules(tpl, res)
	if err != nil {
		tb.Fatal(err)
	}
	if len(warnings) > 0 {
		tb.Fatalf("golden template has unresolved references: %s", strings.Join(warnings, "; "))
	}
	return rules
}

// writeCorpusFile writes n records cycled from recs as gzipped CloudTrail log
// files of perFile records each, concatenated in one file.
func writeCorpusFile(tb testing.TB, path string, n int, rec func(i int) []byte) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	for start := 0; start < n; start += 1000 {
		zw, _ := stdgzip.NewWriterLevel(bw, stdgzip.BestSpeed)
		io.WriteString(zw, `{"Records":[`)
		for i := start; i < start+1000 && i < n; i++ {
			if i > start {
				io.WriteString(zw, ",")
			}
			zw.Write(rec(i))
		}
		io.WriteString(zw, "]}")
		zw.Close()
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// benchCorpus is one benchmark corpus: a directory of log files and the
// rules it is replayed through.
type benchCorpus struct {
	name  string
	dir   string
	files []string // in the order replay reads them
	n     int
	rules Rules
}

// benchFileRecords is how many records a benchmark log file holds; CloudTrail
// delivers a log file every few minutes per account and region, so a month of
// a trail is thousands of files of this order of size.
const benchFileRecords = 1000

func benchCorpora(tb testing.TB, n int) []benchCorpus {
	res, _ := NewResolver(keyARN)
	testRules, _ := loadTestRules(tb, res)
	recs := labelledRecords(tb)
	out := []benchCorpus{
		{name: "synthetic", n: n, rules: testRules},
		{name: "labelled", n: n, rules: goldenRules(tb)},
	}
	gen := []func(i int) []byte{
		func(i int) []byte { return []byte(benchRecord(i)) },
		func(i int) []byte { return recs[i%len(recs)] },
	}
	for k := range out {
		c := &out[k]
		c.dir = filepath.Join(tb.TempDir(), c.name)
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		for start := 0; start < n; start += benchFileRecords {
			path := filepath.Join(c.dir, fmt.Sprintf("111122223333_CloudTrail_us-east-1_%06d.json.gz", start/benchFileRecords))
			writeCorpusFile(tb, path, min(benchFileRecords, n-start), func(i int) []byte { return gen[k](start + i) })
			c.files = append(c.files, path)
		}
	}
	return out
}

// referenceDecode is the yardstick of docs/replay.md: the plain reading of
// the same files with the same gunzip as replay (inflate.Gunzip on the file
// read whole, as replay gunzips its inputs) and the standard library's
// encoding/json decoding each log file into maps. It returns the number of
// records.
func referenceDecode(files []string) (int, error) {
	n := 0
	var packed bytes.Buffer // kept from file to file, as replay keeps its read-ahead buffers
	var plain []byte
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return n, err
		}
		packed.Reset()
		_, err = packed.ReadFrom(f)
		f.Close()
		if err != nil {
			return n, err
		}
		if plain, err = inflate.Gunzip(plain[:0], packed.Bytes(), maxWholeGunzip); err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		dec := json.NewDecoder(bytes.NewReader(plain))
		for {
			var file map[string]any
			if err := dec.Decode(&file); err == io.EOF {
				break
			} else if err != nil {
				return n, err
			}
			recs, _ := file["Records"].([]any)
			n += len(recs)
		}
	}
	return n, nil
}
