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

var apiCallDetailType = detailTypes["AwsApiCall"]

// stsChangeEvents are Get* calls the guide names as change events, which
// ENABLED rules do receive ("Receiving read-only management events").
var stsChangeEvents = map[string]bool{"GetFederationToken": true, "GetSessionToken": true}

var wrapperKeys = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}

// Wrap builds the EventBridge event around a decoded CloudTrail record
// without copying it; the record becomes detail.
func Wrap(record ep.Value) Event {
	f := fieldsOf(record)
	return wrapFields(record, &f, make([]ep.Value, len(wrapperKeys)), SourceFor(f[fEventSource].Str()))
}

// recordFields are the record members Wrap reads, indexed by fixedField.
type recordFields [numFixed]ep.Value

func fieldsOf(record ep.Value) (f recordFields) {
	for i, k := range fixedKeys {
		f[i], _ = record.Get(k)
	}
	return f
}

// wrapFields is Wrap with the members already looked up, the envelope's
// values written to vals (len(wrapperKeys)) and the source already mapped
// (SourceFor), so that the replay wraps each record without allocating.
func wrapFields(record ep.Value, f *recordFields, vals []ep.Value, source string) Event {
	eventType := f[fEventType].Str()
	if eventType == "" {
		eventType = "AwsApiCall" // hand-written corpora often omit it
	}
	dt, delivered := apiCallDetailType, true // nearly every record: no map lookup
	if eventType != "AwsApiCall" {
		dt, delivered = detailTypes[eventType]
	}
	vals[0] = ep.StringValue("0")
	vals[1] = ep.StringValue(f[fEventID].Str())
	vals[2] = ep.StringValue(dt)
	vals[3] = ep.StringValue(source)
	vals[4] = ep.StringValue(f[fRecipientAccountID].Str())
	vals[5] = ep.StringValue(f[fEventTime].Str())
	vals[6] = ep.StringValue(f[fAwsRegion].Str())
	vals[7] = ep.ArrayValue()
	vals[8] = record
	return Event{
		Value:     ep.ObjectValue(wrapperKeys, vals),
		Delivered: delivered,
		ReadOnly:  isReadOnlyManagement(f),
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
func isReadOnlyManagement(f *recordFields) bool {
	if c := f[fEventCategory].Str(); c != "" && c != "Management" {
		return false
	}
	name := f[fEventName].Str()
	if f[fEventSource].Str() == "sts.amazonaws.com" && stsChangeEvents[name] {
		return false
	}
	ro := f[fReadOnly]
	if k := ro.Kind(); k == ep.Absent || k == ep.Null {
		return strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List")
	}
	return ro.Str() == "true" // JSON true, or the string "true"
}
