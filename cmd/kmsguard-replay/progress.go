package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kmsguard/kmsguard/internal/replay"
)

// startProgress shows files, bytes, records, rate and ETA on stderr while
// the replay runs, only when stderr is a terminal (a redirected stderr gets
// problems and warnings only). The returned func removes the bar.
func startProgress(stderr io.Writer, c *replay.Counters) func() {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(f),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	start := time.Now()
	// The bar stays a spinner (bytes read and their rate) and the share done and the ETA are in its
	// description: switching the bar to a known length once the listing is done (ChangeMax64) leaves it at
	// 0 %, since a spinner does not count what it has read towards a length.
	update := func() {
		read := c.Bytes.Load()
		bar.Describe(describeProgress(c.Files.Load(), c.ListedFiles.Load(), c.Records.Load(), read, c.ListedBytes.Load(), c.ListingDone.Load(), time.Since(start)))
		bar.Set64(read)
	}
	update() // drawn at once, so a slow listing shows that the replay has started
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				update()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		bar.Finish()
	}
}

// describeProgress is the bar's text: files read of those listed, records, and once the listing is done
// (the total size known), the share of its bytes read and the time left at the rate so far.
func describeProgress(files, listed, records, read, total int64, listingDone bool, elapsed time.Duration) string {
	desc := fmt.Sprintf("files %d/%d, %d records", files, listed, records)
	if !listingDone || total <= 0 {
		return desc
	}
	desc += fmt.Sprintf(", %d%% of %s", min(100, 100*read/total), megabytes(total))
	if read > 0 && read < total {
		left := time.Duration(float64(elapsed) * float64(total-read) / float64(read))
		desc += ", ETA " + left.Round(time.Second).String()
	}
	return desc
}

// megabytes is n bytes in MB (10^6), one decimal.
func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
