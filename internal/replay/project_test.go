package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// oddPatterns reach where kmsguard's own rules do not: deep paths, arrays
// of objects, exists on nested and wrapper fields, numbers, null and
// booleans, CIDR, case folding, wildcards, an $or at the top, a leaf test
// on "detail" itself, and keys that need escaping. Together with the test
// template's and the golden template's rules they are the rule sets the
// projecting scanner is checked against the full decoder with.
var oddPatterns = []string{
	`{"source":["aws.kms"],"detail":{"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":["true"]}}}}}`,
	`{"detail":{"requestParameters":{"encryptionContext":{"purpose":[{"prefix":"maria"}]}},"readOnly":[false]}}`,
	`{"detail":{"resources":{"type":[{"equals-ignore-case":"aws::kms::key"}],"ARN":[{"exists":true}]}}}`,
	`{"detail":{"sourceIPAddress":[{"cidr":"203.0.113.0/24"}],"responseElements":[null]}}`,
	`{"detail":{"requestParameters":{"numberOfBytes":[{"numeric":[">",16,"<=",1024]}],"keySpec":[{"exists":false}]}}}`,
	`{"$or":[{"detail":{"errorCode":[{"exists":true}]}},{"detail-type":["AWS Service Event via CloudTrail"]}]}`,
	`{"detail":{"additionalEventData":[{"exists":false}],"eventName":[{"anything-but":{"prefix":"Get"}}]}}`,
	`{"account":["111122223333"],"region":[{"suffix":"-1"}],"detail":{"userIdentity":{"type":[{"wildcard":"*User"}]}}}`,
	`{"detail":{"tlsDetails":{"tlsVersion":["TLSv1.3"]},"eventCategory":[{"anything-but":["Data"]}]}}`,
	`{"detail":{"userIdentity":["x",{"exists":false}],"requestParameters":{"keyId":[{"exists":false}]}}}`,
	`{"detail":[{"exists":false}],"source":[{"prefix":"aws."}]}`,
	`{"detail":{"Records":[{"exists":true}],"eventVersion":[1.08,"1.08"]}}`,
	`{"version":["0"],"id":[{"prefix":"a"}],"time":[{"prefix":"2024"}],"resources":[{"exists":false}]}`,
	`{"detail":{"ünïcode":["é"],"a\"b":["x\\y"],"eventSource":[{"equals-ignore-case":"KMS.amazonaws.com"}]}}`,
	`{"detail":{"eventSource":["kms.amazonaws.com"],"eventName":["Decrypt","GenerateDataKey"],"errorCode":[{"exists":true}]}}`,
	`{"detail":{"eventSource":["kms.amazonaws.com","sts.amazonaws.com"],"errorCode":[{"anything-but":"AccessDenied"}],"readOnly":[true,"true"]}}`,
	`{"detail":{"requestParameters":{"a":{"b":{"c":{"d":[{"exists":true}]}}}}}}`,
	`{"detail":{"requestParameters":[{"exists":true}],"recipientAccountId":[{"numeric":["=",111122223333]}]}}`,
}

func oddRules(tb testing.TB) Rules {
	tb.Helper()
	var rules Rules
	for i, src := range oddPatterns {
		p, err := ep.Compile([]byte(src))
		if err != nil {
			tb.Fatalf("odd pattern %d: %v", i, err)
		}
		rules = append(rules, Rule{LogicalID: fmt.Sprintf("Odd%d", i), Tier: fmt.Sprintf("odd%d", i%3), State: EnabledWithAllMgmtEvent, Pattern: p, PatternJSON: []byte(src)})
	}
	return rules
}

// decoded is what the replay takes from one record: everything the summary,
// the --show lines and the rules' verdicts are made of.
type decoded struct {
	Line                  int
	Account, Region, Name string
	Principal, Show       string
	Delivered, ReadOnly   bool
	Matches               []bool // per rule: the pattern matches
}

type decodedInput struct {
	Records  []decoded
	Problems []string
	Err      string
}

