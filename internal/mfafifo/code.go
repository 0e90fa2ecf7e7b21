// Package mfafifo receives MFA codes through a named pipe that only this
// process created, in a directory other users cannot tamper with, and removes
// it again on every exit path.
package mfafifo

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxAttemptBytes is the longest line kept; anything longer cannot be a code,
// and bounding it keeps a hostile writer from growing memory.
const MaxAttemptBytes = 64

// ErrInvalidCode is returned for input that is not exactly six digits. Its
// message never contains the input, which may be a mistyped secret.
var ErrInvalidCode = errors.New("input is not a 6-digit MFA code")

// ParseCode accepts exactly six ASCII digits, surrounded by optional ASCII
// whitespace such as the newline that echo adds. The error describes the
// input's shape only, never its content.
func ParseCode(in []byte) (string, error) {
	start, end := 0, len(in)
	for start < end && isSpace(in[start]) {
		start++
	}
	for end > start && isSpace(in[end-1]) {
		end--
	}
	s := in[start:end]
	if len(s) != 6 {
		return "", fmt.Errorf("%w (got %d non-blank characters)", ErrInvalidCode, len(s))
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("%w (contains a non-digit)", ErrInvalidCode)
		}
	}
	return string(s), nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// lineBuffer splits what writers send into attempts: each line is one
// attempt (echo ends with a newline), and at EOF so is any unterminated rest.
// A line longer than MaxAttemptBytes is one invalid attempt as a whole, never
// truncated into something that looks valid, and memory stays bounded.
type lineBuffer struct {
	pending    []byte
	discarding bool // inside an overlong line already reported
}

// write appends a chunk; callers take lines after every chunk, which keeps
// pending within MaxAttemptBytes plus one chunk.
func (b *lineBuffer) write(p []byte) { b.pending = append(b.pending, p...) }

// next returns the next complete attempt, if any.
func (b *lineBuffer) next() (attempt []byte, overflow, ok bool) {
	for {
		i := bytes.IndexByte(b.pending, '\n')
		if b.discarding {
			if i < 0 {
				b.pending = b.pending[:0]
				return nil, false, false
			}
			b.pending, b.discarding = b.pending[i+1:], false
			continue
		}
		if i > MaxAttemptBytes || (i < 0 && len(b.pending) > MaxAttemptBytes) {
			b.discarding = true
			return nil, true, true
		}
		if i < 0 {
			return nil, false, false
		}
		attempt = bytes.Clone(b.pending[:i])
		b.pending = b.pending[i+1:]
		return attempt, false, true
	}
}

// eof ends the current writer: an unterminated rest becomes an attempt.
func (b *lineBuffer) eof() (attempt []byte, ok bool) {
	rest := b.pending
	b.pending, b.discarding = nil, false
	if len(rest) == 0 {
		return nil, false
	}
	return rest, true
}

// parseAttempt turns an attempt into a code or an ErrInvalidCode error.
func parseAttempt(attempt []byte, overflow bool) (string, error) {
	if overflow {
		return "", fmt.Errorf("%w (more than %d bytes)", ErrInvalidCode, MaxAttemptBytes)
	}
	return ParseCode(attempt)
}
