package mfafifo

import (
	"bytes"
	"errors"
	"regexp"
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

func TestCollectorRejectsOversizedInputEvenIfItStartsWithACode(t *testing.T) {
	var c Collector
	c.Write([]byte("123456\n"))
	c.Write(bytes.Repeat([]byte(" "), MaxAttemptBytes))
	if _, err := c.Code(); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("Code() err = %v, want ErrInvalidCode", err)
	}
}

var errShape = regexp.MustCompile(`^input is not a 6-digit MFA code \((got \d+ non-blank characters|contains a non-digit|more than 64 bytes)\)$`)

// FuzzReadCode feeds arbitrary writer input, split into two writes, through
// the collector. An accepted code must be six digits equal to the trimmed
// input; a rejection's message must have a fixed shape, so it can never echo
// what the operator typed.
func FuzzReadCode(f *testing.F) {
	for _, s := range []string{"123456\n", "12345", "abcdef", " 654321 ", "1234567\n", "\xff\xfe", "123456\n123456\n"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		cut := int(split) % (len(in) + 1)
		var c Collector
		c.Write(in[:cut])
		c.Write(in[cut:])
		code, err := c.Code()
		if err != nil {
			if !errShape.MatchString(err.Error()) {
				t.Fatalf("error %q has an unexpected shape", err)
			}
			return
		}
		if len(in) > MaxAttemptBytes {
			t.Fatalf("accepted %d bytes of input", len(in))
		}
		if len(code) != 6 || !regexp.MustCompile(`^[0-9]{6}$`).MatchString(code) {
			t.Fatalf("accepted %q", code)
		}
		if string(bytes.TrimSpace(in)) != code {
			t.Fatalf("code %q is not the trimmed input %q", code, in)
		}
	})
}
