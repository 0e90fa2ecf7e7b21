package eventpattern

import "testing"

// Doc pages cited below (Amazon EventBridge User Guide unless noted):
const (
	docCreate   = "eb-event-patterns.html (Creating event patterns)"
	docFilter   = "eb-event-patterns-content-based-filtering.html (Content filtering)"
	docOps      = "eb-create-pattern-operators.html (Comparison operators table)"
	docArrays   = "eb-event-patterns-arrays.html (Arrays in event patterns)"
	docNull     = "eb-event-patterns-null-values.html (Null values and empty strings)"
	docRulerMD  = "github.com/aws/event-ruler README.md (EventBridge's matching engine)"
	docSNSNumAB = "SNS numeric-value-matching (same filter language; anything-but on arrays)"
)

const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`

const asgEvent = `{
  "version": "0",
  "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
  "detail-type": "EC2 Instance Launch Successful",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2015-11-11T21:31:47Z",
  "region": "us-east-1",
  "resources": [],
  "detail": {"eventVersion": "", "responseElements": null}
}`

const macieEvent = `{
  "version": "0",
  "id": "3e355723-fca9-4de3-9fd7-154c289d6b59",
  "detail-type": "Macie Alert",
  "source": "aws.macie",
  "account": "123456789012",
  "time": "2017-04-24T22:28:49Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id"
  ],
  "detail": {
    "notification-type": "ALERT_CREATED",
    "name": "Scanning bucket policies",
    "tags": ["Custom_Alert", "Insider"],
    "risk-score": 80,
    "trigger": {"rule-arn": "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id", "alert-type": "basic", "risk": 8}
  }
}`

const existsEvent = `{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2015-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  "detail": {"instance-id": "i-abcd1111", "state": "pending"}
}`

// existsNoState is the doc's "does NOT match" event (its pattern-like arrays kept verbatim).
const existsNoState = `{
  "detail-type": [ "EC2 Instance State-change Notification" ],
  "resources": [ "arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341" ],
  "detail": { "c-count" : { "c1" : 100 } }
}`

const existsNoCCount = `{
  "detail-type": [ "EC2 Instance State-change Notification" ],
  "resources": [ "arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341" ],
  "detail": { "state": [ "initializing", "running" ] }
}`

const rulerEvent = `{
  "version": "0",
  "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "012345679012",
  "time": "2017-10-02T16:24:49Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
  "detail": {"c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
             "instance-id": "i-000000aaaaaa00000", "state": "running"}
}`

const employees = `{"employees":[
  {"firstName":"John","lastName":"Doe"},
  {"firstName":"Anna","lastName":"Smith"},
  {"firstName":"Peter","lastName":"Jones"}]}`

type docCase struct {
	doc, name, pattern, event string
	want                      bool
}

// docCases come from the documentation: pattern and event as printed, and
// the result the page states. Where a page gives only a pattern and a
// sentence ("FileName does not end with .png"), the event is the smallest
// one the sentence talks about, and the expectation is that sentence.
var docCases = []docCase{
	// Exact values, AND across fields, nested objects.
	{docCreate, "ec2 termination", `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}`, ec2Event, true},
	{docCreate, "or of values", `{"source":["aws.ec2","aws.fargate"]}`, ec2Event, true},
	{docCreate, "null value", `{"source":["aws.autoscaling"],"detail-type":["EC2 Instance Launch Successful"],"detail":{"responseElements":[null]}}`, asgEvent, true},
	{docCreate, "numbers risk-score 80 trigger risk 8", `{"source":["aws.macie"],"detail-type":["Macie Alert"],"detail":{"risk-score":[80],"trigger":{"risk":[8]}}}`, macieEvent, true},
	{docCreate, "all fields must be present", `{"source":["aws.ec2"],"detail":{"state":["terminated"],"missing":["x"]}}`, ec2Event, false},

	// Null and empty string.
	{docNull, "empty string", `{"detail":{"eventVersion":[""]}}`, asgEvent, true},
	{docNull, "null", `{"detail":{"responseElements":[null]}}`, asgEvent, true},
	{docNull, "empty string does not match null", `{"detail":{"responseElements":[""]}}`, asgEvent, false},

	// Arrays.
	{docArrays, "intersection of arrays", `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f","arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f","arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`,
		`{"resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate","arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`, true},
	{docRulerMD, "array of objects", `{"employees":{"firstName":["Anna"]}}`, employees, true},
	{docRulerMD, "array consistency: fields from different elements", `{"employees":{"firstName":["Anna"],"lastName":["Jones"]}}`, employees, false},
	{docRulerMD, "array consistency: same element", `{"employees":{"firstName":["Anna"],"lastName":["Smith"]}}`, employees, true},
	{docRulerMD, "multi-level arrays", `{"employees":{"firstName":["Peter"]}}`, `{"employees":[[{"firstName":"John","lastName":"Doe"},{"firstName":"Anna","lastName":"Smith"}],[{"firstName":"Peter","lastName":"Jones"}]]}`, true},

	// Prefix.
	{docFilter, "prefix", `{"time":[{"prefix":"2017-10-02"}]}`, `{"time":"2017-10-02T18:43:48Z"}`, true},
	{docFilter, "prefix other day", `{"time":[{"prefix":"2017-10-02"}]}`, `{"time":"2017-10-03T18:43:48Z"}`, false},
	{docOps, "prefix Region is in the US", `{"Region":[{"prefix":"us-"}]}`, `{"Region":"us-east-1"}`, true},
	{docOps, "prefix Region not in the US", `{"Region":[{"prefix":"us-"}]}`, `{"Region":"eu-west-1"}`, false},
	{docFilter, "prefix ignore case EventB", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"EVENTBRIDGE"}}`, true},
	{docFilter, "prefix ignore case eventb", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"eventbridge"}}`, true},
	{docFilter, "prefix ignore case other", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}`, `{"detail":{"service":"lambda"}}`, false},
	{docRulerMD, "prefix on a number", `{"detail":{"c-count":[{"prefix":"5"}]}}`, rulerEvent, false},

	// Suffix.
	{docFilter, "suffix .png", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.png"}`, true},
	{docFilter, "suffix .jpg is not .png", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.jpg"}`, false},
	{docFilter, "suffix is case-sensitive", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.PNG"}`, false},
	{docFilter, "suffix ignore case .PNG", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, `{"detail":{"FileName":"image.PNG"}}`, true},
	{docOps, "suffix ignore case TBRIDGE", `{"service":[{"suffix":{"equals-ignore-case":"tBridge"}}]}`, `{"service":"EVENTBRIDGE"}`, true},
	{docRulerMD, "suffix ec2", `{"source":[{"suffix":"ec2"}]}`, rulerEvent, true},

	// Equals-ignore-case.
	{docOps, "equals-ignore-case Alice", `{"Name":[{"equals-ignore-case":"alice"}]}`, `{"Name":"Alice"}`, true},
	{docOps, "equals-ignore-case not Alicia", `{"Name":[{"equals-ignore-case":"alice"}]}`, `{"Name":"Alicia"}`, false},
	{docRulerMD, "equals-ignore-case EC2", `{"source":[{"equals-ignore-case":"AWS.EC2"}]}`, rulerEvent, true},

	// Wildcard.
	{docOps, "wildcard png in dir", `{"FileName":[{"wildcard":"dir/*.png"}]}`, `{"FileName":"dir/image.png"}`, true},
	{docOps, "wildcard png elsewhere", `{"FileName":[{"wildcard":"dir/*.png"}]}`, `{"FileName":"other/image.png"}`, false},
	{docOps, "wildcard jpg in dir", `{"FileName":[{"wildcard":"dir/*.png"}]}`, `{"FileName":"dir/image.jpg"}`, false},
	{docRulerMD, "wildcard Simple*Service", `{"source":[{"wildcard":"Simple*Service"}]}`, `{"source":"SimpleNotificationService"}`, true},
	{docRulerMD, "wildcard Simple*Service no", `{"source":[{"wildcard":"Simple*Service"}]}`, `{"source":"SimpleQueue"}`, false},
	{docRulerMD, "wildcard escaped star is literal", `{"a":[{"wildcard":"x\\*y"}]}`, `{"a":"x*y"}`, true},
	{docRulerMD, "wildcard escaped star is not a wildcard", `{"a":[{"wildcard":"x\\*y"}]}`, `{"a":"xzzy"}`, false},
	{docRulerMD, "wildcard escaped backslash", `{"a":[{"wildcard":"x\\\\*"}]}`, `{"a":"x\\anything"}`, true},

	// Anything-but.
	{docFilter, "anything-but string", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, `{"detail":{"state":"running"}}`, true},
	{docFilter, "anything-but string excluded", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, `{"detail":{"state":"initializing"}}`, false},
	{docFilter, "anything-but number", `{"detail":{"x-limit":[{"anything-but":123}]}}`, `{"detail":{"x-limit":456}}`, true},
	{docFilter, "anything-but number excluded", `{"detail":{"x-limit":[{"anything-but":123}]}}`, `{"detail":{"x-limit":123}}`, false},
	{docFilter, "anything-but list of strings", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, `{"detail":{"state":"overloaded"}}`, false},
	{docFilter, "anything-but list of strings other", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, `{"detail":{"state":"running"}}`, true},
	{docFilter, "anything-but list of numbers", `{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}`, `{"detail":{"x-limit":200}}`, false},
	{docFilter, "anything-but list of numbers other", `{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}`, rulerEvent, true},
	{docFilter, "anything-but prefix init", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, `{"detail":{"state":"initializing"}}`, false},
	{docFilter, "anything-but prefix running", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, `{"detail":{"state":"running"}}`, true},
	{docOps, "anything-but prefix Region not in US", `{"Region":[{"anything-but":{"prefix":"us-"}}]}`, `{"Region":"eu-west-1"}`, true},
	{docOps, "anything-but suffix .png", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.png"}`, false},
	{docOps, "anything-but suffix .jpg", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.jpg"}`, true},
	{docOps, "anything-but ignore case INITIALIZING", `{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}`, `{"state":"INITIALIZING"}`, false},
	{docOps, "anything-but ignore case running", `{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}`, `{"state":"running"}`, true},
	{docOps, "anything-but wildcard /lib/", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/lib/x.so"}`, false},
	{docOps, "anything-but wildcard /bin/", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/bin/x"}`, true},
	{docSNSNumAB, "anything-but array with one other value", `{"price":[{"anything-but":[100,500]}]}`, `{"price":[100,50]}`, true},
	{docSNSNumAB, "anything-but array of only excluded values", `{"price":[{"anything-but":[100,500]}]}`, `{"price":[100,500]}`, false},

	// Numeric.
	{docFilter, "numeric all fields", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`, rulerEvent, true},
	{docFilter, "numeric c-count out of range", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, `{"detail":{"c-count":6}}`, false},
	{docFilter, "numeric c-count lower bound is open", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, `{"detail":{"c-count":0}}`, false},
	{docFilter, "numeric only JSON numbers", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, `{"detail":{"c-count":"3"}}`, false},
	{docOps, "numeric Price is 100", `{"Price":[{"numeric":["=",100]}]}`, `{"Price":100}`, true},
	{docOps, "numeric Price between 10 and 20", `{"Price":[{"numeric":[">",10,"<=",20]}]}`, `{"Price":20}`, true},
	{docOps, "numeric Price 10 not more than 10", `{"Price":[{"numeric":[">",10,"<=",20]}]}`, `{"Price":10}`, false},

	// IP address.
	{docFilter, "cidr in 10.0.0.0/24", `{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, `{"detail":{"sourceIPAddress":"10.0.0.255"}}`, true},
	{docFilter, "cidr outside 10.0.0.0/24", `{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, `{"detail":{"sourceIPAddress":"10.0.1.1"}}`, false},
	{docFilter, "cidr IPv6", `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/32"}]}}`, `{"detail":{"sourceIPAddress":"2001:db8::1"}}`, true},
	{docFilter, "cidr IPv6 outside", `{"detail":{"sourceIPAddress":[{"cidr":"2001:db8::/32"}]}}`, `{"detail":{"sourceIPAddress":"2001:db9::1"}}`, false},
	{docFilter, "cidr not an address", `{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}`, `{"detail":{"sourceIPAddress":"kms.amazonaws.com"}}`, false},

	// Exists.
	{docFilter, "exists true", `{"detail":{"state":[{"exists":true}]}}`, existsEvent, true},
	{docFilter, "exists true without detail.state", `{"detail":{"state":[{"exists":true}]}}`, existsNoState, false},
	{docFilter, "exists false without c-count", `{"detail":{"c-count":[{"exists":false}]}}`, existsNoCCount, true},
	{docFilter, "exists false: c-count is not a leaf", `{"detail":{"c-count":[{"exists":false}]}}`, existsNoState, true},
	{docOps, "exists ProductName", `{"ProductName":[{"exists":true}]}`, `{"ProductName":"x"}`, true},
	{docOps, "does not exist ProductName", `{"ProductName":[{"exists":false}]}`, `{"ProductName":"x"}`, false},

	// $or.
	{docOps, "$or Location New York", `{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}`, `{"Location":"New York","Day":"Friday"}`, true},
	{docOps, "$or Day Monday", `{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}`, `{"Location":"Paris","Day":"Monday"}`, true},
	{docOps, "$or neither", `{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}`, `{"Location":"Paris","Day":"Friday"}`, false},
	{docRulerMD, "$or with and inside", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/ES"}`, true},
	{docRulerMD, "$or with and inside, half", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType"}`, false},
	{docRulerMD, "$or nested in detail", `{"detail":{"$or":[{"source":["aws.cloudwatch"]},{"detail-type":["CloudWatch Alarm State Change"]}]}}`, `{"detail":{"detail-type":"CloudWatch Alarm State Change"}}`, true},

	// Combined example and duplicate keys.
	{docFilter, "complex example", `{"time":[{"prefix":"2017-10-02"}],"detail":{"state":[{"anything-but":"initializing"}],"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"anything-but":[100,200,300]}]}}`, rulerEvent, true},
	{docRulerMD, "complex example with cidr", `{"time":[{"prefix":"2017-10-02"}],"detail":{"state":[{"anything-but":"initializing"}],"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"anything-but":[100,200,300]}],"source-ip":[{"cidr":"10.0.0.0/8"}]}}`, rulerEvent, true},
	{docFilter, "duplicate key: last one wins (us-east excluded)", `{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}`, `{"detail":{"location":"us-east"}}`, false},
	{docFilter, "duplicate key: first one ignored", `{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}`, `{"detail":{"location":"eu-west"}}`, true},
}

func TestDocumentedExamples(t *testing.T) {
	for _, c := range docCases {
		p, err := Compile([]byte(c.pattern))
		if err != nil {
			t.Errorf("%s: %s: compile: %v", c.doc, c.name, err)
			continue
		}
		got, err := p.MatchJSON([]byte(c.event))
		if err != nil {
			t.Errorf("%s: %s: event: %v", c.doc, c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: %s: Match = %v, documented %v", c.doc, c.name, got, c.want)
		}
	}
}