// oracleDecode reads data with the frozen reader (every record decoded in
// full) and matches each record as the replay used to.
func oracleDecode(data []byte, rules Rules) decodedInput {
	var out decodedInput
	err := oracleReadRecords("in", bytes.NewReader(data), func(rec ep.Value, line int) error {
		ev := oracleWrap(rec)
		d := decoded{Line: line, Account: rec.Path("recipientAccountId").Str(), Region: rec.Path("awsRegion").Str(),
			Name: rec.Path("eventName").Str(), Principal: Principal(rec), Show: ShowLine(rec, []string{"t"}),
			Delivered: ev.Delivered, ReadOnly: ev.ReadOnly}
		for i := range rules {
			d.Matches = append(d.Matches, rules[i].Pattern.Match(ev.Value))
		}
		out.Records = append(out.Records, d)
		return nil
	}, func(p Problem) { out.Problems = append(out.Problems, p.String()) })
	if err != nil {
		out.Err = err.Error()
	}
	return out
}

// testWorkers keeps one worker per engine, as the replay keeps its workers
// (and their buffers, arena and scratch space) from one input to the next.
var testWorkers sync.Map // *engine -> *worker

// projectedDecode reads data as the replay's workers do: the projecting
// scanner where it can, the full decoder elsewhere, the fixed fields, the
// envelope and the rule prefilter.
func projectedDecode(data []byte, eng *engine) decodedInput {
	return projectedDecodeFrom(bytes.NewReader(data), eng)
}

// projectedDecodeFrom is projectedDecode of an input given as a reader: a
// *bytes.Reader is an input read whole (gunzipped in one call when gzipped),
// any other reader is streamed.
func projectedDecodeFrom(r io.Reader, eng *engine) decodedInput {
	var out decodedInput
	wv, _ := testWorkers.LoadOrStore(eng, newWorker(eng, true))
	w := wv.(*worker)
	err := readProjected("in", r, &w.readers, w.proj, &w.dec, func(rec ep.Value, f *recordFields, line int) error {
		ev := wrapFields(rec, f, w.vals[:], w.source(f[fEventSource].Str()))
		// The record's strings are views of the input: what is kept is cloned.
		d := decoded{Line: line, Account: strings.Clone(f[fRecipientAccountID].Str()), Region: strings.Clone(f[fAwsRegion].Str()),
			Name: strings.Clone(f[fEventName].Str()), Principal: strings.Clone(Principal(rec)), Show: ShowLine(rec, []string{"t"}),
			Delivered: ev.Delivered, ReadOnly: ev.ReadOnly}
		w.cand = eng.filter.candidates(&ev.Value, w.vals[:], f, w.cand, w.filter)
		for i := range eng.rules {
			d.Matches = append(d.Matches, w.cand[i>>6]&(1<<(i&63)) != 0 && eng.patterns[i].MatchRef(&ev.Value))
		}
		out.Records = append(out.Records, d)
		return nil
	}, func(p Problem) { out.Problems = append(out.Problems, p.String()) })
	if err != nil {
		out.Err = err.Error()
	}
	return out
}

