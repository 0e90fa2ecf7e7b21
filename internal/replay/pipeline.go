package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

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

// batchRecords is how many records a batch holds: enough that handing a
// batch to the merger costs little per record.
const batchRecords = 256

// prefetchBytes is how much of an input (as stored, gzipped) is read ahead
// of its decoding, so that --downloads objects download at once even when
// fewer cores decode.
const prefetchBytes = 4 << 20

// ReplaySource replays every input of src: up to opt.Readers inputs are
// opened and read ahead at once, opt.Workers of them decoded and matched at
// once (one core each: gunzip, the projecting scanner, the rules), and the
// results merged in input order, so the summary, --show lines and problem
// list are the same whatever the concurrency. When ctx is cancelled the
// summary so far is returned with Interrupted set.
func ReplaySource(ctx context.Context, src Source, opt Options, problems io.Writer) (*Summary, error) {
	eng, err := newEngine(opt.Rules)
	if err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	readers := max(opt.Readers, workers)
	counters := opt.Counters
	if counters == nil {
		counters = &Counters{}
	}
	sum := newStats(opt.Rules)
	report := func(p Problem) {
		sum.Problems++
		fmt.Fprintln(problems, p.String())
	}

	// Inputs go to the workers in input order, so the merger, which also
	// takes them in input order, never waits on an input no worker has.
	queue := make(chan *fileTask, readers)
	sem := make(chan struct{}, readers) // inputs opened and not yet decoded
	var wwg sync.WaitGroup
	for range workers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			w := newWorker(eng, opt.Show != nil)
			for ft := range queue {
				<-ft.ready
				w.file(ctx, ft)
				<-sem
			}
		}()
	}

	files := make(chan *fileTask, readers)
	var listErr error
	go func() {
		listErr = src.Inputs(ctx, func(in Input) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			ft := &fileTask{in: in, batches: make(chan *batchResult, 8), ready: make(chan struct{})}
			if in.Digest {
				close(ft.batches)
				files <- ft
				return nil
			}
			counters.ListedFiles.Add(1)
			counters.ListedBytes.Add(in.Size)
			sem <- struct{}{}
			files <- ft
			go ft.prefetch(ctx, counters)
			queue <- ft
			return nil
		})
		counters.ListingDone.Store(true)
		close(files)
		close(queue)
	}()

	read := 0
	for ft := range files {
		if ft.in.Digest {
			sum.DigestFiles++
			continue
		}
		before := sum.Records
		for b := range ft.batches {
			sum.merge(b, opt.Show, report)
			counters.Records.Add(int64(b.records))
			putBatch(b)
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

// fileTask is one input: opened and read ahead (ready is closed then), then
// decoded by one worker; its results arrive in order on batches.
type fileTask struct {
	in      Input
	ready   chan struct{}
	body    io.Reader // the input as stored: what was read ahead, then the rest
	closer  io.Closer
	buf     *[]byte // the read-ahead buffer
	batches chan *batchResult
	err     error // the input itself failed (open, gzip, I/O)
}

// prefetchBuffers are the read-ahead buffers, reused from input to input.
var prefetchBuffers = sync.Pool{New: func() any { b := make([]byte, prefetchBytes); return &b }}

// prefetch opens the input and reads up to prefetchBytes of it.
func (ft *fileTask) prefetch(ctx context.Context, counters *Counters) {
	defer close(ft.ready)
	rc, err := ft.in.Open(ctx)
	if err != nil {
		ft.err = err
		return
	}
	ft.buf = prefetchBuffers.Get().(*[]byte)
	head := (*ft.buf)[:0]
	cr := &countingReader{r: rc, n: &counters.Bytes}
	for len(head) < cap(head) {
		n, err := cr.Read(head[len(head):cap(head)])
		head = head[:len(head)+n]
		if err == io.EOF {
			rc.Close()
			ft.body = bytes.NewReader(head)
			return
		}
		if err != nil {
			rc.Close()
			ft.body = io.MultiReader(bytes.NewReader(head), errReader{err})
			return
		}
	}
	ft.body, ft.closer = io.MultiReader(bytes.NewReader(head), cr), rc
}

// release closes the input and gives its read-ahead buffer back.
func (ft *fileTask) release() {
	if ft.closer != nil {
		ft.closer.Close()
	}
	if ft.buf != nil {
		prefetchBuffers.Put(ft.buf)
	}
	ft.body, ft.closer, ft.buf = nil, nil, nil
}

// errReader fails every read with err: a read error met while reading ahead,
// delivered where the input reaches it.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// batchResult is what one batch adds to the summary.
type batchResult struct {
	records, notDelivered, readOnly, hiddenReadOnly int
	matched, hidden                                 []int // per rule
	alerts                                          []alert
	text                                            []byte // the strings the batch keeps (keep)
	places                                          map[place]*placeCount
	problems                                        []Problem
}

// keep copies s into the batch's text and returns the copy: the record's
// strings may be views of the input (projector.str), the batch's must last
// until merged. A full chunk of text is left as it is and a new one started,
// so the bytes of a string are not written again before the merge, which
// clones what the summary keeps and only then gives the batch back
// (putBatch): that is what makes the unsafe conversion sound, and it spares
// an allocation per string.
func (r *batchResult) keep(s string) string {
	if s == "" {
		return ""
	}
	if cap(r.text)-len(r.text) < len(s) {
		r.text = make([]byte, 0, max(32<<10, len(s)))
	}
	start := len(r.text)
	r.text = append(r.text, s...)
	return unsafe.String(&r.text[start], len(s))
}

// alert is one record that raised at least one tier.
type alert struct {
	tiers           uint64 // bit i: the engine's i-th tier
	name, principal string
	account, region string
	show            string
}

type place struct{ account, region string }

type placeCount struct {
	records, alerting int
	at                place // the map's key: strings owned by the batch
}

// engine is the read-only part shared by the workers: the rules, the
// index of each rule's tier, the projection and the rule prefilter.
type engine struct {
	rules Rules
	// patterns are the rules' patterns, bound to the projection's layout
	// when there is one (eventpattern.Pattern.WithLayout).
	patterns []*ep.Pattern
	tiers    []string
	ruleTier []int
	proj     *pathNode // nil: records are decoded in full
	filter   prefilter
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
	if root, ok := newProjection(rules); ok {
		e.proj = root
	}
	e.filter = newPrefilter(rules)
	e.bind()
	return e, nil
}

// bind gives the matcher and the prefilter the projection's layout, so
// that they find a projected record's members by index.
func (e *engine) bind() {
	e.patterns = e.patterns[:0]
	for _, r := range e.rules {
		p := r.Pattern
		if e.proj != nil {
			p = p.WithLayout(e.proj.layout)
		}
		e.patterns = append(e.patterns, p)
	}
	if e.proj != nil {
		e.filter.bind(e.proj.layout)
	}
}

// worker decodes and matches whole inputs, one at a time, on one core.
type worker struct {
	eng        *engine
	show       bool
	readers    readers    // buffers and gunzip state, kept between inputs
	dec        ep.Decoder // records the projecting scanner leaves to the full decoder
	proj       *projector
	vals       [9]ep.Value  // the envelope of the record being matched
	cand       []uint64     // the prefilter's candidate rules
	filter     *filterState // the prefilter's memory
	sources    map[string]*sourceEntry
	lastSource *sourceEntry // the last one met
	res        *batchResult
	// The last place counted: a log file holds one account and region.
	lastPlace place
	lastPC    *placeCount
}

func newWorker(eng *engine, show bool) *worker {
	w := &worker{eng: eng, show: show, sources: map[string]*sourceEntry{}, filter: eng.filter.newState()}
	if eng.proj != nil {
		w.proj = &projector{root: eng.proj}
	}
	return w
}

func (w *worker) newBatch() {
	w.res = getBatch(len(w.eng.rules))
	w.lastPC = nil
}

// batches are batch results the merger is done with, reused so that a
// replay allocates next to nothing per record (and the garbage collector,
// with its write barriers, next to never runs).
var batches sync.Pool

// getBatch returns an empty batch result for n rules.
func getBatch(n int) *batchResult {
	r, _ := batches.Get().(*batchResult)
	if r == nil {
		return &batchResult{matched: make([]int, n), hidden: make([]int, n), places: map[place]*placeCount{}}
	}
	*r = batchResult{
		matched: slices.Grow(r.matched[:0], n)[:n], hidden: slices.Grow(r.hidden[:0], n)[:n],
		alerts: r.alerts[:0], places: r.places, problems: r.problems[:0],
		text: r.text[:0], // the strings taken from it died with the merge
	}
	clear(r.matched)
	clear(r.hidden)
	clear(r.places)
	return r
}

// putBatch gives back a batch result the merger is done with: nothing it
// holds, its strings included, is referred to any more.
func putBatch(r *batchResult) { batches.Put(r) }

// file decodes and matches one input, handing its results to the merger in
// batches, in order.
func (w *worker) file(ctx context.Context, ft *fileTask) {
	defer close(ft.batches)
	defer ft.release()
	if ft.err != nil {
		return
	}
	w.newBatch()
	name := ft.in.Name
	flush := func() error {
		ft.batches <- w.res
		w.newBatch()
		return ctx.Err()
	}
	record := func(rec ep.Value, f *recordFields, _ int) error {
		w.record(rec, f)
		if w.res.records >= batchRecords {
			return flush()
		}
		return nil
	}
	problem := func(p Problem) { w.res.problems = append(w.res.problems, p) }
	err := readProjected(name, ft.body, &w.readers, w.proj, &w.dec, record, problem)
	if w.res.records > 0 || len(w.res.problems) > 0 {
		ft.batches <- w.res
	}
	w.res = nil
	if err != nil && !errors.Is(err, context.Canceled) {
		ft.err = err
	}
}

// sourceEntry is an eventSource (owned) and its EventBridge source.
type sourceEntry struct{ eventSource, source string }

// source is SourceFor, remembered per eventSource; consecutive records
// often share it, which costs a comparison instead of a lookup.
func (w *worker) source(eventSource string) string {
	if e := w.lastSource; e != nil && e.eventSource == eventSource {
		return e.source
	}
	e := w.sources[eventSource]
	if e == nil {
		if len(w.sources) >= 1024 {
			clear(w.sources)
		}
		e = &sourceEntry{strings.Clone(eventSource), SourceFor(eventSource)}
		w.sources[e.eventSource] = e
	}
	w.lastSource = e
	return e.source
}

// record applies the rules to one record, state respected. The record's
// strings may be views of the input that the next record overwrites
// (projector.str): what the batch keeps is cloned.
func (w *worker) record(rec ep.Value, f *recordFields) {
	res := w.res
	res.records++
	pl := place{f[fRecipientAccountID].Str(), f[fAwsRegion].Str()}
	pc := w.lastPC
	if pc == nil || pl != w.lastPlace {
		pc = res.places[pl]
		if pc == nil {
			pl = place{res.keep(pl.account), res.keep(pl.region)}
			pc = &placeCount{at: pl}
			res.places[pl] = pc
		}
		w.lastPlace, w.lastPC = pc.at, pc
	}
	pc.records++
	ev := wrapFields(rec, f, w.vals[:], w.source(f[fEventSource].Str()))
	if !ev.Delivered {
		res.notDelivered++
		return
	}
	if ev.ReadOnly {
		res.readOnly++
	}
	w.cand = w.eng.filter.candidates(&ev.Value, w.vals[:], f, w.cand, w.filter)
	var tiers uint64
	hidden := false
	for i := range w.eng.rules {
		if w.cand[i>>6]&(1<<(i&63)) == 0 {
			continue // the prefilter proved the pattern cannot match
		}
		r := &w.eng.rules[i]
		if r.State == Disabled || !w.eng.patterns[i].MatchRef(&ev.Value) {
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
	a := alert{tiers: tiers, name: res.keep(f[fEventName].Str()), principal: res.keep(Principal(rec)), account: w.lastPlace.account, region: w.lastPlace.region}
	if w.show {
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
