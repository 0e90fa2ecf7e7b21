package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kmsguard/kmsguard/stacks"
)

// A StackSet template over CloudFormation's inline limit goes through TemplateURL, as a file asset of the
// home central stack (docs/fleet.md, "Template size").

// stackSetProps is the home central stack's StackSet resource of that name.
func stackSetProps(t *testing.T, s *FleetSynth, name string) map[string]any {
	t.Helper()
	for _, r := range s.resources(s.Stacks[0], "AWS::CloudFormation::StackSet") {
		if p := r["Properties"].(map[string]any); p["StackSetName"] == name {
			return p
		}
	}
	t.Fatalf("%s: no StackSet %s in %s", s.Name, name, s.Stacks[0])
	return nil
}

// fileAssets are the file assets of a stack in the cloud assembly's asset manifest (STACK.assets.json), by
// source hash: the path of the file in cdk.out and the S3 object key it is published to.
func fileAssets(t *testing.T, dir, stack string) map[string][2]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, stack+".assets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Files map[string]struct {
			Source       struct{ Path, Packaging string }
			Destinations map[string]struct{ ObjectKey string }
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for hash, f := range m.Files {
		for _, d := range f.Destinations {
			out[hash] = [2]string{f.Source.Path, d.ObjectKey}
		}
	}
	return out
}

var templateURLForm = regexp.MustCompile(`^https://s3\.eu-west-1\.\$\{AWS::URLSuffix\}/cdk-hnb659fds-assets-999988887777-eu-west-1/([0-9a-f]{64})\.json$`)

