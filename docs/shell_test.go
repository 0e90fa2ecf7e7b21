package docs

import (
	"regexp"
	"strings"
)

var heredocRE = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_]+)['"]?`)

// commands splits a shell block into simple commands (words with quotes removed), joining continued
// lines, skipping comments, here-document bodies and redirection targets. It is a reader for checking
// documented commands, not a shell: bash -n has already judged the syntax.
func commands(text string) [][]string {
	var logical []string
	var cur strings.Builder
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		logical = append(logical, cur.String())
		if m := heredocRE.FindStringSubmatch(cur.String()); m != nil {
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != m[1]; i++ {
			}
		}
		cur.Reset()
	}
	var out [][]string
	for _, l := range logical {
		out = append(out, split(l)...)
	}
	return out
}

// split tokenizes one logical line into commands.
func split(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, skipNext := false, false
	flush := func() {
		if inWord {
			s := w.String()
			switch {
			case skipNext:
				skipNext = false
			case strings.HasPrefix(s, ">") || strings.HasPrefix(s, "<") || strings.HasPrefix(s, "2>") || strings.HasPrefix(s, "&>"):
				skipNext = strings.TrimLeft(s, "0123456789&<>") == ""
			default:
				words = append(words, s)
			}
		}
		w.Reset()
		inWord = false
	}
	end := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'' || ch == '"':
			j := strings.IndexByte(line[i+1:], ch)
			if j < 0 {
				j = len(line) - i - 1
			}
			w.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case ch == '#' && !inWord:
			end()
			return cmds
		case ch == ' ' || ch == '\t':
			flush()
		case ch == ';' || ch == '|' || ch == '&' && !(i > 0 && line[i-1] == '>') && !(i+1 < len(line) && line[i+1] == '>'):
			end()
			for i+1 < len(line) && (line[i+1] == '|' || line[i+1] == '&') {
				i++
			}
		case ch == '>' || ch == '<':
			if inWord && !strings.ContainsAny(w.String(), "=") && strings.Trim(w.String(), "0123456789&") != "" {
				flush()
			}
			w.WriteByte(ch)
			inWord = true
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	end()
	return cmds
}
