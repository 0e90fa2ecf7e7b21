// Package respolicy adds statements to a resource policy in one call. Each AddToResourcePolicy is three
// round trips to the CDK's process (the call and the two fields of its result), which made up a tenth of a
// synth's requests (docs/checks.md, "Benchmark"); adding the statements to the policy document at once
// gives the same policy, statements in the same order.
package respolicy

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// Key adds sts to key's policy, as key.AddToResourcePolicy(st, false) does for each: it panics when the
// key has no policy document to add to.
func Key(key awskms.Key, sts ...awsiam.PolicyStatement) {
	if len(sts) == 0 {
		return
	}
	doc := key.Policy()
	if doc == nil {
		panic("respolicy: " + *key.Node().Path() + " has no key policy to add statements to")
	}
	doc.AddStatements(sts...)
}

// Bucket adds sts to bucket's policy, creating the policy with the first as AddToResourcePolicy does.
func Bucket(bucket awss3.Bucket, sts ...awsiam.PolicyStatement) {
	if len(sts) == 0 {
		return
	}
	policy := bucket.Policy()
	if policy == nil {
		bucket.AddToResourcePolicy(sts[0])
		policy, sts = bucket.Policy(), sts[1:]
	}
	if len(sts) > 0 {
		policy.Document().AddStatements(sts...)
	}
}

// Topic adds sts to topic's policy, creating the policy with the first as AddToResourcePolicy does. The
// topic policy is the topic's child "Policy", where AddToResourcePolicy puts it.
func Topic(topic awssns.Topic, sts ...awsiam.PolicyStatement) {
	if len(sts) == 0 {
		return
	}
	node := topic.Node()
	child := node.TryFindChild(jsii.String("Policy"))
	if child == nil {
		topic.AddToResourcePolicy(sts[0])
		child, sts = node.FindChild(jsii.String("Policy")), sts[1:]
	}
	if len(sts) > 0 {
		child.(awssns.TopicPolicy).Document().AddStatements(sts...)
	}
}
