package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// sequentialSummary replays one input the simple way, with the frozen
// reader of oracle_test.go decoding every record in full, one record at a
// time through Wrap and Rules.Tiers, on the calling goroutine.
func sequentialSummary(data []byte, rules Rules) (records, problems int, tiers map[string]int, show []string) {
	tiers = map[string]int{}
	err := oracleReadRecords("in", bytes.NewReader(data), func(rec ep.Value, _ int) error {
		records++
		got := rules.Tiers(oracleWrap(rec))
		for _, t := range got {
			tiers[t]++
		}
		if len(got) > 0 {
			show = append(show, ShowLine(rec, got))
		}
		return nil
	}, func(Problem) { problems++ })
	if err != nil { // the input itself failed (gzip): one problem, as Replay counts it
		problems++
	}
	return
}

// FuzzConcurrentReplayMatchesSequential feeds arbitrary input to the
// concurrent replay (four files, each decoded on one of three workers, each
// long enough for several batches, merged in order) and to the sequential
// reader: records, problems, tier counts and --show lines must be identical.
func FuzzConcurrentReplayMatchesSequential(f *testing.F) {
	for _, r := range labelledRecords(f)[:20] {
		f.Add([]byte(`{"Records":[` + string(r) + `,` + string(r) + `]}`))
		f.Add(append(append([]byte{}, r...), '\n'))
	}
	f.Add([]byte(`{"Records":[{"eventName":"A"},{bad`))
	f.Add([]byte("{\"eventName\":\"A\"}\n{\"x\":\n{\"eventName\":\"B\"}\n"))
	rules := goldenRules(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		var paths []string
		var records, problems int
		tiers := map[string]int{}
		var show []string
		for i := range 4 {
			// Many copies, so that a file spans several batches.
			var in bytes.Buffer
			for n := 0; (n <= 2*batchRecords || in.Len() < 64<<10) && in.Len() < 512<<10; n++ {
				in.Write(data)
				in.WriteByte('\n')
			}
			r, p, ts, sh := sequentialSummary(in.Bytes(), rules)
			records, problems, show = records+r, problems+p, append(show, sh...)
			for k, v := range ts {
				tiers[k] += v
			}
			path := filepath.Join(dir, fmt.Sprintf("in%d.json", i))
			os.WriteFile(path, in.Bytes(), 0o644)
			paths = append(paths, path)
		}
		var showB bytes.Buffer
		sum, _ := Replay(paths, Options{Rules: rules, Show: &showB, Workers: 3}, &bytes.Buffer{})
		got := map[string]int{}
		for _, ts := range sum.Tiers {
			if ts.Events > 0 {
				got[ts.Tier] = ts.Events
			}
		}
		var gotShow []string
		for _, l := range bytes.Split(bytes.TrimSuffix(showB.Bytes(), []byte("\n")), []byte("\n")) {
			if len(l) > 0 {
				gotShow = append(gotShow, string(l))
			}
		}
		if sum.Records != records || sum.Problems != problems || !reflect.DeepEqual(got, tiers) || !reflect.DeepEqual(gotShow, show) {
			js, _ := json.Marshal(sum)
			t.Fatalf("concurrent %d records %d problems %v; sequential %d records %d problems %v\n%s", sum.Records, sum.Problems, got, records, problems, tiers, js)
		}
	})
}
