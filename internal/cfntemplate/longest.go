package cfntemplate

import (
	"strings"
)

// The longest values the pseudo parameters can take, across AWS's partitions (docs/quotas.md, "Longest
// values"). A size limit that holds with these holds in every partition and region.
const (
	LongestPartition = "aws-us-gov"       // aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc
	LongestRegion    = "us-isof-south-1"  // 15 characters; the longest commercial ones (ap-southeast-5 …) have 14
	LongestAccountID = "123456789012"     // account ids are always 12 digits
	LongestURLSuffix = "amazonaws.com.cn" // aws-cn's; amazonaws.com elsewhere in the commercial partitions
	// LongestKeyID stands for a KMS key id: a UUID (36 characters), or "mrk-" and 32 hex digits (also 36).
	LongestKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	// GeneratedSuffix stands for the random part CloudFormation appends to a name it generates
	// (stack-LogicalId-RANDOM, truncated to the service's limit), at its longest.
	GeneratedSuffix = "abcdefgh12345"
	uuidLength      = 36
)

// nameRule is how one resource type is named: the property that names it, the longest name the service
// accepts (which also caps a name CloudFormation generates), and whether names are lower case.
type nameRule struct {
	prop  string
	max   int
	lower bool
}

// nameRules are the resource types whose names (or ARNs built from them) kmsguard templates reference.
var nameRules = map[string]nameRule{
	"AWS::S3::Bucket":            {"BucketName", 63, true},
	"AWS::SNS::Topic":            {"TopicName", 256, false},
	"AWS::SQS::Queue":            {"QueueName", 80, false},
	"AWS::IAM::User":             {"UserName", 64, false},
	"AWS::IAM::Role":             {"RoleName", 64, false},
	"AWS::IAM::Group":            {"GroupName", 128, false},
	"AWS::IAM::ManagedPolicy":    {"ManagedPolicyName", 128, false},
	"AWS::Logs::LogGroup":        {"LogGroupName", 512, false},
	"AWS::CloudTrail::Trail":     {"TrailName", 128, false},
	"AWS::Events::Rule":          {"Name", 64, false},
	"AWS::Events::EventBus":      {"Name", 256, false},
	"AWS::CloudWatch::Alarm":     {"AlarmName", 255, false},
	"AWS::CloudWatch::Dashboard": {"DashboardName", 255, false},
	"AWS::KMS::Alias":            {"AliasName", 256, false},
	"AWS::KMS::Key":              {"", 0, false},
	"AWS::KMS::ReplicaKey":       {"", 0, false},
	"AWS::SNS::Subscription":     {"", 0, false},
}

// NameLimit returns the longest name a resource type accepts, 0 when this package does not know it.
func NameLimit(resourceType string) int { return nameRules[resourceType].max }

// Longest returns a Resolver that gives every reference in t the longest value it can take when the
// stack is deployed under a name of stackNameLength characters: pseudo parameters at their longest, a
// resource's name as its name property gives it or, where CloudFormation generates it, at the longest a
// generated name can be; ARNs, URLs and ids built from those. A reference to a resource type it does not
// know stays unresolved, so a size check never passes on a guess. values may pin some references (nil is
// fine).
func Longest(t *Template, stackNameLength int, values map[string]string) *Resolver {
	stack := strings.Repeat("S", stackNameLength)
	r := &Resolver{
		Template: t,
		Values:   values,
		Pseudo: Pseudo{
			Partition: LongestPartition, Region: LongestRegion, AccountID: LongestAccountID,
			URLSuffix: LongestURLSuffix, StackName: stack,
			StackID: "arn:" + LongestPartition + ":cloudformation:" + LongestRegion + ":" + LongestAccountID + ":stack/" + stack + "/" + LongestKeyID,
		},
	}
	r.Fallback = func(ref Ref) (string, bool) { return longestOf(r, t, stack, ref) }
	r.LongestIf = true
	return r
}

