package replay

import (
	"strings"

	ep "github.com/kmsguard/kmsguard/internal/eventpattern"
)

// Event is one CloudTrail record as EventBridge would put it on the
// default bus, plus the two facts rule states depend on.
type Event struct {
	// Value is the EventBridge event: version, id, detail-type, source,
	// account, time, region, resources ([]) and detail (the record).
	Value ep.Value
	// Delivered is false when CloudTrail does not send this kind of record
	// to EventBridge at all (an unknown eventType); no rule sees it.
	Delivered bool
	// ReadOnly marks a read-only management event: only rules in state
	// ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS receive it.
	ReadOnly bool
}

// Record returns the CloudTrail record (the event's detail).
func (e Event) Record() ep.Value { v, _ := e.Value.Get("detail"); return v }

// detailTypes maps CloudTrail eventType to EventBridge detail-type, as
// listed in "AWS service events delivered via AWS CloudTrail" (EventBridge
// User Guide). Note the console sign-in spelling: "Signin", one word.
var detailTypes = map[string]string{
	"AwsApiCall":           "AWS API Call via CloudTrail",
	"AwsServiceEvent":      "AWS Service Event via CloudTrail",
	"AwsConsoleSignIn":     "AWS Console Signin via CloudTrail",
	"AwsConsoleAction":     "AWS Console Action via CloudTrail",
	"AwsCloudTrailInsight": "AWS Insight via CloudTrail",
}

// stsChangeEvents are Get* calls the guide names as change events, which
// ENABLED rules do receive ("Receiving read-only management events").
var stsChangeEvents = map[string]bool{"GetFederationToken": true, "GetSessionToken": true}

var wrapperKeys = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}

// Wrap builds the EventBridge event around a decoded CloudTrail record
// without copying it; the record becomes detail.
func Wrap(record ep.Value) Event {
	str := func(k string) string { v, _ := record.Get(k); return v.Str() }
	eventType := str("eventType")
	if eventType == "" {
		eventType = "AwsApiCall" // hand-written corpora often omit it
	}
	dt, delivered := detailTypes[eventType]
	vals := []ep.Value{
		ep.StringValue("0"),
		ep.StringValue(str("eventID")),
		ep.StringValue(dt),
		ep.StringValue(SourceFor(str("eventSource"))),
		ep.StringValue(str("recipientAccountId")),
		ep.StringValue(str("eventTime")),
		ep.StringValue(str("awsRegion")),
		ep.ArrayValue(),
		record,
	}
	return Event{
		Value:     ep.ObjectValue(wrapperKeys, vals),
		Delivered: delivered,
		ReadOnly:  isReadOnlyManagement(record, str),
	}
}

// WrapRecord wraps a record decoded by encoding/json; it is the entry
// point for tests that build records as maps.
func WrapRecord(record map[string]any) (Event, error) {
	v, err := ep.ValueOf(record)
	if err != nil {
		return Event{}, err
	}
	return Wrap(v), nil
}

// SourceFor maps a CloudTrail eventSource to the EventBridge source:
// "aws." plus the service prefix. The EventBridge events reference lists
// every service this way, including monitoring.amazonaws.com ->
// aws.monitoring (not aws.cloudwatch, which is only for alarm events).
func SourceFor(eventSource string) string {
	if eventSource == "" {
		return ""
	}
	prefix, _, _ := strings.Cut(eventSource, ".amazonaws.com")
	return "aws." + prefix
}

// isReadOnlyManagement applies "Receiving read-only management events from
// AWS services": management events (eventCategory Management or absent)
// that CloudTrail marks readOnly, except STS GetFederationToken and
// GetSessionToken. Without a readOnly field the Describe/Get/List naming
// convention the guide states is used. Data and Insight events are not
// management events.
func isReadOnlyManagement(record ep.Value, str func(string) string) bool {
	if c := str("eventCategory"); c != "" && c != "Management" {
		return false
	}
	name := str("eventName")
	if stsChangeEvents[name] && str("eventSource") == "sts.amazonaws.com" {
		return false
	}
	ro, ok := record.Get("readOnly")
	if !ok || ro.Kind() == ep.Null {
		return strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
	}
	return ro.Str() == "true" // JSON true, or the string "true"
}