// TestStackSetTemplateOverTheInlineLimitGoesThroughTemplateURL: at the longest names with the member trail
// and a multi-Region key, the regional template is over 51,200 bytes compacted; the synth (its quota check
// included) succeeds, the regional StackSet has a TemplateURL and no TemplateBody, the HTTPS URL of a file
// asset of the home central stack in its bootstrap bucket, and the asset's file in cdk.out is byte for byte
// the template written for review, named by its SHA-256. The controls: the identity template of the same
// fleet, the regional template of fleet-mrk and that of fleet-longest (no multi-Region key) fit and stay
// inline.
func TestStackSetTemplateOverTheInlineLimitGoesThroughTemplateURL(t *testing.T) {
	s := synthFleet(t, "fleet-mrk-longest")
	cfg := s.Fleet.Config
	name := cfg.RegionalStackSetName()
	var compact bytes.Buffer
	if err := json.Compact(&compact, s.Files[name]); err != nil {
		t.Fatal(err)
	}
	if compact.Len() <= stacks.MaxTemplateBody {
		t.Fatalf("the test needs a regional template over the inline limit; it is %d bytes", compact.Len())
	}
	p := stackSetProps(t, s, name)
	if _, ok := p["TemplateBody"]; ok {
		t.Error("the oversized regional template is still inline")
	}
	url := flatten(p["TemplateURL"])
	m := templateURLForm.FindStringSubmatch(url)
	if m == nil {
		t.Fatalf("TemplateURL %q is not the HTTPS URL of an object in the home region's bootstrap bucket", url)
	}
	sum := sha256.Sum256(s.Files[name])
	hash := hex.EncodeToString(sum[:])
	if m[1] != hash {
		t.Errorf("TemplateURL names object %s.json, want the template's SHA-256 %s", m[1], hash)
	}
	assets := fileAssets(t, s.Dir, s.Stacks[0])
	a, ok := assets[hash]
	if !ok {
		t.Fatalf("the home central stack's asset manifest has no asset %s (it has %v)", hash, assets)
	}
	if a[1] != hash+".json" {
		t.Errorf("the asset is published as %s, TemplateURL reads %s.json", a[1], hash)
	}
	file, err := os.ReadFile(filepath.Join(s.Dir, a[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, s.Files[name]) {
		t.Errorf("the asset %s is not the template written for review (%s.template.json)", a[0], name)
	}
	if got := s.Fleet.Central[0].TemplateAssets[name]; got == nil || got.File != a[0] {
		t.Errorf("the central stack reports the asset %v, the manifest %s", got, a[0])
	}
	// Controls: templates that fit are inline, with no asset.
	if ip := stackSetProps(t, s, cfg.IdentityStackSetName()); ip["TemplateBody"] == nil || ip["TemplateURL"] != nil {
		t.Errorf("control: the identity template of the same fleet is not inline")
	}
	small := synthFleet(t, "fleet-mrk")
	if sp := stackSetProps(t, small, "KmsGuard-Regional"); sp["TemplateBody"] == nil || sp["TemplateURL"] != nil {
		t.Errorf("control: fleet-mrk's regional template, which fits, is not inline")
	}
	if files, _ := filepath.Glob(filepath.Join(small.Dir, "asset.*.json")); len(files) > 0 {
		t.Errorf("control: fleet-mrk writes template assets %v", files)
	}
	longest := synthFleet(t, "fleet-longest")
	if lp := stackSetProps(t, longest, longest.Fleet.Config.RegionalStackSetName()); lp["TemplateBody"] == nil || lp["TemplateURL"] != nil {
		t.Errorf("control: without multiRegionKey the regional template at the longest names is not inline")
	}
}

// TestStackSetTemplateAssetIsDeterministic: two synths of the same configuration write the same asset
// name, bytes and TemplateURL (the hash is the content's); a different template gets a different one.
func TestStackSetTemplateAssetIsDeterministic(t *testing.T) {
	cfg, err := stacks.ParseConfig(fleetConfigs["fleet"])
	if err != nil {
		t.Fatal(err)
	}
	build := func(body string) (asset stacks.TemplateAsset, file []byte, url string) {
		dir := t.TempDir()
		app := stacks.NewApp(dir, false)
		c := stacks.NewCentralStack(app, cfg, "us-east-1", []stacks.StackSetTemplate{{Name: "KmsGuard-Regional", Regions: []string{"us-east-1"},
			Capability: "CAPABILITY_IAM", Body: body, File: []byte(body)}})
		a := c.TemplateAssets["KmsGuard-Regional"]
		if a == nil {
			t.Fatal("no template asset")
		}
		app.Synth(nil)
		raw, err := os.ReadFile(filepath.Join(dir, a.File))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := os.ReadFile(filepath.Join(dir, *c.StackName()+".template.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(tpl, &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc["Resources"].(map[string]any) {
			if p := r.(map[string]any)["Properties"].(map[string]any); p["StackSetName"] == "KmsGuard-Regional" {
				url = flatten(p["TemplateURL"])
			}
		}
		return stacks.TemplateAsset{File: a.File, Hash: a.Hash}, raw, url
	}
	body := `{"Resources":{}}` + strings.Repeat(" ", stacks.MaxTemplateBody)
	a1, f1, u1 := build(body)
	a2, f2, u2 := build(body)
	if a1 != a2 || !bytes.Equal(f1, f2) || u1 != u2 || u1 == "" {
		t.Errorf("two synths differ: %+v %s, %+v %s", a1, u1, a2, u2)
	}
	a3, _, u3 := build(body + " ")
	if a3.File == a1.File || u3 == u1 {
		t.Errorf("control: a different template got the same asset %s", a3.File)
	}
}

// TestStackSetTemplateSizeLimits: a compacted body at 51,200 bytes is inline and one byte more goes
// through TemplateURL; a template file over CloudFormation's 1 MB for S3 fails the synth with that limit
// named, and one at it is accepted (the control).
func TestStackSetTemplateSizeLimits(t *testing.T) {
	cfg, err := stacks.ParseConfig(fleetConfigs["fleet"])
	if err != nil {
		t.Fatal(err)
	}
	build := func(body, file int) (c *stacks.CentralStack, msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		pad := func(n int) string { return `{"Resources":{}}` + strings.Repeat(" ", n-len(`{"Resources":{}}`)) }
		app := stacks.NewApp(t.TempDir(), false)
		c = stacks.NewCentralStack(app, cfg, "us-east-1", []stacks.StackSetTemplate{{Name: "KmsGuard-Regional", Regions: []string{"us-east-1"},
			Capability: "CAPABILITY_IAM", Body: pad(body), File: []byte(pad(file))}})
		return c, ""
	}
	if c, msg := build(stacks.MaxTemplateBody, stacks.MaxTemplateBody); msg != "" || len(c.TemplateAssets) != 0 {
		t.Errorf("a body at the inline limit: %q, assets %v", msg, c.TemplateAssets)
	}
	if c, msg := build(stacks.MaxTemplateBody+1, stacks.MaxTemplateBody+1); msg != "" || c.TemplateAssets["KmsGuard-Regional"] == nil {
		t.Errorf("a body one byte over the inline limit did not become a template asset: %q", msg)
	}
	if _, msg := build(stacks.MaxTemplateBody+1, stacks.MaxTemplateURLSize+1); !strings.Contains(msg, "over CloudFormation's limit of 1000000 bytes for a template in Amazon S3") {
		t.Errorf("a template over the S3 limit was accepted or not refused by that limit: %q", msg)
	}
	if _, msg := build(stacks.MaxTemplateBody+1, stacks.MaxTemplateURLSize); msg != "" {
		t.Errorf("control: a template at the S3 limit was refused: %s", msg)
	}
}

// TestAppWritesTheStackSetTemplateAssetItPublishes: the real CDK app (bin/), as cdk synth and cdk deploy
// run it, writes the template asset into the cloud assembly next to the home central stack's asset
// manifest, byte for byte the template written for review and the one the test harness synthesizes. The
// control is the "fleet" configuration, whose app output has no template asset.
func TestAppWritesTheStackSetTemplateAssetItPublishes(t *testing.T) {
	t.Parallel() // the app runs as a process of its own (runApp)
	s := synthFleet(t, "fleet-mrk-longest")
	name := s.Fleet.Config.RegionalStackSetName()
	outdir, out, err := runApp(t, fleetConfigs["fleet-mrk-longest"])
	if err != nil {
		t.Fatalf("synth failed: %v\n%s", err, out)
	}
	sum := sha256.Sum256(s.Files[name])
	hash := hex.EncodeToString(sum[:])
	a, ok := fileAssets(t, outdir, s.Stacks[0])[hash]
	if !ok {
		t.Fatalf("the app's asset manifest of %s has no asset %s", s.Stacks[0], hash)
	}
	asset, err := os.ReadFile(filepath.Join(outdir, a[0]))
	if err != nil {
		t.Fatal(err)
	}
	review, err := os.ReadFile(filepath.Join(outdir, name+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(asset, review) || !bytes.Equal(asset, s.Files[name]) {
		t.Error("the app's template asset, its review file and the harness's template differ")
	}
	plain, out, err := runApp(t, fleetConfigs["fleet"])
	if err != nil {
		t.Fatalf("control: synth failed: %v\n%s", err, out)
	}
	if files, _ := filepath.Glob(filepath.Join(plain, "asset.*.json")); len(files) > 0 {
		t.Errorf("control: the inline fleet wrote template assets %v", files)
	}
}
