package inflate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// member gzips content as one member; edit may set header fields before the write.
func member(t testing.TB, content string, level int, edit func(*gzip.Writer)) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(zw)
	}
	zw.Write([]byte(content))
	zw.Close()
	return b.Bytes()
}

// logFile is CloudTrail-shaped JSON of n records, enough to fill several deflate blocks.
func logFile(n int) string {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.11","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","sourceIPAddress":"10.0.%d.%d","requestID":"%08x-%04x"}`, i%256, i%7, i*2654435761, i)
	}
	b.WriteString("]}")
	return b.String()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// gunzipCases are inputs the fast path must read as the streaming reader does (fast: true), and inputs it
// must leave to that reader (fast: false), which reads some of them and reports damage in the rest.
func gunzipCases(t testing.TB) []struct {
	name string
	in   []byte
	fast bool
} {
	big := logFile(3000)
	one := member(t, big, gzip.DefaultCompression, nil)
	bad := bytes.Clone(one)
	bad[len(bad)-8] ^= 1 // CRC-32
	truncated := one[:len(one)-100]
	withHeader := member(t, "named", gzip.BestSpeed, func(w *gzip.Writer) {
		w.Name, w.Comment, w.Extra = "111122223333_CloudTrail_us-east-1.json", "a comment", []byte("xtra")
	})
	// A header CRC-16 that is wrong: klauspost checks it and fails; libdeflate skips it and would read on.
	plain := member(t, "header crc", gzip.BestSpeed, nil)
	hcrc := cat(plain[:10], []byte{0xde, 0xad}, plain[10:])
	hcrc[3] |= flagHdrCrc
	longName := member(t, "long name", gzip.BestSpeed, func(w *gzip.Writer) { w.Name = strings.Repeat("n", 600) })
	reserved := bytes.Clone(member(t, "reserved", gzip.BestSpeed, nil))
	reserved[3] |= 0x20
	return []struct {
		name string
		in   []byte
		fast bool
	}{
		{"a log file of one member", one, true},
		{"fastest compression", member(t, big, gzip.BestSpeed, nil), true},
		{"stored blocks", member(t, big, gzip.NoCompression, nil), true},
		{"empty content", member(t, "", gzip.DefaultCompression, nil), true},
		{"three members", cat(member(t, "one,", 1, nil), member(t, big, 9, nil), member(t, "", 1, nil)), true},
		{"name, comment and extra field", withHeader, true},
		{"bad CRC-32", bad, false},
		{"truncated", truncated, false},
		{"trailing garbage", cat(one, []byte("garbage after the member")), false},
		{"a partial second header", cat(one, []byte{0x1f, 0x8b, 8}), false},
		{"wrong header CRC-16", hcrc, false},
		{"name longer than 512 bytes", longName, false},
		{"reserved flag", reserved, false},
		{"not gzip", []byte(big), false},
		{"empty", nil, false},
	}
}

// Gunzip returns what the streaming reader returns, or an error: never different bytes, never bytes where
// the streaming reader fails. And it takes the ordinary files itself. Control: with headerOK accepting
// the header CRC flag, the "wrong header CRC-16" case succeeds where the streaming reader fails.
func TestGunzipReturnsWhatTheStreamingReaderReturnsOrAnError(t *testing.T) {
	for _, c := range gunzipCases(t) {
		t.Run(c.name, func(t *testing.T) {
			want, werr := gunzipGo(nil, c.in, 1<<30)
			got, err := Gunzip(nil, c.in, 1<<30)
			if err == nil && (werr != nil || !bytes.Equal(got, want)) {
				t.Fatalf("Gunzip gave %d bytes; the streaming reader %d bytes, error %v", len(got), len(want), werr)
			}
			if c.fast && err != nil {
				t.Errorf("Gunzip: %v; want it to read this ordinary input", err)
			}
			if !c.fast && err == nil && Engine != "klauspost/compress (built without cgo)" {
				t.Errorf("Gunzip read it; want the input left to the streaming reader")
			}
		})
	}
}

// Gunzip appends to dst and keeps what dst held, however short dst's spare room; on an error dst comes
// back as it was.
func TestGunzipAppendsToDst(t *testing.T) {
	content := logFile(2000)
	in := cat(member(t, content, 6, nil), member(t, "tail", 6, nil))
	for _, spare := range []int{0, 10, len(content), len(content) + 100} {
		dst := append(make([]byte, 0, 5+spare), "head:"...)
		got, err := Gunzip(dst, in, 1<<30)
		if err != nil || string(got) != "head:"+content+"tail" {
			t.Fatalf("spare %d: %d bytes, %v", spare, len(got), err)
		}
	}
	dst := []byte("head:")
	if got, err := Gunzip(dst, []byte("not gzip at all, not at all"), 1<<30); err == nil || string(got) != "head:" {
		t.Errorf("bad input: %q, %v; want dst back and an error", got, err)
	}
}

