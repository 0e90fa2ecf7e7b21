package eventpattern

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// wildcard is a compiled wildcard pattern: literal pieces separated by '*'.
type wildcard struct {
	pieces    []string
	leadStar  bool
	trailStar bool
	literal   bool // no star at all: exact match of pieces[0]
}

// compileWildcard parses EventBridge wildcard syntax: '*' matches any run
// of characters, "\*" is a literal star and "\\" a literal backslash; any
// other escape and two consecutive stars are errors (event-ruler rules).
func compileWildcard(s string) (wildcard, error) {
	var w wildcard
	var cur strings.Builder
	stars := 0
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return wildcard{}, errors.New(`wildcard: a backslash may only escape "*" or "\"`)
			}
			cur.WriteByte(s[i+1])
			i++
			prevStar = false
		case '*':
			if prevStar {
				return wildcard{}, errors.New("wildcard: consecutive '*' are not allowed")
			}
			if stars == 0 && cur.Len() == 0 && len(w.pieces) == 0 {
				w.leadStar = true
			} else {
				w.pieces = append(w.pieces, cur.String())
			}
			cur.Reset()
			stars++
			prevStar = true
		default:
			cur.WriteByte(c)
			prevStar = false
		}
	}
	if prevStar {
		w.trailStar = true
	} else {
		w.pieces = append(w.pieces, cur.String())
	}
	w.literal = stars == 0
	return w, nil
}

func (w *wildcard) match(s string) bool {
	if w.literal {
		return s == w.pieces[0]
	}
	pieces := w.pieces
	if !w.leadStar {
		if !strings.HasPrefix(s, pieces[0]) {
			return false
		}
		s = s[len(pieces[0]):]
		pieces = pieces[1:]
	}
	var last string
	if !w.trailStar {
		last = pieces[len(pieces)-1]
		pieces = pieces[:len(pieces)-1]
	}
	for _, p := range pieces {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	if !w.trailStar {
		return strings.HasSuffix(s, last)
	}
	return true
}

func decodeRune(s string) (rune, int)     { return utf8.DecodeRuneInString(s) }
func decodeLastRune(s string) (rune, int) { return utf8.DecodeLastRuneInString(s) }
