package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// sequentialSummary replays inputs the simple way, on the calling goroutine:
// the frozen reader of oracle_test.go decoding every record in full, each
// record through oracleWrap and every rule, and the summary built record by
// record, with its --show lines.
func sequentialSummary(inputs [][]byte, rules Rules, top int) (*Summary, []string) {
	sum := newStats(rules)
	var show []string
	for _, data := range inputs {
		records := 0
		err := oracleReadRecords("in", bytes.NewReader(data), func(rec ep.Value, _ int) error {
			records++
			sum.Records++
			acct, region := rec.Path("recipientAccountId").Str(), rec.Path("awsRegion").Str()
			ps := sum.places[place{acct, region}]
			if ps == nil {
				ps = &PlaceStats{Account: acct, Region: region}
				sum.places[place{acct, region}] = ps
			}
			ps.Records++
			ev := oracleWrap(rec)
			if !ev.Delivered {
				sum.NotDelivered++
				return nil
			}
			if ev.ReadOnly {
				sum.ReadOnly++
			}
			var tiers []string
			hidden := false
			for i := range rules {
				r := &rules[i]
				switch {
				case r.State == Disabled || !r.Pattern.Match(ev.Value):
				case !r.Receives(ev):
					sum.Rules[i].HiddenReadOnly++
					hidden = true
				default:
					sum.Rules[i].Matched++
					if !slices.Contains(tiers, r.Tier) {
						tiers = append(tiers, r.Tier)
					}
				}
			}
			if len(tiers) == 0 {
				if hidden {
					sum.HiddenReadOnly++
				}
				return nil
			}
			slices.Sort(tiers)
			ps.Alerting++
			for _, name := range tiers {
				t := sum.tier(name)
				t.Events++
				bump(t.names, rec.Path("eventName").Str())
				bump(t.principals, Principal(rec))
				if ps.Tiers == nil {
					ps.Tiers = map[string]int{}
				}
				ps.Tiers[name]++
			}
			show = append(show, ShowLine(rec, tiers))
			return nil
		}, func(Problem) { sum.Problems++ })
		if err != nil { // the input itself failed (gzip): one problem, as Replay counts it
			sum.Problems++
		}
		if err == nil || records > 0 {
			sum.Files++
		}
	}
	sum.finish(top)
	return sum, show
}

// FuzzConcurrentReplayMatchesSequential feeds arbitrary input to the
// concurrent replay (four files, each decoded on one of three workers, each
// long enough for several batches and for the read buffer to be refilled,
// merged in order) and to sequentialSummary: the whole summary (counts per
// tier, rule, account and region, the top event names and principals) and
// the --show lines must be identical.
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
		var inputs [][]byte
		for i := range 4 {
			// Many copies, so that a file spans several batches and buffers.
			var in bytes.Buffer
			for n := 0; (n <= 2*batchRecords || in.Len() < 2*readBuffer) && in.Len() < 4*readBuffer; n++ {
				in.Write(data)
				fmt.Fprintf(&in, "\n{\"eventName\":\"Copy%d\",\"userIdentity\":{\"arn\":\"p%d\"},\"awsRegion\":\"r%d\"}\n", n%7, n%5, i)
			}
			inputs = append(inputs, in.Bytes())
			path := filepath.Join(dir, fmt.Sprintf("in%d.json", i))
			os.WriteFile(path, in.Bytes(), 0o644)
			paths = append(paths, path)
		}
		want, wantShow := sequentialSummary(inputs, rules, 5)
		var showB bytes.Buffer
		sum, _ := Replay(paths, Options{Rules: rules, Show: &showB, Workers: 3, Top: 5}, &bytes.Buffer{})
		var show []string
		for _, l := range bytes.Split(bytes.TrimSuffix(showB.Bytes(), []byte("\n")), []byte("\n")) {
			if len(l) > 0 {
				show = append(show, string(l))
			}
		}
		got, _ := json.Marshal(sum)
		js, _ := json.Marshal(want)
		if !bytes.Equal(got, js) || !slices.Equal(show, wantShow) {
			t.Fatalf("concurrent replay differs from the sequential one\ngot  %s\nwant %s\nshow %d lines, want %d", got, js, len(show), len(wantShow))
		}
	})
}