// longestOf is the longest value of one reference to a resource of t.
func longestOf(r *Resolver, t *Template, stack string, ref Ref) (string, bool) {
	res, ok := t.Resources[ref.ID]
	if !ok {
		return "", false
	}
	rule, known := nameRules[res.Type]
	if !known {
		return "", false
	}
	p := r.Pseudo
	arn := func(service, region, account, resource string) string {
		return "arn:" + p.Partition + ":" + service + ":" + region + ":" + account + ":" + resource
	}
	name := func() string {
		if rule.prop != "" {
			if v, ok := res.Properties[rule.prop]; ok {
				s, _ := r.String(v)
				return s
			}
		}
		return generatedName(stack, ref.ID, rule)
	}
	path := func() string {
		if v, ok := res.Properties["Path"]; ok {
			s, _ := r.String(v)
			return s
		}
		return "/"
	}
	switch res.Type + "|" + ref.Attr {
	case "AWS::S3::Bucket|":
		return name(), true
	case "AWS::S3::Bucket|Arn":
		return arn("s3", "", "", name()), true
	case "AWS::S3::Bucket|DomainName":
		return name() + ".s3." + p.URLSuffix, true
	case "AWS::S3::Bucket|RegionalDomainName":
		return name() + ".s3." + p.Region + "." + p.URLSuffix, true
	case "AWS::SNS::Topic|", "AWS::SNS::Topic|TopicArn":
		return arn("sns", p.Region, p.AccountID, name()), true
	case "AWS::SNS::Topic|TopicName":
		return name(), true
	case "AWS::SNS::Subscription|":
		topic, _ := r.String(res.Properties["TopicArn"])
		return topic + ":" + LongestKeyID, true
	case "AWS::SQS::Queue|", "AWS::SQS::Queue|QueueUrl":
		return "https://sqs." + p.Region + "." + p.URLSuffix + "/" + p.AccountID + "/" + name(), true
	case "AWS::SQS::Queue|Arn":
		return arn("sqs", p.Region, p.AccountID, name()), true
	case "AWS::SQS::Queue|QueueName":
		return name(), true
	case "AWS::IAM::User|", "AWS::IAM::Role|", "AWS::IAM::Group|":
		return name(), true
	case "AWS::IAM::User|Arn":
		return arn("iam", "", p.AccountID, "user"+path()+name()), true
	case "AWS::IAM::Role|Arn":
		return arn("iam", "", p.AccountID, "role"+path()+name()), true
	case "AWS::IAM::Group|Arn":
		return arn("iam", "", p.AccountID, "group"+path()+name()), true
	case "AWS::IAM::Role|RoleId", "AWS::IAM::User|UserId", "AWS::IAM::Group|GroupId":
		return "AROA" + strings.Repeat("X", 17), true // unique ids are 21 characters
	case "AWS::IAM::ManagedPolicy|", "AWS::IAM::ManagedPolicy|PolicyArn":
		return arn("iam", "", p.AccountID, "policy"+path()+name()), true
	case "AWS::Logs::LogGroup|":
		return name(), true
	case "AWS::Logs::LogGroup|Arn":
		return arn("logs", p.Region, p.AccountID, "log-group:"+name()+":*"), true
	case "AWS::CloudTrail::Trail|":
		return name(), true
	case "AWS::CloudTrail::Trail|Arn":
		return arn("cloudtrail", p.Region, p.AccountID, "trail/"+name()), true
	case "AWS::Events::Rule|":
		return name(), true
	case "AWS::Events::Rule|Arn":
		return arn("events", p.Region, p.AccountID, "rule/"+name()), true
	case "AWS::Events::EventBus|", "AWS::Events::EventBus|Name":
		return name(), true
	case "AWS::Events::EventBus|Arn":
		return arn("events", p.Region, p.AccountID, "event-bus/"+name()), true
	case "AWS::CloudWatch::Alarm|":
		return name(), true
	case "AWS::CloudWatch::Alarm|Arn":
		return arn("cloudwatch", p.Region, p.AccountID, "alarm:"+name()), true
	case "AWS::CloudWatch::Dashboard|":
		return name(), true
	case "AWS::KMS::Key|", "AWS::KMS::Key|KeyId", "AWS::KMS::ReplicaKey|", "AWS::KMS::ReplicaKey|KeyId":
		return LongestKeyID, true
	case "AWS::KMS::Key|Arn", "AWS::KMS::ReplicaKey|Arn":
		return arn("kms", p.Region, p.AccountID, "key/"+LongestKeyID), true
	case "AWS::KMS::Alias|":
		return name(), true
	}
	return "", false
}

// generatedName is the longest name CloudFormation can generate for a resource: stack name, logical id
// and a random suffix joined by hyphens, truncated to the service's limit (docs/quotas.md).
func generatedName(stack, logicalID string, rule nameRule) string {
	full := stack + "-" + logicalID + "-" + GeneratedSuffix
	if rule.max > 0 && len(full) > rule.max {
		keep := rule.max - len(GeneratedSuffix) - 1
		full = (stack + "-" + logicalID)[:keep] + "-" + GeneratedSuffix
	}
	if rule.lower {
		full = strings.ToLower(full)
	}
	return full
}

// IsGeneratedName reports whether a resource of t gets a name CloudFormation generates (its type has a
// name property and the resource does not set it).
func (t *Template) IsGeneratedName(id string) bool {
	res, ok := t.Resources[id]
	if !ok {
		return false
	}
	rule, known := nameRules[res.Type]
	if !known || rule.prop == "" {
		return false
	}
	_, set := res.Properties[rule.prop]
	return !set
}
