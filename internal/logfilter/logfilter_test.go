package logfilter

import (
	"encoding/json"
	"strings"
	"testing"
)

func event(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFiltersMatchAsTheCloudWatchGuideDescribes: the guide's own examples (the UpdateTrail selector, the
// CIS unauthorized-calls filter with leading and trailing wildcards) and the forms kmsguard's filters use,
// each with an event that must match and one that must not.
func TestFiltersMatchAsTheCloudWatchGuideDescribes(t *testing.T) {
	cases := []struct {
		pattern, event string
		want           bool
	}{
		{`{ $.eventType = "UpdateTrail" }`, `{"eventType":"UpdateTrail"}`, true},
		{`{ $.eventType = "UpdateTrail" }`, `{"eventType":"UpdateTrailX"}`, false},
		{`{ $.eventType = "UpdateTrail" }`, `{}`, false},
		{`{ $.eventType = "UpdateTrail" }`, `{"eventType":"updatetrail"}`, false}, // case sensitive
		{`{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, `{"errorCode":"Client.UnauthorizedOperation"}`, true},
		{`{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, `{"errorCode":"AccessDeniedException"}`, true},
		{`{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, `{"errorCode":"Client.AccessDenied"}`, false},
		{`{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }`, `{"eventName":"Decrypt"}`, false},
		{`{ $.errorCode = "*AccessDenied*" }`, `{"errorCode":"Client.AccessDeniedX"}`, true},
		{`{ $.resources[1].ARN = "arn:k" }`, `{"resources":[{"ARN":"arn:o"},{"ARN":"arn:k"}]}`, true},
		{`{ $.resources[1].ARN = "arn:k" }`, `{"resources":[{"ARN":"arn:k"}]}`, false},
		{`{ $.requestParameters.name = "KmsGuard-*" }`, `{"requestParameters":{"name":"KmsGuard-denied-2"}}`, true},
		{`{ $.requestParameters.name = "KmsGuard-*" }`, `{"requestParameters":{"name":"KmsGuardProd-denied-2"}}`, false},
		{`{ $.requestParameters.name = "KmsGuard-*" }`, `{"requestParameters":null}`, false},
		{`{ ($.eventSource = "iam.amazonaws.com") && ($.readOnly IS FALSE) }`, `{"eventSource":"iam.amazonaws.com","readOnly":false}`, true},
		{`{ ($.eventSource = "iam.amazonaws.com") && ($.readOnly IS FALSE) }`, `{"eventSource":"iam.amazonaws.com","readOnly":true}`, false},
		{`{ ($.eventSource = "iam.amazonaws.com") && ($.readOnly IS FALSE) }`, `{"eventSource":"iam.amazonaws.com"}`, false},
		{`{ $.readOnly IS TRUE }`, `{"readOnly":true}`, true},
		{`{ $.errorCode NOT EXISTS }`, `{"eventName":"Decrypt"}`, true},
		{`{ $.errorCode NOT EXISTS }`, `{"errorCode":"AccessDenied"}`, false},
		{`{ $.errorCode EXISTS }`, `{"errorCode":"AccessDenied"}`, true},
		{`{ $.responseElements IS NULL }`, `{"responseElements":null}`, true},
		{`{ $.responseElements IS NULL }`, `{}`, false},
		{`{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }`, `{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"}}`, true},
		{`{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }`, `{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"}}`, false},
		// && stops at the first false term, so the != on a field other events lack is never reached.
		{`{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }`, `{"eventName":"Decrypt"}`, false},
		{`{ (($.a = "1") || ($.b = "2")) && ($.c = "3") }`, `{"b":"2","c":"3"}`, true},
		{`{ (($.a = "1") || ($.b = "2")) && ($.c = "3") }`, `{"b":"2","c":"4"}`, false},
	}
	for _, c := range cases {
		f, err := Parse(c.pattern)
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		got, err := f.Match(event(t, c.event))
		if err != nil || got != c.want {
			t.Errorf("%s on %s = %v, %v; want %v", c.pattern, c.event, got, err, c.want)
		}
	}
}

// TestUnsupportedSyntaxIsRefusedNotGuessed: what the package does not implement is a parse error, so a
// metric filter using it fails its test instead of matching nothing in silence.
func TestUnsupportedSyntaxIsRefusedNotGuessed(t *testing.T) {
	for _, pattern := range []string{
		`$.a = "x"`,            // no braces
		`{ $.a = x }`,          // unquoted value
		`{ $.latency > 1000 }`, // numeric comparison
		`{ $.a = %re% }`,       // regular expression
		`{ $.a = "x" && $.b = "y" || $.c = "z" }`, // && and || mixed without parentheses
		`{ ($.a = "x" }`,      // unbalanced
		`{ $.a = "x" } extra`, // trailing text
		`{ $.a = "x\"y" }`,    // escape
		`{ $.a IS MAYBE }`,
		`{ $ = "x" }`,
		`ERROR`,
	} {
		if f, err := Parse(pattern); err == nil {
			t.Errorf("%s: accepted as %v", pattern, f)
		}
	}
}

// TestInequalityOnAMissingFieldIsAnErrorNotAGuess: the guide does not say whether != matches an event
// that lacks the field, or how a string compares with a boolean; Match says so instead of answering.
func TestInequalityOnAMissingFieldIsAnErrorNotAGuess(t *testing.T) {
	f, err := Parse(`{ $.sourceIPAddress != "delivery.logs.amazonaws.com" }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Match(event(t, `{"eventName":"Decrypt"}`)); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("want an error naming the absent field, got %v", err)
	}
	g, _ := Parse(`{ $.readOnly = "false" }`)
	if _, err := g.Match(event(t, `{"readOnly":false}`)); err == nil {
		t.Errorf("a string compared with a boolean must be an error")
	}
	if ok, err := f.Match(event(t, `{"sourceIPAddress":"203.0.113.5"}`)); !ok || err != nil {
		t.Errorf("control: a present, different value must match: %v %v", ok, err)
	}
}

// TestDimensionValueIsTheStringAtTheSelector: a metric filter's dimension value is the event's string at
// the selector; a missing field, a non-string field and a malformed selector (the controls) are errors.
func TestDimensionValueIsTheStringAtTheSelector(t *testing.T) {
	event := map[string]any{"recipientAccountId": "111122223333", "readOnly": true,
		"userIdentity": map[string]any{"accountId": "444455556666"}}
	for selector, want := range map[string]string{"$.recipientAccountId": "111122223333", "$.userIdentity.accountId": "444455556666"} {
		if got, err := DimensionValue(selector, event); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", selector, got, err, want)
		}
	}
	for _, bad := range []string{"$.missing", "$.readOnly", "recipientAccountId", "$.recipientAccountId x"} {
		if got, err := DimensionValue(bad, event); err == nil {
			t.Errorf("control %s: %q accepted", bad, got)
		}
	}
}
