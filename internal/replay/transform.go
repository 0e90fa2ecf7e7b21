package replay

import (
	"fmt"
	"regexp"
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// pathRE is the part of EventBridge's JSON path syntax kmsguard's transformers use: dot notation with
// letters, digits, dashes and underscores ("Amazon EventBridge input transformation"). Array indices and
// wildcards, which EventBridge also accepts, are refused here rather than rendered wrongly.
var pathRE = regexp.MustCompile(`^\$(\.[A-Za-z0-9_-]+)*$`)

// Render is the target input EventBridge sends for event (an EventBridge event: version, id, detail-type,
// ..., detail) through this transformer, as docs/aws-facts.md ("Input transformers") records it from the
// EventBridge user guide: each <name> of InputPathsMap is replaced by the value at its path; a path the
// event lacks creates no variable, so nothing appears in its place; a string value inside a JSON string of
// the template is inserted as it is (EventBridge does not escape extracted values), and outside one as a
// JSON value. Render exists so that the documented alert emails (docs/alert-emails.md) are produced from
// the template's real transformers rather than written by hand.
func (it *InputTransformer) Render(event ep.Value) (string, error) {
	if it == nil {
		return "", fmt.Errorf("no InputTransformer")
	}
	if it.InputTemplate == "" {
		return "", fmt.Errorf("InputTemplate is empty or not a resolved string")
	}
	vals := map[string]ep.Value{}
	for name, path := range it.InputPathsMap {
		if !pathRE.MatchString(path) {
			return "", fmt.Errorf("InputPathsMap %s: path %q uses syntax this renderer does not implement (only $.a.b-c)", name, path)
		}
		keys := strings.Split(path, ".")[1:]
		if v := event.Path(keys...); v.Kind() != ep.Absent {
			vals[name] = v
		}
	}
	tpl := it.InputTemplate
	var b strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(tpl); i++ {
		c := tpl[i]
		if c == '<' {
			if end := strings.IndexByte(tpl[i+1:], '>'); end >= 0 {
				name := tpl[i+1 : i+1+end]
				if _, declared := it.InputPathsMap[name]; declared {
					if v, ok := vals[name]; ok {
						if inString && v.Kind() == ep.String {
							b.WriteString(v.Str())
						} else {
							j, _ := v.MarshalJSON()
							b.Write(j)
						}
					}
					i += end + 1
					escaped = false
					continue
				}
			}
		}
		b.WriteByte(c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		}
	}
	return b.String(), nil
}