// The limit is the most Gunzip appends: exactly the content fits, a byte less is ErrTooLarge, for both
// implementations. A size hint that is far too small (the last member's ISIZE, when an earlier member is
// larger) still gives the whole output.
func TestGunzipLimit(t *testing.T) {
	content := logFile(500)
	in := member(t, content, 6, nil)
	for name, f := range map[string]func([]byte, []byte, int) ([]byte, error){"Gunzip": Gunzip, "gunzipGo": gunzipGo} {
		if got, err := f(nil, in, len(content)); err != nil || len(got) != len(content) {
			t.Errorf("%s, limit = size: %d bytes, %v", name, len(got), err)
		}
		if got, err := f([]byte("x"), in, len(content)-1); !errors.Is(err, ErrTooLarge) || string(got) != "x" {
			t.Errorf("%s, limit = size-1: %q..., %v; want ErrTooLarge and dst back", name, got[:min(len(got), 5)], err)
		}
	}
	// A limit below 0 counts as 0, one past MaxLimit as MaxLimit: no panic, no wrap-around to "nothing".
	if got, err := Gunzip(nil, in, -1); !errors.Is(err, ErrTooLarge) || len(got) != 0 {
		t.Errorf("limit -1: %d bytes, %v; want ErrTooLarge", len(got), err)
	}
	if got, err := Gunzip(nil, in, math.MaxInt); err != nil || string(got) != content {
		t.Errorf("limit MaxInt: %d bytes, %v; want the content", len(got), err)
	}
	// Two members: the hint (the last member's ISIZE) is far too small for the first.
	two := cat(member(t, content, 6, nil), member(t, "x", 6, nil))
	if got, err := Gunzip(nil, two, 1<<30); err != nil || string(got) != content+"x" {
		t.Errorf("short hint: %d bytes, %v", len(got), err)
	}
}

// A file's ISIZE is believed only up to 64 times the file's size: a 1 KB file that claims 4 GiB is
// turned down (its ISIZE is wrong) without Gunzip setting aside the limit's 256 MiB first. Control: with
// ISIZE believed up to deflate's greatest ratio, 1032 to 1, it allocates over 1 MiB.
func TestAFileCannotClaimTheWholeLimit(t *testing.T) {
	in := member(t, logFile(8)[:1000], gzip.NoCompression, nil)
	copy(in[len(in)-4:], []byte{0xff, 0xff, 0xff, 0xff})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Gunzip(nil, in, 256<<20)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a file with a wrong ISIZE was read")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 512<<10 {
		t.Errorf("a %d-byte file claiming 4 GiB made Gunzip allocate %d bytes", len(in), grew)
	}
}

// FuzzGunzip holds Gunzip to the streaming reader: whatever it reads without an error, the streaming
// reader reads the same, without an error.
func FuzzGunzip(f *testing.F) {
	for _, c := range gunzipCases(f) {
		if len(c.in) < 4096 {
			f.Add(c.in)
		}
	}
	f.Add(member(f, logFile(20), 1, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Gunzip(nil, in, 1<<20)
		if err != nil {
			return
		}
		want, werr := gunzipGo(nil, in, 1<<20)
		if werr != nil || !bytes.Equal(got, want) {
			t.Fatalf("Gunzip read %d bytes; the streaming reader %d bytes, error %v", len(got), len(want), werr)
		}
	})
}

// The vendored libdeflate is the release's files unchanged: libdeflate/SHA256SUMS lists every file under
// libdeflate/ with its digest (made from the v1.25 tag), and nothing else is there. Control: a changed or
// an added file is reported.
func TestVendoredLibdeflateIsUnchanged(t *testing.T) {
	if problems := checkSums("libdeflate"); len(problems) > 0 {
		t.Errorf("libdeflate/ differs from libdeflate/SHA256SUMS:\n%s", strings.Join(problems, "\n"))
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("libdeflate")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "lib", "utils.c"), []byte("/* changed */"), 0o644)
	os.WriteFile(filepath.Join(dir, "lib", "extra.c"), []byte("/* added */"), 0o644)
	problems := checkSums(dir)
	if len(problems) != 2 || !strings.Contains(strings.Join(problems, "\n"), "lib/utils.c") || !strings.Contains(strings.Join(problems, "\n"), "lib/extra.c") {
		t.Errorf("control: a changed and an added file gave %q", problems)
	}
}

// checkSums compares the files under dir with dir/SHA256SUMS (sha256sum's format).
func checkSums(dir string) []string {
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return []string{err.Error()}
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if ok {
			listed[strings.TrimPrefix(name, "./")] = sum
		}
	}
	var problems []string
	seen := map[string]bool{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "SHA256SUMS" {
			return nil
		}
		seen[rel] = true
		b, _ := os.ReadFile(p)
		h := sha256.Sum256(b)
		switch want, ok := listed[rel]; {
		case !ok:
			problems = append(problems, rel+": not in SHA256SUMS")
		case want != hex.EncodeToString(h[:]):
			problems = append(problems, rel+": changed")
		}
		return nil
	})
	for name := range listed {
		if !seen[name] {
			problems = append(problems, name+": missing")
		}
	}
	sort.Strings(problems)
	return problems
}
