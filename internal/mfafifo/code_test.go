package mfafifo

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseCode(t *testing.T) {
	for in, want := range map[string]string{
		"123456":       "123456",
		"123456\n":     "123456",
		"  000042\r\n": "000042",
		"\t987654 ":    "987654",
	} {
		got, err := ParseCode([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "12345", "1234567", "12a456", "123 456", "１２３４５６", "123456\x00", "+12345"} {
		if got, err := ParseCode([]byte(in)); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("ParseCode(%q) = %q, %v; want ErrInvalidCode", in, got, err)
		}
	}
}

func TestLineBufferSplitsAttempts(t *testing.T) {
	var b lineBuffer
	var got []string
	take := func() {
		for {
			a, overflow, ok := b.next()
			if !ok {
				return
			}
			code, err := parseAttempt(a, overflow)
			if err != nil {
				got = append(got, "invalid")
			} else {
				got = append(got, code)
			}
		}
	}
	b.write([]byte("111111\n22"))
	take()
	b.write([]byte("2222\n" + strings.Repeat("x", 2*MaxAttemptBytes)))
	take()
	b.write([]byte(strings.Repeat("y", 10) + "\n333333"))
	take()
	if a, ok := b.eof(); ok {
		code, _ := ParseCode(a)
		got = append(got, code)
	}
	want := []string{"111111", "222222", "invalid", "333333"}
	if !slices.Equal(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
	if _, ok := b.eof(); ok {
		t.Error("second eof produced an attempt")
	}
}

var errShape = regexp.MustCompile(`^input is not a 6-digit MFA code \((got \d+ non-blank characters|contains a non-digit|more than 64 bytes)\)$`)

// FuzzReadCode feeds arbitrary writer input, split into two writes, through
// the attempt splitter and the code parser. Every accepted code must be six
// digits and be a whole line of the input; every rejection must have a fixed
// message shape, so it can never echo what the operator typed.
func FuzzReadCode(f *testing.F) {
	for _, s := range []string{"123456\n", "12345", "abcdef", " 654321 ", "1234567\n", "\xff\xfe", "123456\n654321\n", "\n\n"} {
		f.Add([]byte(s), uint8(3))
	}
	digits := regexp.MustCompile(`^[0-9]{6}$`)
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		cut := int(split) % (len(in) + 1)
		var b lineBuffer
		var codes []string
		attempts := 0
		check := func(a []byte, overflow bool) {
			attempts++
			code, err := parseAttempt(a, overflow)
			if err != nil {
				if !errShape.MatchString(err.Error()) {
					t.Fatalf("error %q has an unexpected shape", err)
				}
				return
			}
			if !digits.MatchString(code) {
				t.Fatalf("accepted %q", code)
			}
			codes = append(codes, code)
		}
		for _, part := range [][]byte{in[:cut], in[cut:]} {
			b.write(part)
			for a, overflow, ok := b.next(); ok; a, overflow, ok = b.next() {
				check(a, overflow)
			}
			if len(b.pending) > MaxAttemptBytes+len(part) {
				t.Fatalf("buffer grew to %d bytes", len(b.pending))
			}
		}
		if a, ok := b.eof(); ok {
			check(a, false)
		}
		lines := bytes.Split(in, []byte("\n"))
		if attempts > len(lines) {
			t.Fatalf("%d attempts from %d lines", attempts, len(lines))
		}
		for _, c := range codes {
			found := false
			for _, l := range lines {
				found = found || string(bytes.TrimSpace(l)) == c
			}
			if !found {
				t.Fatalf("code %q is not a line of the input %q", c, in)
			}
		}
	})
}
