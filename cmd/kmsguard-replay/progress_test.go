package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/kmsguard/kmsguard/internal/replay"
)

// terminal is a pseudo-terminal: tty is what the replay writes to as its stderr, and everything that
// reaches the terminal is collected from the other side.
type terminal struct {
	tty  *os.File
	mu   sync.Mutex
	seen bytes.Buffer
	done chan struct{}
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	term := &terminal{tty: tty, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { tty.Close(); ptmx.Close(); <-term.done })
	return term
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.seen.String()
}

// waitFor waits (up to 20 s: the bar redraws every 200 ms) until the terminal has shown want.
func (term *terminal) waitFor(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(term.text(), want) {
			return
		}
	}
	t.Fatalf("the terminal never showed %q; it showed %q", want, term.text())
}

// A replay of a trail bucket with stderr on a terminal draws the progress bar there (README.md,
// kmsguard-replay): a month in both layouts, the standard and the organization trail's, on moto's S3,
// filtered by account. The summary goes to stdout as without a terminal. Control: with stderr not a
// terminal, the same replay writes no bar.
func TestAProgressBarIsDrawnOnATerminalDuringABucketReplay(t *testing.T) {
	rec := `{"Records":[{"eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventTime":"2024-05-02T10:00:00Z","recipientAccountId":"111122223333","awsRegion":"eu-west-1","resources":[{"ARN":"` + keyARN + `"}]}]}`
	trailBucket(t, "progress-trail", map[string]string{
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/02/a.json.gz":        rec,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/03/b.json.gz":        rec,
		"AWSLogs/o-org1/111122223333/CloudTrail/eu-west-1/2024/05/02/c.json.gz": rec,
		"AWSLogs/o-org1/444455556666/CloudTrail/eu-west-1/2024/05/02/d.json.gz": rec,
	})
	tpl := filepath.Join("..", "..", "internal", "replay", "testdata", "template.json")
	args := []string{"s3://progress-trail/", "--accounts", "111122223333", "--template", tpl, "--key-arn", keyARN, "--resolve", "AlertTopic=x"}

	term := newTerminal(t)
	var out bytes.Buffer
	if code := run(args, nil, &out, term.tty); code != 0 {
		t.Fatalf("exit %d: %s", code, term.text())
	}
	term.waitFor(t, "files 0/0, 0 records")
	if !strings.Contains(out.String(), "Read 3 records from 3 inputs") {
		t.Errorf("stdout:\n%s", out.String())
	}

	var plain, errb bytes.Buffer
	if code := run(args, nil, &plain, &errb); code != 0 || strings.Contains(errb.String(), "files ") || plain.String() != out.String() {
		t.Errorf("without a terminal: exit %d, stderr %q; stdout the same: %v", code, errb.String(), plain.String() == out.String())
	}
}

// The bar follows the replay's counters: files read of those listed, records, and, once the listing is
// done, the share of the listed bytes read and an ETA. Control: the bar switched to a known length when
// the listing was done (ChangeMax64), as it first did, stayed at 0 % and never showed the share.
func TestTheProgressBarFollowsTheCounters(t *testing.T) {
	term := newTerminal(t)
	var c replay.Counters
	stop := startProgress(term.tty, &c)
	term.waitFor(t, "files 0/0, 0 records")
	c.ListedFiles.Store(7)
	c.Files.Store(3)
	c.Records.Store(4200)
	c.Bytes.Store(3 << 20)
	term.waitFor(t, "files 3/7, 4200 records")
	c.ListedBytes.Store(6 << 20)
	c.ListingDone.Store(true)
	term.waitFor(t, "files 3/7, 4200 records, 50% of 6.3 MB, ETA ")
	stop()
	if _, err := io.WriteString(term.tty, "after"); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "after")
}

func TestTheProgressDescriptionGivesTheShareAndTheTimeLeft(t *testing.T) {
	for _, c := range []struct {
		files, listed, records, read, total int64
		done                                bool
		elapsed                             time.Duration
		want                                string
	}{
		{0, 0, 0, 0, 0, false, 0, "files 0/0, 0 records"},
		{3, 7, 4200, 3 << 20, 6 << 20, false, 10 * time.Second, "files 3/7, 4200 records"},
		{3, 7, 4200, 3_000_000, 6_000_000, true, 10 * time.Second, "files 3/7, 4200 records, 50% of 6.0 MB, ETA 10s"},
		{1, 4, 10, 1_000_000, 4_000_000, true, 2 * time.Second, "files 1/4, 10 records, 25% of 4.0 MB, ETA 6s"},
		{7, 7, 9000, 6_000_000, 6_000_000, true, 20 * time.Second, "files 7/7, 9000 records, 100% of 6.0 MB"},
		{0, 2, 0, 0, 6_000_000, true, time.Second, "files 0/2, 0 records, 0% of 6.0 MB"},
	} {
		if got := describeProgress(c.files, c.listed, c.records, c.read, c.total, c.done, c.elapsed); got != c.want {
			t.Errorf("describeProgress(%+v) = %q, want %q", c, got, c.want)
		}
	}
}
