// Package emulator deploys the kmsguard stack into moto_server (an AWS emulator) with the real CDK CLI:
// `cdk bootstrap` then `cdk deploy`, pointed at moto with AWS_ENDPOINT_URL. It is shared by `make demo`
// (scripts/demo) and test/demo_test.go.
//
// moto is no proof of the stack: its CloudFormation silently skips AWS::CloudTrail::Trail,
// AWS::S3::BucketPolicy, AWS::SNS::TopicPolicy and AWS::SNS::Subscription, never evaluates a key policy,
// and cannot deliver EventBridge events. What it does show: the CLI can deploy the template end to end,
// and the key, its rotation and alias, the rules with their patterns and targets, the log group and the
// IAM users come out as the template says.
//
// moto 5.2.1 does not implement cloudformation:UpdateTerminationProtection, which `cdk deploy` calls
// because the stack turns termination protection on. A small proxy in front of moto answers that one
// call (and records what was asked) and forwards everything else unchanged.
package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/motoserver"
)

// Account and Region of the emulated environment (moto's default account).
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// Emulator is a running moto_server and the proxy in front of it.
type Emulator struct {
	moto     *motoserver.Server
	proxy    *http.Server
	Endpoint string // what clients use: http://localhost:PORT (path-style S3 needs "localhost")

	mu                    sync.Mutex
	TerminationProtection map[string]string // stack name -> EnableTerminationProtection asked for
}

// Start launches moto_server on 127.0.0.1 and a free port, and the proxy on another. Call Stop.
func Start() (*Emulator, error) {
	moto, err := motoserver.Start(motoserver.Options{ReadyTimeout: 60 * time.Second, StopGrace: 5 * time.Second, LogPattern: "kmsguard-moto-*.log"})
	var notReady *motoserver.NotReadyError
	if errors.As(err, &notReady) {
		return nil, fmt.Errorf("moto_server did not answer: %v\n%s", notReady.Err, notReady.Log)
	}
	if err != nil {
		return nil, err
	}
	e := &Emulator{moto: moto, TerminationProtection: map[string]string{}}

	target, _ := url.Parse(moto.Endpoint())
	rp := httputil.NewSingleHostReverseProxy(target)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.Stop()
		return nil, err
	}
	e.proxy = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "UpdateTerminationProtection" {
				e.mu.Lock()
				e.TerminationProtection[form.Get("StackName")] = form.Get("EnableTerminationProtection")
				e.mu.Unlock()
				w.Header().Set("Content-Type", "text/xml")
				fmt.Fprintf(w, `<UpdateTerminationProtectionResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">`+
					`<UpdateTerminationProtectionResult><StackId>%s</StackId></UpdateTerminationProtectionResult>`+
					`<ResponseMetadata><RequestId>kmsguard-emulator</RequestId></ResponseMetadata></UpdateTerminationProtectionResponse>`,
					xmlEscape(form.Get("StackName")))
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go e.proxy.Serve(l)
	e.Endpoint = "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	return e, nil
}

// Stop stops the proxy and kills moto_server (its process group, by pid).
func (e *Emulator) Stop() {
	if e.proxy != nil {
		e.proxy.Close()
	}
	e.moto.Stop()
}

// MotoLogTail returns the last n bytes of moto_server's log so far (for failure messages).
func (e *Emulator) MotoLogTail(n int) string {
	log := e.moto.Log()
	if len(log) > n {
		return log[len(log)-n:]
	}
	return log
}

// Env is the environment for every AWS client pointed at the emulator: fake credentials (not secrets),
// the region, the endpoint, and no instance-metadata lookups.
func (e *Emulator) Env() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			continue // never reach a real account from here
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=AKIAKMSGUARDEMULATOR",
		"AWS_SECRET_ACCESS_KEY=kmsguard-emulator-not-a-secret",
		"AWS_DEFAULT_REGION="+Region,
		"AWS_REGION="+Region,
		"AWS_ENDPOINT_URL="+e.Endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"CDK_DISABLE_CLI_TELEMETRY=true",
	)
}

// Synth runs `cdk synth` with cdk.json in dir, plus contextArgs (such as -c example=true), into outdir (never
// the working tree's cdk.out).
func (e *Emulator) Synth(ctx context.Context, cdkBin, dir, outdir string, out io.Writer, contextArgs ...string) error {
	cmd := exec.CommandContext(ctx, cdkBin, append([]string{"synth", "--quiet", "--no-notices", "--output", outdir}, contextArgs...)...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, e.Env(), out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cdk synth: %w", err)
	}
	return nil
}