// oddShapes turns a CloudTrail record into variants a decoder can trip on:
// arrays where objects are expected and the reverse, nulls, unicode escapes
// in keys and values, duplicate keys, deep nesting, whitespace and
// newlines, and invalid JSON of every kind the full decoder reports.
func oddShapes(rec []byte) [][]byte {
	s := string(rec)
	deep := func(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }
	var pretty bytes.Buffer
	json.Indent(&pretty, rec, "", "  ")
	return [][]byte{
		// userIdentity an array of objects (the record's next key is eventTime).
		[]byte(strings.Replace(strings.Replace(s, `"userIdentity":{`, `"userIdentity":[{"x":1},{`, 1), `,"eventTime"`, `],"eventTime"`, 1)),
		[]byte(strings.Replace(s, `"resources":[`, `"resources":[[`, 1)),
		[]byte(strings.Replace(s, `"requestParameters":`, `"requestParameters":null,"requestParameters2":`, 1)),
		[]byte(strings.Replace(s, `"eventSource":`, `"errorCode":null,"eventSource":`, 1)),
		[]byte(strings.Replace(s, `"eventSource":`, `"errorCode":{},"eventSource":`, 1)),
		[]byte(strings.Replace(s, `"eventSource":`, `"errorCode":["AccessDenied"],"eventSource":`, 1)),
		[]byte(strings.Replace(s, `"eventName":"`, `"eventName":"\u0044\u00e9\ud83d\ude00\ud800x`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"event\u004eame":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"eventName":"Decrypt","eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"eventName":{"x":"y"},"eventSource":["kms.amazonaws.com"],"eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventSource":"`, `"eventSource":1,"x":"`, 1)),
		[]byte(strings.Replace(s, `"readOnly":`, `"readOnly":"true","r":`, 1)),
		[]byte(strings.Replace(s, `"requestParameters":`, `"requestParameters":`+deep(300)+`,"deep":`+deep(520)+`,"p":`, 1)),
		[]byte(strings.Replace(s, `"requestParameters":`, `"requestParameters":{"a":{"b":{"c":{"d":`+deep(499)+`}}}},"p":`, 1)),
		pretty.Bytes(),
		[]byte(strings.Replace(s, `":"`, "\":\n\"", -1)),
		[]byte(strings.Replace(s, `"eventName":"`, `"eventName":"\x`, 1)),
		[]byte(strings.Replace(s, `"eventName":"`, "\"eventName\":\"\x01", 1)),
		[]byte(strings.Replace(s, `"eventName":"`, `"eventName":"\u12G4`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"n":01,"eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"n":-,"eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"n":1.e5,"m":-0.5E+3,"eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"n":tru,"eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"n":[1,],"eventName":`, 1)),
		[]byte(strings.Replace(s, `"eventName":`, `"Records":[{"eventName":"X"}],"eventName":`, 1)),
		[]byte(s[:len(s)/2]),
		[]byte(s + "}"),
	}
}

// projectionSeeds are labelled and synthetic records, alone and in log
// files, in JSON lines, gzipped, and in every odd shape of oddShapes.
func projectionSeeds(tb testing.TB) [][]byte {
	recs := labelledRecords(tb)
	base := [][]byte{[]byte(benchRecord(3)), []byte(benchRecord(4))}
	for i, r := range recs {
		if i%4 == 0 {
			base = append(base, r)
		}
	}
	var out [][]byte
	for _, r := range base[:3] {
		for _, odd := range oddShapes(r) {
			out = append(out, []byte(`{"Records":[`+string(odd)+`,`+string(r)+`]}`))
			out = append(out, append(append(append([]byte{}, odd...), '\n'), r...))
		}
	}
	for _, r := range base {
		out = append(out, []byte(`{"Records":[`+string(r)+"]}"))
		out = append(out, gz(append(append([]byte{}, r...), '\n')))
	}
	// A log file in odd shapes, gzipped: read through the window over the
	// whole gunzipped input, not a bufio.Reader.
	for _, odd := range oddShapes(base[0])[:6] {
		out = append(out, gz([]byte(`{"Records":[`+string(odd)+`,`+string(base[0])+`]}`)))
	}
	return append(out,
		[]byte(`[{"eventName":"A"},{"eventName":"B"}]`),
		[]byte("{\"eventName\":\"A\",\n{\"eventName\":\"B\"}\n"),
		[]byte(`{"x":1,"Records":[{"eventName":"A"}]}`))
}

// projectionEngines are the engines of the three rule sets the scanner is
// checked with: the golden template's, the test template's and oddRules.
func projectionEngines(tb testing.TB) []*engine {
	res, _ := NewResolver(keyARN)
	testRules, _ := loadTestRules(tb, res)
	var engines []*engine
	for _, rules := range []Rules{goldenRules(tb), testRules, oddRules(tb)} {
		eng, err := newEngine(rules)
		if err != nil || eng.proj == nil {
			tb.Fatalf("engine: %v (projection %v)", err, eng != nil && eng.proj != nil)
		}
		engines = append(engines, eng)
	}
	return engines
}

// FuzzProjectedDecoderMatchesFullDecoder feeds arbitrary input (seeded with
// CloudTrail records in odd shapes and invalid JSON) to the replay's reader
// and to the frozen full decoder of oracle_test.go, through three rule
// sets: every record's line, place, event name, principal, --show line,
// envelope flags and per-rule verdict, every problem and the input's error
// must be the same.
func FuzzProjectedDecoderMatchesFullDecoder(f *testing.F) {
	for _, s := range projectionSeeds(f) {
		f.Add(s)
	}
	engines := projectionEngines(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, eng := range engines {
			want := oracleDecode(data, eng.rules)
			got := projectedDecode(data, eng)
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Fatalf("projected decoding differs from the full decoder\ngot  %s\nwant %s", gj, wj)
			}
		}
	})
}

// TestProjectionCheckCatchesPlantedFaults is the control of the fuzz target
// above: on its seeds, a projection that leaves out a field a rule reads, a
// prefilter that rules out a rule it should keep, and fixed fields taken from
// the wrong members must each be told apart from the full decoder.
func TestProjectionCheckCatchesPlantedFaults(t *testing.T) {
	seeds := projectionSeeds(t)
	engines := projectionEngines(t)
	want := make([][]decodedInput, len(engines))
	for k, eng := range engines {
		for _, s := range seeds {
			want[k] = append(want[k], oracleDecode(s, eng.rules))
		}
	}
	differs := func(k int, eng *engine) bool {
		for i, s := range seeds {
			if !reflect.DeepEqual(projectedDecode(s, eng), want[k][i]) {
				return true
			}
		}
		return false
	}
	for k, eng := range engines {
		if differs(k, eng) {
			t.Fatalf("rule set %d differs before any fault is planted", k)
		}
	}

	// A projection without "resources": the rules on resources.ARN go blind.
	eng := projectionEngines(t)[0]
	eng.proj.keys[indexOf(eng.proj.keys, "resources")] = "resourcez"
	if !eng.proj.index() || !differs(0, eng) {
		t.Error("a projection missing a field the rules read went unnoticed")
	}

	// A prefilter that rules out the rules accepting eventName DisableKey.
	eng = projectionEngines(t)[0]
	for k := range eng.filter.paths {
		if p := &eng.filter.paths[k]; strings.Join(p.keys, ".") == "detail.eventName" {
			// Accepted by none; a worker would remember the old entry.
			p.by.Set("DisableKey", &accept{key: "DisableKey", rules: make([]uint64, len(p.oneOf))})
			testWorkers.Delete(eng)
		}
	}
	if !differs(0, eng) {
		t.Error("a prefilter ruling out a rule that matches went unnoticed")
	}

	// The rules bound to a layout that lacks eventName: found by index, it
	// would read as absent in every projected record.
	eng = projectionEngines(t)[0]
	i := indexOf(eng.proj.keys, "eventName")
	eng.proj.keys[i] = "missing"
	eng.bind()
	eng.proj.keys[i] = "eventName"
	if !differs(0, eng) {
		t.Error("rules finding a member by a wrong layout index went unnoticed")
	}

	// The prefilter alone bound to a layout that lacks requestParameters:
	// the rules on requestParameters.bucketName would be ruled out.
	eng = projectionEngines(t)[0]
	i = indexOf(eng.proj.keys, "requestParameters")
	eng.proj.keys[i] = "missing"
	eng.filter.bind(eng.proj.layout)
	eng.proj.keys[i] = "requestParameters"
	testWorkers.Delete(eng)
	if !differs(0, eng) {
		t.Error("a prefilter finding a member by a wrong layout index went unnoticed")
	}

	// The fixed fields eventName and eventSource taken from each other's member.
	eng = projectionEngines(t)[0]
	eng.proj.fixedAt[fEventName], eng.proj.fixedAt[fEventSource] = eng.proj.fixedAt[fEventSource], eng.proj.fixedAt[fEventName]
	if !eng.proj.index() || !differs(0, eng) {
		t.Error("fixed fields from the wrong members went unnoticed")
	}
}

// An input gunzipped whole is read in place (window) rather than through a
// bufio.Reader, with the same 256 KiB window: records, lines, verdicts and
// problems are those of the same input streamed, for inputs far longer than
// the window, a record longer than it (captured and decoded in full either
// way), a record cut by the end, and damage that leaves the file to the
// streaming reader. Control: a change deep in the record longer than the
// window is seen by the comparison.
// A window over whole bytes answers a negative count as the bufio.Reader it stands in for does, instead
// of panicking.
func TestTheWindowAnswersNegativeCountsAsBufioDoes(t *testing.T) {
	data := []byte("some records")
	whole := &window{whole: data}
	buffered := &window{br: bufio.NewReaderSize(bytes.NewReader(data), readBuffer)}
	for _, w := range []*window{whole, buffered} {
		if b, err := w.Peek(-1); b != nil || !errors.Is(err, bufio.ErrNegativeCount) {
			t.Errorf("Peek(-1) = %q, %v; want bufio.ErrNegativeCount", b, err)
		}
		w.Discard(-1)
		if b, err := w.Peek(len(data)); err != nil || !bytes.Equal(b, data) {
			t.Errorf("Discard(-1) must drop nothing; then Peek gives %q, %v", b, err)
		}
	}
}

func TestAnInputGunzippedWholeReadsAsStreamed(t *testing.T) {
	eng := projectionEngines(t)[0]
	recs := labelledRecords(t)
	var long bytes.Buffer
	long.WriteString(`{"Records":[`)
	for i := range 2000 {
		if i > 0 {
			long.WriteString(",\n")
		}
		long.Write(recs[i%len(recs)])
	}
	long.WriteString("]}")
	big := strings.Replace(string(recs[0]), `"eventName":`, `"padding":"`+strings.Repeat("x", 300<<10)+`","eventName":`, 1)
	withBig := `{"Records":[` + string(recs[1]) + ",\n" + big + ",\n" + string(recs[2]) + "]}"
	lines := strings.Join([]string{string(recs[3]), big, string(recs[4])}, "\n")
	cut := gz(long.Bytes())
	inputs := map[string][]byte{
		"a long log file":                 gz(long.Bytes()),
		"a record longer than the window": gz([]byte(withBig)),
		"JSON lines with a long record":   gz([]byte(lines)),
		"a log file cut mid-record":       gz(long.Bytes()[:long.Len()/2]),
		"truncated gzip (streamed)":       cut[:len(cut)-50],
		"two members":                     append(gz([]byte(withBig[:len(withBig)/2])), gz([]byte(withBig[len(withBig)/2:]))...),
	}
	for name, in := range inputs {
		whole := projectedDecodeFrom(bytes.NewReader(in), eng)
		streamed := projectedDecodeFrom(struct{ io.Reader }{bytes.NewReader(in)}, eng)
		if !reflect.DeepEqual(whole, streamed) {
			gj, _ := json.Marshal(whole)
			wj, _ := json.Marshal(streamed)
			t.Errorf("%s: read whole\n%.2000s\nstreamed\n%.2000s", name, gj, wj)
		}
		if name != "truncated gzip (streamed)" && len(whole.Records) == 0 {
			t.Errorf("%s: no records", name)
		}
	}
	changed := strings.Replace(withBig, `"eventName":"`, `"eventName":"X`, 2)
	if reflect.DeepEqual(projectedDecodeFrom(bytes.NewReader(gz([]byte(changed))), eng), projectedDecodeFrom(struct{ io.Reader }{bytes.NewReader(gz([]byte(withBig)))}, eng)) {
		t.Error("control: an event name changed in and after the long record is not seen")
	}
}
