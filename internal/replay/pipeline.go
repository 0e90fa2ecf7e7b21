package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Input is one log file to read: a local file, stdin or an S3 object.
type Input struct {
	Name   string // path or s3://bucket/key, for messages
	Size   int64  // bytes as stored, when known (for progress)
	Digest bool   // a CloudTrail digest file: counted, never read
	Open   func(ctx context.Context) (io.ReadCloser, error)
}

// Source yields the inputs of a replay, in the order their results are
// reported. Inputs returns the first error of yield, or its own.
type Source interface {
	Inputs(ctx context.Context, yield func(Input) error) error
}

// Counters are running totals for a progress display; they may be read
// while the replay runs.
type Counters struct {
	ListedFiles, ListedBytes atomic.Int64 // inputs found so far (digest files excluded)
	Files, Bytes, Records    atomic.Int64 // inputs finished, bytes read as stored, records replayed
	ListingDone              atomic.Bool
}

// Batch sizes: large enough that handing a batch between goroutines costs
// little per record, small enough to keep every core busy on one file.
const (
	batchBytes   = 256 << 10
	batchRecords = 256
)

// ReplaySource replays every input of src: inputs are read concurrently
// (opt.Readers at a time), their records decoded and matched on opt.Workers
// cores, and the results merged in input order, so the summary, --show
// lines and problem list are the same whatever the concurrency. When ctx is
// cancelled the summary so far is returned with Interrupted set.
func ReplaySource(ctx context.Context, src Source, opt Options, problems io.Writer) (*Summary, error) {
	eng, err := newEngine(opt.Rules)
	if err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	readers := opt.Readers
	if readers <= 0 {
		readers = workers
	}
	counters := opt.Counters
	if counters == nil {
		counters = &Counters{}
	}
	sum := newStats(opt.Rules)
	report := func(p Problem) {
		sum.Problems++
		fmt.Fprintln(problems, p.String())
	}

	jobs := make(chan *batch, 2*workers)
	var wwg sync.WaitGroup
	for range workers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			w := worker{eng: eng}
			for b := range jobs {
				w.process(b, opt.Show != nil)
				close(b.done)
			}
		}()
	}

	files := make(chan *fileTask, readers)
	var listErr error
	go func() {
		sem := make(chan struct{}, readers)
		var rwg sync.WaitGroup
		listErr = src.Inputs(ctx, func(in Input) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			ft := &fileTask{in: in, batches: make(chan *batch, 8)}
			if in.Digest {
				close(ft.batches)
				files <- ft
				return nil
			}
			counters.ListedFiles.Add(1)
			counters.ListedBytes.Add(in.Size)
			sem <- struct{}{}
			files <- ft
			rwg.Add(1)
			go func() {
				defer func() { <-sem; rwg.Done() }()
				ft.read(ctx, jobs, counters)
			}()
			return nil
		})
		counters.ListingDone.Store(true)
		close(files)
		rwg.Wait()
		close(jobs)
	}()

	read := 0
	for ft := range files {
		if ft.in.Digest {
			sum.DigestFiles++
			continue
		}
		before := sum.Records
		for b := range ft.batches {
			<-b.done
			sum.merge(&b.res, opt.Show, report)
			counters.Records.Add(int64(b.res.records))
			b.release()
		}
		counters.Files.Add(1)
		if ft.err != nil {
			report(Problem{File: ft.in.Name, Reason: ft.err.Error()})
			if sum.Records == before {
				continue
			}
		}
		read++
	}
	wwg.Wait()
	sum.Files = read
	if ctx.Err() != nil {
		sum.Interrupted = true
		listErr = nil
	}
	if listErr != nil {
		if read == 0 {
			return sum, fmt.Errorf("%w: %w", ErrNoInput, listErr)
		}
		report(Problem{Reason: listErr.Error()})
	}
	if read == 0 && !sum.Interrupted {
		return sum, fmt.Errorf("%w (%d problems, %d digest files skipped)", ErrNoInput, sum.Problems, sum.DigestFiles)
	}
	sum.finish(opt.Top)
	return sum, nil
}

// fileTask is one input being read; its batches arrive in order.
type fileTask struct {
	in      Input
	batches chan *batch
	err     error // the input itself failed (open, gzip, I/O)
}