// Deploy runs `cdk bootstrap` and `cdk deploy` of stack with the CDK CLI in cdkBin, deploying the cloud
// assembly in app as it is (no second synth). The stack outputs are written to outputsFile; the CLI's
// output goes to out.
func (e *Emulator) Deploy(ctx context.Context, cdkBin, dir, app, stack, outputsFile string, out io.Writer) error {
	common := []string{"--no-notices", "--ci", "--app", app}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, cdkBin, args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, e.Env(), out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("cdk %s: %w", args[0], err)
		}
		return nil
	}
	if err := run(append([]string{"bootstrap", "aws://" + Account + "/" + Region}, common...)...); err != nil {
		return err
	}
	return run(append([]string{"deploy", stack, "--require-approval", "never", "--outputs-file", outputsFile}, common...)...)
}

// MotoSkips are the resource types in the stack that moto 5.2.1's CloudFormation does not implement: it
// logs "No Moto CloudFormation support" and creates nothing for them.
var MotoSkips = map[string]bool{
	"AWS::CloudTrail::Trail": true, "AWS::S3::BucketPolicy": true, "AWS::SNS::TopicPolicy": true,
	"AWS::SNS::Subscription": true, "AWS::CloudWatch::Alarm": true, "AWS::Logs::MetricFilter": true,
	"AWS::IAM::Group": true,
}

// ForMoto copies the cloud assembly in src (its top-level files) to dst and adapts the stack's template
// to what moto 5.2.1 implements, with two rewrites and nothing else:
//   - Fn::GetAtt [key, KeyId] on an AWS::KMS::Key becomes Ref key, which AWS documents as the same value
//     (the key id); moto's CloudFormation lacks the attribute;
//   - Fn::GetAtt of a resource moto skips (MotoSkips; e.g. alarm ARNs in the dashboard body) becomes the
//     string "moto-skipped:<logical id>", because moto rejects a template that reads an attribute of a
//     resource it did not create.
//
// It returns how many of each were rewritten.
func ForMoto(src, dst, stack string) (keyIDs, skipped int, err error) {
	entries, err := os.ReadDir(src)
	if err != nil {
		return 0, 0, err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, 0, err
	}
	for _, en := range entries {
		if en.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, en.Name()))
		if err != nil {
			return 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(dst, en.Name()), b, 0o644); err != nil {
			return 0, 0, err
		}
	}
	file := filepath.Join(dst, stack+".template.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, 0, err
	}
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		return 0, 0, err
	}
	rewritten := cfntemplate.Rewrite(doc, func(node map[string]any) (any, bool) {
		ref, ok := cfntemplate.RefOf(node)
		if !ok || ref.Attr == "" {
			return nil, false
		}
		typ := tpl.Resources[ref.ID].Type
		if ref.Attr == "KeyId" && typ == "AWS::KMS::Key" {
			keyIDs++
			return map[string]any{"Ref": ref.ID}, true
		}
		if MotoSkips[typ] {
			skipped++
			return "moto-skipped:" + ref.ID, true
		}
		return nil, false
	})
	out, err := json.MarshalIndent(rewritten, "", " ")
	if err != nil {
		return 0, 0, err
	}
	return keyIDs, skipped, os.WriteFile(file, out, 0o644)
}

// MasterKeyLogicalID finds the master key (Metadata kmsguard:role=master-key) in a template.
func MasterKeyLogicalID(template []byte) (string, error) {
	tpl, err := cfntemplate.Parse(template)
	if err != nil {
		return "", err
	}
	return tpl.OneWithMetadata("kmsguard:role", "master-key")
}

// Inspect asks the emulator, with boto3 (scripts/demo/emulator_state.py), what exists for the stack: the key,
// its rotation, aliases, EventBridge rules with patterns and targets, log groups, IAM users, and the
// CloudFormation resource list. It returns emulator_state.py's JSON.
func (e *Emulator) Inspect(ctx context.Context, repo, stack, keyLogicalID string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "python3", filepath.Join(repo, "scripts", "demo", "emulator_state.py"), stack, keyLogicalID)
	cmd.Env = e.Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("emulator_state.py: %v\n%s", err, stderr.String())
	}
	return out, nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
