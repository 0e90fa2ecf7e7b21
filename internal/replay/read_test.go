package replay

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

type readResult struct {
	names    []string
	lines    []int
	problems []string
}

func readAll(t *testing.T, input []byte) readResult {
	t.Helper()
	var res readResult
	err := ReadRecords("f.json", bytes.NewReader(input), func(rec ep.Value, line int) error {
		res.names = append(res.names, rec.Path("eventName").Str())
		res.lines = append(res.lines, line)
		return nil
	}, func(p Problem) { res.problems = append(res.problems, p.String()) })
	if err != nil {
		t.Fatalf("ReadRecords: %v", err)
	}
	return res
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadFormats(t *testing.T) {
	logFile := []byte(`{"Records":[{"eventName":"A"},` + "\n" + `{"eventName":"B"}]}`)
	pretty := []byte("{\n  \"Records\": [\n    {\n      \"eventName\": \"A\"\n    },\n    {\n      \"eventName\": \"B\"\n    }\n  ]\n}\n")
	lines := []byte(`{"eventName":"A"}` + "\n" + `{"Records":[{"eventName":"B"},{"eventName":"C"}]}` + "\n")
	notFirst := []byte(`{"digest":1,"Records":[{"eventName":"A"}]}`)
	array := []byte(`[{"eventName":"A"},{"eventName":"B"}]`)
	cases := []struct {
		name  string
		in    []byte
		names []string
		lines []int
	}{
		{"cloudtrail log file", logFile, []string{"A", "B"}, []int{1, 2}},
		{"gzipped log file", gz(logFile), []string{"A", "B"}, []int{1, 2}},
		{"pretty printed", pretty, []string{"A", "B"}, []int{3, 6}},
		{"json lines", lines, []string{"A", "B", "C"}, []int{1, 2, 2}},
		{"Records not first", notFirst, []string{"A"}, []int{1}},
		{"array", array, []string{"A", "B"}, []int{1, 1}},
		{"empty", nil, nil, nil},
	}
	for _, c := range cases {
		got := readAll(t, c.in)
		if !reflect.DeepEqual(got.names, c.names) || !reflect.DeepEqual(got.lines, c.lines) || len(got.problems) != 0 {
			t.Errorf("%s: names %v lines %v problems %q; want %v %v", c.name, got.names, got.lines, got.problems, c.names, c.lines)
		}
	}
}

func TestReadReportsMalformedInput(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		names    []string
		problems []string
	}{
		{"bad json line", "{\"eventName\":\"A\"}\n{\"eventName\": tru}\n{\"eventName\":\"C\"}\n",
			[]string{"A", "C"}, []string{"f.json:2: invalid JSON: invalid literal"}},
		{"truncated line", "{\"eventName\":\"A\"\n{\"eventName\":\"B\"}\n",
			[]string{"B"}, []string{"f.json:1: truncated JSON value"}},
		{"not an object", "42\n{\"eventName\":\"B\"}\n",
			[]string{"B"}, []string{"f.json:1: expected a JSON object (a CloudTrail record or {\"Records\":[...]}), got \"42\""}},
		{"bad record in log file", "{\"Records\":[\n{\"eventName\":\"A\"},\n{\"eventName\":\"B\",,},\n{\"eventName\":\"C\"}]}",
			[]string{"A", "C"}, []string{"f.json:3: invalid JSON: expected a string key"}},
		{"scalar record", `{"Records":[1,{"eventName":"B"}]}`,
			[]string{"B"}, []string{"f.json:1: record is not a JSON object: \"1\""}},
		{"truncated log file", `{"Records":[{"eventName":"A"},{"eventName":"B"`,
			[]string{"A"}, []string{"f.json:1: truncated record; rest of file skipped"}},
		{"garbage between records", `{"Records":[{"eventName":"A"} x {"eventName":"B"}]}`,
			[]string{"A"}, []string{"f.json:1: expected ',' between records, got 'x'; rest of file skipped"}},
	}
	for _, c := range cases {
		got := readAll(t, []byte(c.in))
		if !reflect.DeepEqual(got.names, c.names) || !reflect.DeepEqual(got.problems, c.problems) {
			t.Errorf("%s:\n names %v problems %q\n want %v %q", c.name, got.names, got.problems, c.names, c.problems)
		}
	}
}

