package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeLabelledTree writes the labelled corpus, cycled to n records, as
// several gzipped log files with a broken record in one of them, and returns
// the directory.
func writeLabelledTree(t *testing.T, n int) string {
	t.Helper()
	recs := labelledRecords(t)
	dir := t.TempDir()
	for f := 0; f*1000 < n; f++ {
		var b bytes.Buffer
		b.WriteString(`{"Records":[`)
		for i := f * 1000; i < (f+1)*1000 && i < n; i++ {
			if i > f*1000 {
				b.WriteString(",\n")
			}
			if i == 1500 {
				b.WriteString(`{"eventName":` + "\n" + `]`) // broken: the rest of this file is skipped
				continue
			}
			b.Write(recs[i%len(recs)])
		}
		b.WriteString("]}")
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.json.gz", f)), gz(b.Bytes()), 0o644)
	}
	return dir
}

func replayText(t *testing.T, dir string, rules Rules, workers int) (summary, show, problems string) {
	t.Helper()
	var showB, probB bytes.Buffer
	sum, err := Replay([]string{dir}, Options{Rules: rules, Top: 5, Show: &showB, Workers: workers}, &probB)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(sum, "", " ")
	return string(js), showB.String(), probB.String()
}

func TestReplayOutputIsTheSameOnAnyNumberOfCores(t *testing.T) {
	rules := goldenRules(t)
	dir := writeLabelledTree(t, 5000)
	sum1, show1, prob1 := replayText(t, dir, rules, 1)
	if !strings.Contains(prob1, "f001.json.gz:") || strings.Count(show1, "\n") < 100 {
		t.Fatalf("corpus does not exercise problems and alerts:\n%s\n%s", prob1, sum1)
	}
	for _, w := range []int{2, 3, 8} {
		sum, show, prob := replayText(t, dir, rules, w)
		if sum != sum1 || show != show1 || prob != prob1 {
			t.Errorf("workers=%d: output differs from workers=1", w)
		}
	}
}

// TestReplayCountsWhatEachRecordRaises checks the concurrent replay against
// the record-at-a-time API (WrapRecord of an encoding/json map, Rules.Tiers):
// the same tier counts, per tier and per account and region.
func TestReplayCountsWhatEachRecordRaises(t *testing.T) {
	rules := goldenRules(t)
	recs := labelledRecords(t)
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	want := map[string]int{}
	wantPlaces := map[string]int{}
	for i := 0; i < 3*len(recs); i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.Write(recs[i%len(recs)])
		var m map[string]any
		json.Unmarshal(recs[i%len(recs)], &m)
		ev, err := WrapRecord(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, tier := range rules.Tiers(ev) {
			want[tier]++
			acct, _ := m["recipientAccountId"].(string)
			region, _ := m["awsRegion"].(string)
			wantPlaces[acct+"/"+region+"/"+tier]++
		}
	}
	b.WriteString("]}")
	path := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(path, b.Bytes(), 0o644)
	sum, err := Replay([]string{path}, Options{Rules: rules, Workers: 2}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ts := range sum.Tiers {
		if ts.Events > 0 {
			got[ts.Tier] = ts.Events
		}
	}
	gotPlaces := map[string]int{}
	for _, p := range sum.Places {
		for tier, n := range p.Tiers {
			gotPlaces[p.Account+"/"+p.Region+"/"+tier] = n
		}
	}
	if len(want) < 3 || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotPlaces, wantPlaces) {
		t.Errorf("tiers = %v, want %v\nplaces = %v, want %v", got, want, gotPlaces, wantPlaces)
	}
}

func TestDigestFilesAreSkippedAndCounted(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail", "eu-west-1", "2024", "05", "01")
	digests := filepath.Join(dir, "AWSLogs", "111122223333", "CloudTrail-Digest", "eu-west-1", "2024", "05", "01")
	os.MkdirAll(logs, 0o755)
	os.MkdirAll(digests, 0o755)
	os.WriteFile(filepath.Join(logs, "111122223333_CloudTrail_eu-west-1_20240501T0000Z_x.json.gz"), gz([]byte(`{"Records":[{"eventName":"A"}]}`)), 0o644)
	// A digest file is JSON too, with no records: read as a log it would be a problem.
	os.WriteFile(filepath.Join(digests, "111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20240501T000000Z.json.gz"), gz([]byte(`{"awsAccountId":"111122223333","logFiles":[]}`)), 0o644)
	res, _ := NewResolver(keyARN)
	rules, _ := loadTestRules(t, res)
	var probs bytes.Buffer
	sum, err := Replay([]string{dir}, Options{Rules: rules}, &probs)
	if err != nil || sum.Files != 1 || sum.DigestFiles != 1 || sum.Records != 1 || sum.Problems != 0 {
		t.Errorf("err %v, summary %+v, problems %q", err, sum, probs.String())
	}
}
