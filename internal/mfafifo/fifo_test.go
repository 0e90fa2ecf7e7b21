package mfafifo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// newFIFO creates a FIFO, mode 0600, in a private directory of its own.
func newFIFO(t *testing.T) (*FIFO, string) {
	t.Helper()
	path := filepath.Join(privateDir(t), "socket")
	f, err := Create(path, Options{Mode: 0o600, Gid: -1})
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

func write(t *testing.T, path, data string) {
	t.Helper()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Errorf("open for write: %v", err)
		return
	}
	if _, err := w.WriteString(data); err != nil {
		t.Errorf("write: %v", err)
	}
	w.Close()
}

func assertGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Close (lstat err %v)", path, err)
	}
}

func TestCreateReadRemove(t *testing.T) {
	f, path := newFIFO(t)
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o7777 != 0o600 {
		t.Errorf("mode = %o, want fifo 0600", st.Mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Two attempts: a bad one and a good one, each a separate writer.
	go write(t, path, "12345x\n")
	if _, err := f.ReadAttempt(ctx); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("first attempt err = %v, want ErrInvalidCode", err)
	}
	go write(t, path, "424242\n")
	code, err := f.ReadAttempt(ctx)
	if err != nil || code != "424242" {
		t.Fatalf("second attempt = %q, %v", code, err)
	}
	// A writer that sends nothing is no attempt; two lines are two attempts;
	// a rest without newline counts when its writer closes.
	go func() { write(t, path, ""); write(t, path, "1x\n777777\n888888") }()
	for _, want := range []string{"invalid", "777777", "888888"} {
		code, err := f.ReadAttempt(ctx)
		if want == "invalid" && errors.Is(err, ErrInvalidCode) {
			continue
		}
		if err != nil || code != want {
			t.Fatalf("attempt = %q, %v; want %s", code, err, want)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, path)
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestGroupAndMode(t *testing.T) {
	path := filepath.Join(privateDir(t), "socket")
	gid := os.Getgid()
	if os.Geteuid() == 0 {
		gid = 4242 // root may give the FIFO any group
	}
	f, err := Create(path, Options{Mode: 0o620, Gid: gid})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o620 || int(st.Gid) != gid {
		t.Errorf("mode %o gid %d, want 0620 gid %d", st.Mode&0o7777, st.Gid, gid)
	}
	if _, err := Create(filepath.Join(filepath.Dir(path), "other"), Options{Mode: 0o622, Gid: -1}); err == nil || !strings.Contains(err.Error(), "more permissive") {
		t.Errorf("mode 0622 err = %v", err)
	}
}

func TestTimeoutLeavesNoPath(t *testing.T) {
	f, path := newFIFO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := f.ReadAttempt(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %v", d)
	}
	f.Close()
	assertGone(t, path)
}

func TestCancelLeavesNoPath(t *testing.T) {
	f, path := newFIFO(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := f.ReadAttempt(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	f.Close()
	assertGone(t, path)
}

func TestRefusesPreexistingPaths(t *testing.T) {
	dir := privateDir(t)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	setups := map[string]func(p string) error{
		"regular file":     func(p string) error { return os.WriteFile(p, []byte("x"), 0o600) },
		"foreign fifo":     func(p string) error { return unix.Mkfifo(p, 0o666) },
		"symlink to file":  func(p string) error { return os.Symlink(target, p) },
		"dangling symlink": func(p string) error { return os.Symlink(filepath.Join(dir, "nothing"), p) },
		"directory":        func(p string) error { return os.Mkdir(p, 0o700) },
	}
	for name, setup := range setups {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := setup(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(path)
			f, err := Create(path, Options{Mode: 0o600, Gid: -1})
			if err == nil {
				f.Close()
				t.Fatal("Create succeeded on a pre-existing path")
			}
			if !strings.Contains(err.Error(), "already exists") {
				t.Errorf("err = %v", err)
			}
			after, lerr := os.Lstat(path)
			if lerr != nil || !os.SameFile(before, after) {
				t.Errorf("pre-existing entry was touched: %v", lerr)
			}
		})
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("symlink target changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nothing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dangling symlink target was created")
	}
}

func TestRefusesUnsafeDirectories(t *testing.T) {
	base := privateDir(t)
	cases := map[string]struct {
		mode os.FileMode
		uid  int
		want string
	}{
		"world-writable": {0o777, -1, "without the sticky bit"},
		"group-writable": {0o770, -1, "without the sticky bit"},
	}
	if os.Geteuid() == 0 {
		cases["owned by another user"] = struct {
			mode os.FileMode
			uid  int
			want string
		}{0o755, 65534, "owned by uid 65534"}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := filepath.Join(base, strings.ReplaceAll(name, " ", "_"))
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d, tc.mode); err != nil {
				t.Fatal(err)
			}
			if tc.uid >= 0 {
				if err := os.Chown(d, tc.uid, -1); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(d, "socket")
			f, err := Create(path, Options{Mode: 0o600, Gid: -1})
			if err == nil {
				f.Close()
				t.Fatal("Create succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			assertGone(t, path)
		})
	}
	t.Run("ancestor world-writable", func(t *testing.T) {
		d := filepath.Join(base, "open")
		if err := os.MkdirAll(filepath.Join(d, "inner"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o777)
		if _, err := Create(filepath.Join(d, "inner", "socket"), Options{Mode: 0o600, Gid: -1}); err == nil || !strings.Contains(err.Error(), d+" is group- or world-writable") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("sticky world-writable like /tmp is allowed", func(t *testing.T) {
		d := filepath.Join(base, "sticky")
		os.Mkdir(d, 0o700)
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		if !SharedDir(d) {
			t.Errorf("SharedDir(%s) = false", d)
		}
		f, err := Create(filepath.Join(d, "socket"), Options{Mode: 0o600, Gid: -1})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	})
	if _, err := Create("relative/socket", Options{Mode: 0o600, Gid: -1}); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("relative path err = %v", err)
	}
}

// TestRefusesSwapBetweenMkfifoAndOpen moves the new FIFO aside in the window
// between mkfifo and open (a rename keeps its inode in use, as an attacker's
// rename would) and puts a symlink (O_NOFOLLOW stops it) or another FIFO (the
// inode check stops it) in its place; the replacement must stay untouched.
func TestRefusesSwapBetweenMkfifoAndOpen(t *testing.T) {
	dir := privateDir(t)
	other := filepath.Join(dir, "attacker-fifo")
	if err := unix.Mkfifo(other, 0o666); err != nil {
		t.Fatal(err)
	}
	swaps := map[string]func(p string) error{
		"symlink": func(p string) error { os.Rename(p, p+".orig"); return os.Symlink(other, p) },
		"fifo":    func(p string) error { os.Rename(p, p+".orig"); return unix.Mkfifo(p, 0o600) },
	}
	for name, swap := range swaps {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, "socket-"+name)
			afterMkfifo = func(p string) {
				if err := swap(p); err != nil {
					t.Error(err)
				}
			}
			defer func() { afterMkfifo = func(string) {} }()
			f, err := Create(path, Options{Mode: 0o600, Gid: -1})
			if err == nil {
				f.Close()
				t.Fatal("Create accepted a swapped path")
			}
			if _, lerr := os.Lstat(path); lerr != nil {
				t.Errorf("the replacement was removed: %v", lerr)
			}
		})
	}
}

func TestOversizedWriteIsOneInvalidAttempt(t *testing.T) {
	f, path := newFIFO(t)
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go write(t, path, "123456"+strings.Repeat("9", 100000)+"\n246810\n")
	if _, err := f.ReadAttempt(ctx); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("err = %v, want ErrInvalidCode", err)
	}
	if code, err := f.ReadAttempt(ctx); err != nil || code != "246810" {
		t.Fatalf("attempt after the long line = %q, %v", code, err)
	}
}

// TestAWriterNeverMeetsABrokenPipe: after a writer leaves, the reader swaps
// its descriptor for a fresh one; a writer that opens the FIFO at that moment
// must still have a reader (its write succeeds) and its code must be read.
// Many rounds of an empty writer followed at once by a real one hit that
// moment: with the old descriptor closed before the new one was opened, this
// test failed with a broken pipe in four runs out of five.
func TestAWriterNeverMeetsABrokenPipe(t *testing.T) {
	f, path := newFIFO(t)
	defer f.Close()
	const rounds = 2000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < rounds; i++ {
			for _, data := range []string{"", fmt.Sprintf("%06d\n", i)} {
				w, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err == nil {
					_, err = w.WriteString(data)
					w.Close()
				}
				if err != nil {
					werr = fmt.Errorf("round %d: %w", i, err)
					cancel() // the reader would wait for a code that never comes
					return
				}
			}
		}
	}()
	for i := 0; i < rounds; i++ {
		code, err := f.ReadAttempt(ctx)
		if err != nil || code != fmt.Sprintf("%06d", i) {
			<-done
			t.Fatalf("round %d: attempt %q, %v (writer: %v)", i, code, err, werr)
		}
	}
	<-done
	if werr != nil {
		t.Fatalf("writer: %v", werr)
	}
}