func TestReplayEndToEnd(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "AWSLogs", "eu-west-1")
	os.MkdirAll(sub, 0o755)
	rec := func(name string, ro bool, arn, principal string) string {
		return fmt.Sprintf(`{"eventType":"AwsApiCall","eventSource":"kms.amazonaws.com","eventName":%q,"readOnly":%v,"eventTime":"2024-05-01T00:00:00Z","userIdentity":{"arn":%q},"resources":[{"ARN":%q}]}`, name, ro, principal, arn)
	}
	file1 := `{"Records":[` + rec("Decrypt", true, keyARN, "arn:u1") + "," + rec("Decrypt", true, keyARN, "arn:u2") + "," + rec("DisableKey", false, keyARN, "arn:admin") + `]}`
	os.WriteFile(filepath.Join(sub, "a.json.gz"), gz([]byte(file1)), 0o644)
	os.WriteFile(filepath.Join(sub, "b.jsonl"), []byte(rec("Decrypt", true, keyARN, "arn:u1")+"\nnot json\n"), 0o644)

	res, _ := NewResolver(keyARN)
	rules, _ := loadTestRules(t, res)
	var problems, show bytes.Buffer
	sum, err := Replay([]string{dir}, Options{Rules: rules, Top: 1, Show: &show}, &problems)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 4 || sum.Problems != 1 || sum.Files != 2 || sum.ReadOnly != 3 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(problems.String(), "b.jsonl:2: expected a JSON object") {
		t.Errorf("problems: %q", problems.String())
	}
	tiers := map[string]TierStats{}
	for _, ts := range sum.Tiers {
		tiers[ts.Tier] = ts
	}
	if ku := tiers["key-use"]; ku.Events != 3 || !reflect.DeepEqual(ku.Principals, []Count{{"arn:u1", 2}}) || !reflect.DeepEqual(ku.EventNames, []Count{{"Decrypt", 3}}) {
		t.Errorf("key-use = %+v", ku)
	}
	if kd := tiers["key-danger"]; kd.Events != 1 {
		t.Errorf("key-danger = %+v", kd)
	}
	if got := strings.Count(show.String(), "\n"); got != 4 {
		t.Errorf("show printed %d lines:\n%s", got, show.String())
	}
	if !strings.Contains(show.String(), "2024-05-01T00:00:00Z\tkey-danger\tDisableKey\tarn:admin\t-\t-") {
		t.Errorf("show line format: %q", show.String())
	}
	var text bytes.Buffer
	sum.WriteText(&text)
	if !strings.Contains(text.String(), "tier key-use: 3 events would alert") {
		t.Errorf("text:\n%s", text.String())
	}

	if _, err := Replay([]string{filepath.Join(dir, "missing")}, Options{Rules: rules}, &problems); err == nil {
		t.Error("missing input did not fail")
	}
}

func FuzzReadRecords(f *testing.F) {
	for _, s := range []string{
		`{"Records":[{"eventName":"A"},{"eventName":"B"}]}`,
		"{\"eventName\":\"A\"}\n{\"eventName\":",
		`[{"a":"\"}"}, 1, "x"]`,
		"{\"Records\":[{\"a\":\"b\n\"}]}",
		"\x1f\x8b\x08\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := ReadRecords("fuzz", bytes.NewReader(data), func(rec ep.Value, line int) error {
			if rec.Kind() != ep.Object || line < 1 {
				t.Fatalf("record kind %v line %d", rec.Kind(), line)
			}
			n++
			_ = Wrap(rec)
			return nil
		}, func(p Problem) {
			if p.File != "fuzz" || p.Line < 1 || p.Reason == "" {
				t.Fatalf("bad problem %+v", p)
			}
		})
		_ = err // gzip garbage is an I/O error, reported by the caller
	})
}
