package test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/replay"
)

// fullOutputsFile is what `cdk deploy --outputs-file` writes for s: every output of the template, by stack
// name, each with a deployed value (fake, but distinct). without names outputs to leave out (the control).
func fullOutputsFile(t *testing.T, s *Synth, without ...string) []byte {
	t.Helper()
	outs := map[string]string{}
	for _, name := range s.Tpl.OutputIDs() {
		if !slices.Contains(without, name) {
			outs[name] = "deployed-" + name
		}
	}
	raw, err := json.Marshal(map[string]map[string]string{*s.Stack.StackName(): outs})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// replayWarnings loads s's rules as kmsguard-replay --key-arn ... --outputs FILE does, and returns the
// warnings (each one a reference the rules could not resolve).
func replayWarnings(t *testing.T, s *Synth, outputs []byte) []string {
	t.Helper()
	res, err := replay.NewResolver(fakeMasterKeyArn)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.AddOutputs(s.Bytes, outputs); err != nil {
		t.Fatal(err)
	}
	_, warnings, err := replay.LoadRules(s.Bytes, res)
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return warnings
}

// TestReplayWithTheOutputsFileResolvesEveryReference: an operator who passes kmsguard-replay the key ARN and
// the file `cdk deploy --outputs-file` wrote needs nothing else; no alert rule is replayed with a value that
// matches nothing (docs/outputs.md, docs/replay.md). Every test configuration, so an output missing in one
// shape (an existing trail, existing users) is caught.
func TestReplayWithTheOutputsFileResolvesEveryReference(t *testing.T) {
	for _, name := range slices.Sorted(mapKeys(configs)) {
		s := synth(t, name)
		for _, w := range replayWarnings(t, s, fullOutputsFile(t, s)) {
			t.Errorf("%s: with a full outputs file, replay still warns: %s", name, w)
		}
	}
}

// TestReplayNamesAReferenceTheOutputsFileLacks is the control: without one output the rules use, replay
// warns about exactly the reference that output supplies.
func TestReplayNamesAReferenceTheOutputsFileLacks(t *testing.T) {
	s := synth(t, "default")
	for _, output := range []string{"AccessLogBucketName", "AlertTopicKeyArn", "AuditKeyArn", "DeadLetterQueueUrl"} {
		value, ok := s.Tpl.Outputs[output]
		if !ok {
			t.Errorf("default: no output %s", output)
			continue
		}
		ref, ok := cfntemplate.RefOf(value.Value)
		if !ok {
			t.Errorf("output %s is not a Ref or Fn::GetAtt, so --outputs cannot use it: %v", output, value.Value)
			continue
		}
		warnings := replayWarnings(t, s, fullOutputsFile(t, s, output))
		if len(warnings) == 0 {
			t.Errorf("without %s (%s), replay does not warn", output, ref)
		}
		for _, w := range warnings {
			if !strings.Contains(w, "cannot resolve "+ref.String()) {
				t.Errorf("without %s: warning %q is not about %s", output, w, ref)
			}
		}
	}
}
