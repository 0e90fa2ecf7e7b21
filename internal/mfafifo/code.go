// Package mfafifo receives MFA codes through a named pipe that only this
// process created, in a directory other users cannot tamper with, and removes
// it again on every exit path.
package mfafifo

import (
	"errors"
	"fmt"
)

// MaxAttemptBytes is how much of one writer's input is kept; anything longer
// cannot be a code, and bounding it keeps a hostile writer from growing memory.
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

// Collector accumulates one writer's input up to MaxAttemptBytes and
// remembers whether more arrived, so an oversized write is rejected as a
// whole rather than truncated into something that looks valid.
type Collector struct {
	buf      []byte
	overflow bool
}

// Write implements io.Writer; it never fails so the pipe is always drained.
func (c *Collector) Write(p []byte) (int, error) {
	room := MaxAttemptBytes - len(c.buf)
	if len(p) > room {
		c.overflow = true
		c.buf = append(c.buf, p[:max(room, 0)]...)
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// Code parses what was collected; oversized input is always invalid.
func (c *Collector) Code() (string, error) {
	if c.overflow {
		return "", fmt.Errorf("%w (more than %d bytes)", ErrInvalidCode, MaxAttemptBytes)
	}
	return ParseCode(c.buf)
}
