package eventpattern

import (
	"strings"
	"unicode/utf8"
)

func stringReader(s string) *strings.Reader { return strings.NewReader(s) }
func validUTF8(b []byte) bool               { return utf8.Valid(b) }