// read splits the input into batches of raw records and queues each batch
// both for a worker and, in order, for the merger.
func (ft *fileTask) read(ctx context.Context, jobs chan<- *batch, counters *Counters) {
	defer close(ft.batches)
	rc, err := ft.in.Open(ctx)
	if err != nil {
		ft.err = err
		return
	}
	defer rc.Close()
	b := newBatch(ft.in.Name)
	flush := func() {
		jobs <- b
		ft.batches <- b
		b = newBatch(ft.in.Name)
	}
	err = splitRecords(ft.in.Name, &countingReader{r: rc, n: &counters.Bytes}, func(raw []byte, line int, expand bool) error {
		b.add(raw, line, expand)
		if len(b.arena) >= batchBytes || len(b.items) >= batchRecords {
			flush()
			return ctx.Err()
		}
		return nil
	}, func(p Problem) { b.items = append(b.items, item{problem: &p}) })
	if len(b.items) > 0 {
		flush()
	} else {
		b.release()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		ft.err = err
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// batch is a run of raw records of one input and, once done is closed,
// what they amount to.
type batch struct {
	name  string
	arena []byte
	items []item
	done  chan struct{}
	res   batchResult
}

// item is a raw record (arena[start:end]) or a problem found while
// splitting, in input order.
type item struct {
	start, end, line int
	expand           bool
	problem          *Problem
}

var arenas = sync.Pool{New: func() any { b := make([]byte, 0, batchBytes+64<<10); return &b }}

func newBatch(name string) *batch {
	return &batch{name: name, arena: (*arenas.Get().(*[]byte))[:0], done: make(chan struct{})}
}

func (b *batch) add(raw []byte, line int, expand bool) {
	start := len(b.arena)
	b.arena = append(b.arena, raw...)
	b.items = append(b.items, item{start: start, end: len(b.arena), line: line, expand: expand})
}

// release returns the arena; nothing may refer to it afterwards (decoded
// values copy what they keep).
func (b *batch) release() {
	if cap(b.arena) <= 4*batchBytes {
		a := b.arena[:0]
		arenas.Put(&a)
	}
	b.arena = nil
}

// batchResult is what one batch adds to the summary.
type batchResult struct {
	records, notDelivered, readOnly, hiddenReadOnly int
	matched, hidden                                 []int // per rule
	alerts                                          []alert
	places                                          map[place]*placeCount
	problems                                        []Problem
}

// alert is one record that raised at least one tier.
type alert struct {
	tiers           uint64 // bit i: the engine's i-th tier
	name, principal string
	account, region string
	show            string
}

type place struct{ account, region string }

type placeCount struct{ records, alerting int }

// engine is the read-only part shared by the workers: the rules and the
// index of each rule's tier.
type engine struct {
	rules    Rules
	tiers    []string
	ruleTier []int
}

func newEngine(rules Rules) (*engine, error) {
	e := &engine{rules: rules, tiers: rules.TierNames()}
	if len(e.tiers) > 64 {
		return nil, fmt.Errorf("%d tiers: at most 64 are supported", len(e.tiers))
	}
	for _, r := range rules {
		for i, t := range e.tiers {
			if t == r.Tier {
				e.ruleTier = append(e.ruleTier, i)
			}
		}
	}
	return e, nil
}

// worker decodes and matches batches; each worker has its own decoder.
type worker struct {
	eng *engine
	dec ep.Decoder
	res *batchResult
}

func (w *worker) process(b *batch, show bool) {
	n := len(w.eng.rules)
	b.res = batchResult{matched: make([]int, n), hidden: make([]int, n), places: map[place]*placeCount{}}
	w.res = &b.res
	problem := func(p Problem) { b.res.problems = append(b.res.problems, p) }
	fn := func(rec ep.Value, _ int) error { w.record(rec, show); return nil }
	for _, it := range b.items {
		if it.problem != nil {
			problem(*it.problem)
			continue
		}
		decodeRecords(&w.dec, b.name, b.arena[it.start:it.end], it.line, it.expand, fn, problem)
	}
}

// record applies the rules to one record, state respected.
func (w *worker) record(rec ep.Value, show bool) {
	res := w.res
	res.records++
	pl := place{rec.Path("recipientAccountId").Str(), rec.Path("awsRegion").Str()}
	pc := res.places[pl]
	if pc == nil {
		pc = &placeCount{}
		res.places[pl] = pc
	}
	pc.records++
	ev := Wrap(rec)
	if !ev.Delivered {
		res.notDelivered++
		return
	}
	if ev.ReadOnly {
		res.readOnly++
	}
	var tiers uint64
	hidden := false
	for i := range w.eng.rules {
		r := &w.eng.rules[i]
		if r.State == Disabled || !r.Pattern.Match(ev.Value) {
			continue
		}
		if !r.Receives(ev) {
			res.hidden[i]++
			hidden = true
			continue
		}
		res.matched[i]++
		tiers |= 1 << w.eng.ruleTier[i]
	}
	if tiers == 0 {
		if hidden {
			res.hiddenReadOnly++
		}
		return
	}
	pc.alerting++
	a := alert{tiers: tiers, name: rec.Path("eventName").Str(), principal: Principal(rec), account: pl.account, region: pl.region}
	if show {
		a.show = ShowLine(rec, w.eng.tierList(tiers))
	}
	res.alerts = append(res.alerts, a)
}

// tierList names the tiers of a mask, sorted.
func (e *engine) tierList(mask uint64) []string {
	var out []string
	for i, t := range e.tiers {
		if mask&(1<<i) != 0 {
			out = append(out, t)
		}
	}
	return out
}
