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
				if c.ListingDone.Load() {
					bar.ChangeMax64(c.ListedBytes.Load()) // size known: the bar shows the ETA
				}
				bar.Describe(fmt.Sprintf("files %d/%d, %d records", c.Files.Load(), c.ListedFiles.Load(), c.Records.Load()))
				bar.Set64(c.Bytes.Load())
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		bar.Finish()
	}
}
