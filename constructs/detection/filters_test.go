package detection

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/logfilter"
)

// record is a CloudTrail record, built field by field for the filter tests.
type record map[string]any

// call is a successful CloudTrail record of one API call by an IAM user, with the fields every CloudTrail
// record carries that the filters compare with != (sourceIPAddress, eventName).
func call(service, eventName string) record {
	return record{
		"eventSource": service + ".amazonaws.com", "eventName": eventName, "sourceIPAddress": "203.0.113.5",
		"readOnly": false, "userIdentity": map[string]any{"type": "IAMUser", "userName": "someone"},
	}
}

// with returns a copy of r with the field at a dotted path set.
func (r record) with(path string, v any) record {
	b, _ := json.Marshal(r)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	m := out
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
	return out
}

func (r record) on(keyArns ...string) record {
	var res []any
	for _, a := range keyArns {
		res = append(res, map[string]any{"ARN": a, "type": "AWS::KMS::Key"})
	}
	return r.with("resources", res)
}

func (r record) failed(code string) record {
	return r.with("errorCode", code).with("errorMessage", "refused")
}

const otherKey = "arn:aws:kms:us-east-1:111122223333:key/other"

// matching parses each filter and returns the ids of those that match r.
func matching(t *testing.T, filters []MetricFilter, r record) []string {
	t.Helper()
	var out []string
	for _, f := range filters {
		p, err := logfilter.Parse(f.Pattern)
		if err != nil {
			t.Fatalf("%s: %v", f.ID, err)
		}
		ok, err := p.Match(r)
		if err != nil {
			t.Fatalf("%s on %v: %v", f.ID, r, err)
		}
		if ok {
			out = append(out, f.ID)
		}
	}
	return out
}

