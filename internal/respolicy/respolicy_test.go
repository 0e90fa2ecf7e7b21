package respolicy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

func statements(n int) []awsiam.PolicyStatement {
	sids := []string{"First", "Second", "Third"}
	var out []awsiam.PolicyStatement
	for _, sid := range sids[:n] {
		out = append(out, awsiam.PolicyStatement_FromJson(map[string]any{
			"Sid": sid, "Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "kms:PutKeyPolicy", "Resource": "*",
		}))
	}
	return out
}

// TestStatementsLandAsAddToResourcePolicyPutsThem: for a key, a bucket and a topic, with and without a
// policy created beforehand (EnforceSSL), the policy built in one call renders exactly as the one built
// with AddToResourcePolicy for each statement. The control: one statement fewer renders differently.
func TestStatementsLandAsAddToResourcePolicyPutsThem(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("S"), nil)
	// render is the policy as the template has it, with the second resource's logical id replaced by the
	// first's, so that the two compare.
	var from, to string
	render := func(doc awsiam.PolicyDocument) any {
		b, err := json.Marshal(stack.Resolve(doc.ToJSON()))
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(b), from, to)
	}
	ids := func(a, b awscdk.IResource) {
		id := func(r awscdk.IResource) string {
			return *stack.GetLogicalId(r.Node().DefaultChild().(awscdk.CfnElement))
		}
		from, to = id(b), id(a)
	}
	for _, ssl := range []bool{false, true} {
		name := map[bool]string{false: "NoPolicyYet", true: "EnforceSSL"}[ssl]
		k1, k2 := awskms.NewKey(stack, jsii.String("KeyA"+name), nil), awskms.NewKey(stack, jsii.String("KeyB"+name), nil)
		for _, st := range statements(3) {
			k1.AddToResourcePolicy(st, jsii.Bool(false))
		}
		Key(k2, statements(3)...)
		ids(k1, k2)
		if a, b := render(k1.Policy()), render(k2.Policy()); !reflect.DeepEqual(a, b) {
			t.Errorf("key %s: one call gave\n  %v\nwant\n  %v", name, b, a)
		}

		b1 := awss3.NewBucket(stack, jsii.String("BucketA"+name), &awss3.BucketProps{EnforceSSL: jsii.Bool(ssl)})
		b2 := awss3.NewBucket(stack, jsii.String("BucketB"+name), &awss3.BucketProps{EnforceSSL: jsii.Bool(ssl)})
		for _, st := range statements(3) {
			b1.AddToResourcePolicy(st)
		}
		Bucket(b2, statements(3)...)
		ids(b1, b2)
		if a, b := render(b1.Policy().Document()), render(b2.Policy().Document()); !reflect.DeepEqual(a, b) {
			t.Errorf("bucket %s: one call gave\n  %v\nwant\n  %v", name, b, a)
		}

		t1 := awssns.NewTopic(stack, jsii.String("TopicA"+name), &awssns.TopicProps{EnforceSSL: jsii.Bool(ssl)})
		t2 := awssns.NewTopic(stack, jsii.String("TopicB"+name), &awssns.TopicProps{EnforceSSL: jsii.Bool(ssl)})
		for _, st := range statements(3) {
			t1.AddToResourcePolicy(st)
		}
		Topic(t2, statements(3)...)
		ids(t1, t2)
		policy := func(topic awssns.Topic) any {
			return render(topic.Node().FindChild(jsii.String("Policy")).(awssns.TopicPolicy).Document())
		}
		if a, b := policy(t1), policy(t2); !reflect.DeepEqual(a, b) {
			t.Errorf("topic %s: one call gave\n  %v\nwant\n  %v", name, b, a)
		}
	}
	// Control.
	short, full := awskms.NewKey(stack, jsii.String("Short"), nil), awskms.NewKey(stack, jsii.String("Full"), nil)
	Key(short, statements(2)...)
	Key(full, statements(3)...)
	ids(short, full)
	if reflect.DeepEqual(render(short.Policy()), render(full.Policy())) {
		t.Error("policies with one statement fewer rendered alike: the comparison would not catch a difference")
	}
}
