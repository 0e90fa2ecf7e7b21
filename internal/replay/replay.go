package replay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Options controls a replay.
type Options struct {
	Rules Rules
	Top   int       // length of the top-N lists
	Show  io.Writer // if set, one line per alerting event
	Stdin io.Reader // read for the path "-"
}

// ErrNoInput means not one input could be read.
var ErrNoInput = errors.New("no input could be read")

// Replay reads every path (files, directories, "-"), applies the rules to
// each record and returns the per-tier summary. Problems with the input
// are written to problems as "file:line: reason" and skipped. The error
// is ErrNoInput (wrapped) when nothing could be read.
func Replay(paths []string, opt Options, problems io.Writer) (*Summary, error) {
	files, err := ExpandPaths(paths)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoInput, err)
	}
	sum := newStats(opt.Rules)
	report := func(p Problem) {
		sum.Problems++
		fmt.Fprintln(problems, p.String())
	}
	eng := engine{rules: opt.Rules, sum: sum, show: opt.Show}
	read := 0
	for _, f := range files {
		var r io.Reader
		name := f
		if f == "-" {
			name, r = "<stdin>", opt.Stdin
			if r == nil {
				r = os.Stdin
			}
		} else {
			fh, err := os.Open(f)
			if err != nil {
				report(Problem{File: f, Reason: err.Error()})
				continue
			}
			r = fh
		}
		before := sum.Records
		err := ReadRecords(name, r, eng.record, report)
		if c, ok := r.(io.Closer); ok && f != "-" {
			c.Close()
		}
		if err != nil {
			report(Problem{File: name, Reason: err.Error()})
			if sum.Records == before {
				continue
			}
		}
		read++
	}
	sum.Files = read
	if read == 0 {
		return sum, fmt.Errorf("%w (%d problems)", ErrNoInput, sum.Problems)
	}
	sum.finish(opt.Top)
	return sum, nil
}

// engine applies the rules to records one at a time.
type engine struct {
	rules Rules
	sum   *Summary
	show  io.Writer
	tiers []string // reused per record
}

func (e *engine) record(rec ep.Value, _ int) error {
	e.sum.Records++
	ev := Wrap(rec)
	if !ev.Delivered {
		e.sum.NotDelivered++
		return nil
	}
	if ev.ReadOnly {
		e.sum.ReadOnly++
	}
	e.tiers = e.tiers[:0]
	hidden := false
	for i := range e.rules {
		r := &e.rules[i]
		if r.State == Disabled || !r.Pattern.Match(ev.Value) {
			continue
		}
		rs := &e.sum.Rules[i]
		if !r.Receives(ev) {
			rs.HiddenReadOnly++
			hidden = true
			continue
		}
		rs.Matched++
		if !slices.Contains(e.tiers, r.Tier) {
			e.tiers = append(e.tiers, r.Tier)
		}
	}
	sort.Strings(e.tiers)
	if hidden && len(e.tiers) == 0 {
		e.sum.HiddenReadOnly++
	}
	for _, t := range e.tiers {
		e.sum.tier(t).add(rec)
	}
	if e.show != nil && len(e.tiers) > 0 {
		fmt.Fprintln(e.show, ShowLine(rec, e.tiers))
	}
	return nil
}

// ShowLine formats one alerting event: time, tiers, eventName, principal,
// source IP and errorCode ("-" when absent), tab-separated.
func ShowLine(rec ep.Value, tiers []string) string {
	f := func(k string) string {
		if s := rec.Path(k).Str(); s != "" {
			return s
		}
		return "-"
	}
	return strings.Join([]string{f("eventTime"), strings.Join(tiers, ","), f("eventName"), Principal(rec), f("sourceIPAddress"), f("errorCode")}, "\t")
}