// TestEveryAlarmFiresOnTheCallsItIsForAndNotOnLookalikes evaluates each metric filter, as CloudWatch Logs
// reads its pattern (internal/logfilter), on CloudTrail records it must count and on lookalikes it must
// not: the same call on another key, user, trail or rule, a read instead of a write, a success instead of a
// denial. Every filter must have an entry, so a new one cannot go unspecified.
func TestEveryAlarmFiresOnTheCallsItIsForAndNotOnLookalikes(t *testing.T) {
	tg := targets()
	key := tg.KeyArn
	decrypt := call("kms", "Decrypt").with("readOnly", true)
	specs := map[string]struct{ fires, quiet []record }{
		"UnauthorizedCalls": {
			fires: []record{call("ec2", "RunInstances").failed("Client.UnauthorizedOperation"), call("s3", "GetBucketPolicy").failed("AccessDenied"),
				decrypt.on(otherKey).failed("AccessDeniedException")},
			// CIS's documented noise: log delivery's own probes and HeadBucket; and errors that are not denials.
			quiet: []record{call("s3", "GetBucketAcl").failed("AccessDenied").with("sourceIPAddress", "delivery.logs.amazonaws.com"),
				call("s3", "HeadBucket").failed("AccessDenied"), call("ec2", "RunInstances").failed("ThrottlingException"),
				call("ec2", "RunInstances")},
		},
		"KeyDenied": {
			fires: []record{decrypt.on(key).failed("AccessDeniedException"), decrypt.on(key).failed("KMSInvalidStateException"),
				call("kms", "GenerateDataKeyWithoutPlaintext").with("requestParameters.keyId", tg.KeyAlias).failed("DisabledException"),
				call("kms", "EnableKey").with("requestParameters.keyId", tg.KeyID).failed("AccessDeniedException"),
				call("kms", "ReEncrypt").on(otherKey, key).failed("AccessDeniedException")},
			quiet: []record{decrypt.on(otherKey).failed("AccessDeniedException"), decrypt.on(key),
				decrypt.on(key).failed("InvalidCiphertextException"),
				call("kms", "DescribeKey").with("requestParameters.keyId", tg.KeyAlias+"-old").failed("AccessDeniedException")},
		},
		"KeyDisabledOrScheduledForDeletion": {
			fires: []record{call("kms", "DisableKey").on(key), call("kms", "ScheduleKeyDeletion").on(key), call("kms", "PutKeyPolicy").on(key)},
			quiet: []record{call("kms", "DisableKey").on(otherKey), call("kms", "EnableKey").on(key), decrypt.on(key)},
		},
		"CloudTrailChanges": {
			fires: []record{call("cloudtrail", "StopLogging"), call("cloudtrail", "DeleteTrail"), call("cloudtrail", "UpdateTrail"),
				call("cloudtrail", "CreateTrail"), call("cloudtrail", "StartLogging"), call("cloudtrail", "PutEventSelectors")},
			quiet: []record{call("cloudtrail", "DescribeTrails").with("readOnly", true), call("cloudtrail", "GetTrailStatus").with("readOnly", true)},
		},
		"ConsoleSignInWithoutMfa": {
			fires: []record{call("signin", "ConsoleLogin").with("additionalEventData.MFAUsed", "No").with("responseElements.ConsoleLogin", "Success")},
			quiet: []record{call("signin", "ConsoleLogin").with("additionalEventData.MFAUsed", "Yes").with("responseElements.ConsoleLogin", "Success"),
				call("signin", "ConsoleLogin").with("additionalEventData.MFAUsed", "No").with("responseElements.ConsoleLogin", "Failure"),
				call("signin", "ConsoleLogin").with("additionalEventData.MFAUsed", "No").with("responseElements.ConsoleLogin", "Success").
					with("userIdentity.type", "AssumedRole")},
		},
		"AlertPipelineChanges": {
			fires: []record{call("events", "DisableRule").with("requestParameters.name", tg.NamePrefix+"-key-danger-1"),
				call("events", "PutRule").with("requestParameters.name", tg.NamePrefix+"-denied-2"),
				call("events", "RemoveTargets").with("requestParameters.rule", tg.NamePrefix+"-audit-tamper-1")},
			quiet: []record{call("events", "DisableRule").with("requestParameters.name", "other-rule"),
				call("events", "DisableRule").with("requestParameters.name", tg.NamePrefix+"Prod-key-danger-1"),
				call("events", "DescribeRule").with("requestParameters.name", tg.NamePrefix+"-key-danger-1")},
		},
		"KeyPrincipalChanges": {
			fires: []record{call("iam", "CreateAccessKey").with("requestParameters.userName", "MDBEnc"),
				call("iam", "AttachUserPolicy").with("requestParameters.userName", "MDBEncAdmin"),
				// A user acting on itself names no userName in the request.
				call("iam", "DeactivateMFADevice").with("userIdentity.userName", "MDBEncAdmin")},
			quiet: []record{call("iam", "CreateAccessKey").with("requestParameters.userName", "someone-else"),
				call("iam", "GetUser").with("requestParameters.userName", "MDBEnc").with("readOnly", true),
				call("sts", "GetSessionToken").with("userIdentity.userName", "MDBEncAdmin")},
		},
		"KeyPrincipalReplaced": {
			fires: []record{call("iam", "DeleteUser").with("requestParameters.userName", "MDBEnc"),
				call("iam", "CreateUser").with("requestParameters.userName", "MDBEncAdmin")},
			quiet: []record{call("iam", "DeleteUser").with("requestParameters.userName", "someone-else"),
				call("iam", "CreateAccessKey").with("requestParameters.userName", "MDBEnc")},
		},
		"KeyPrincipalSessions": {
			fires: []record{call("sts", "GetSessionToken").with("userIdentity.userName", "MDBEncAdmin"),
				call("sts", "GetSessionToken").with("userIdentity.userName", "MDBEnc").failed("AccessDenied")},
			quiet: []record{call("sts", "GetSessionToken").with("userIdentity.userName", "someone-else"),
				call("sts", "AssumeRole").with("userIdentity.userName", "MDBEnc")},
		},
		"KeyCalls": {
			fires: []record{decrypt.on(key), decrypt.on(key).failed("AccessDeniedException"), call("kms", "DisableKey").on(key)},
			quiet: []record{decrypt.on(otherKey), call("s3", "GetObject").with("requestParameters.keyId", key)},
		},
	}
	filters := MetricFilters(tg)
	for _, f := range filters {
		spec, ok := specs[f.ID]
		if !ok {
			t.Errorf("metric filter %s has no entry here: say which calls it must count and which lookalikes it must not", f.ID)
			continue
		}
		if len(spec.fires) == 0 || len(spec.quiet) == 0 {
			t.Errorf("%s: want at least one record that fires and one lookalike that does not", f.ID)
		}
		only := []MetricFilter{f}
		for _, r := range spec.fires {
			if got := matching(t, only, r); len(got) == 0 {
				b, _ := json.Marshal(r)
				t.Errorf("%s does not fire on %s\npattern %s", f.ID, b, f.Pattern)
			}
		}
		for _, r := range spec.quiet {
			if got := matching(t, only, r); len(got) != 0 {
				b, _ := json.Marshal(r)
				t.Errorf("%s fires on the lookalike %s\npattern %s", f.ID, b, f.Pattern)
			}
		}
	}
	if len(specs) != len(filters) {
		t.Errorf("%d specs for %d metric filters: a spec names a filter that no longer exists", len(specs), len(filters))
	}
}

// TestDeletingOrCreatingAKeyUserAlarms: the key policy matches its users by ARN, so a user deleted and
// re-created under the same name regains the key; both calls must alarm for every watched user. The
// control builds the filter without one user and expects that user's calls to go unnoticed.
func TestDeletingOrCreatingAKeyUserAlarms(t *testing.T) {
	users := []string{"MDBEncAdmin", "MDBEnc", "db-replica"}
	alarmed := func(names []string, user, eventName string) bool {
		var f []MetricFilter
		for _, m := range MetricFilters(Targets{UserNames: names, KeyArn: "k", KeyID: "k", KeyAlias: "alias/k", NamePrefix: "KmsGuard"}) {
			if m.Threshold >= 1 {
				f = append(f, m)
			}
		}
		return slices.Contains(matching(t, f, call("iam", eventName).with("requestParameters.userName", user)), "KeyPrincipalReplaced")
	}
	for _, u := range users {
		for _, ev := range []string{"DeleteUser", "CreateUser"} {
			if !alarmed(users, u, ev) {
				t.Errorf("%s of %s raises no KeyPrincipalReplaced alarm", ev, u)
			}
		}
	}
	if alarmed(users[:2], "db-replica", "DeleteUser") {
		t.Errorf("control: a filter built without db-replica must not see its DeleteUser")
	}
}
