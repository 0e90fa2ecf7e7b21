// Command demo (make demo) deploys the kmsguard stack into moto_server on 127.0.0.1 with the real CDK
// CLI (cdk bootstrap, cdk deploy, cdk.json context), drives the deployed key with kms-manage-key, prints
// what was created, and stops moto. It is a demonstration, not proof: moto skips the trail, the bucket
// and topic policies and the subscriptions, and evaluates no key policy (see docs/checks.md).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kmsguard/kmsguard/scripts/demo/emulator"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	stack := os.Getenv("STACK")
	if stack == "" {
		stack = "KmsGuard"
	}
	cdk := filepath.Join(repo, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(cdk); err != nil {
		return fmt.Errorf("the CDK CLI is not installed: run make setup (%v)", err)
	}

	// The CDK's own output (about a thousand lines) goes to the log; the terminal gets the narration.
	if err := os.MkdirAll(filepath.Join(repo, ".demo"), 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(repo, ".demo", "demo.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log = logFile
	fmt.Printf("== full log: %s\n", logPath)

	emu, err := emulator.Start()
	if err != nil {
		return err
	}
	defer emu.Stop()
	if err := demo(ctx, emu, repo, stack, cdk); err != nil {
		return fmt.Errorf("%w\nmoto log (tail):\n%s", err, emu.MotoLogTail(6000))
	}
	return nil
}

// log receives everything the demo's tools print; say also writes to the terminal.
var log io.Writer = os.Stdout

func say(format string, a ...any) {
	fmt.Printf(format, a...)
	fmt.Fprintf(log, format, a...)
}

func demo(ctx context.Context, emu *emulator.Emulator, repo, stack, cdk string) error {
	say("== moto_server behind %s (account %s, %s)\n", emu.Endpoint, emulator.Account, emulator.Region)

	dir, err := os.MkdirTemp("", "kmsguard-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	outputs := filepath.Join(dir, "outputs.json")
	// CDK_ARGS (from kmsguard-make cdk-args) selects the example configuration when cdk.json leaves the
	// alert subscribers and networks unset (README.md, "Safe by default").
	contextArgs := strings.Fields(os.Getenv("CDK_ARGS"))
	say("== cdk synth (context from cdk.json %s)\n", strings.Join(contextArgs, " "))
	synthDir, app := filepath.Join(dir, "synth"), filepath.Join(dir, "assembly")
	if err := emu.Synth(ctx, cdk, repo, synthDir, log, contextArgs...); err != nil {
		return err
	}
	keyIDs, skipped, err := emulator.ForMoto(synthDir, app, stack)
	if err != nil {
		return err
	}
	say("== adapted for moto: %d Fn::GetAtt [key, KeyId] -> Ref key (same value in AWS; moto lacks the attribute), "+
		"%d Fn::GetAtt of resources moto skips -> placeholder strings\n", keyIDs, skipped)
	say("== cdk bootstrap + cdk deploy\n")
	if err := emu.Deploy(ctx, cdk, repo, app, stack, outputs, log); err != nil {
		return err
	}
	say("== cdk deploy asked for termination protection: %q\n", emu.TerminationProtection[stack])

	rawOutputs, err := os.ReadFile(outputs)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "== cdk deploy --outputs-file\n%s\n", rawOutputs)
	tmpl, err := os.ReadFile(filepath.Join(app, stack+".template.json"))
	if err != nil {
		return err
	}
	keyLogicalID, err := emulator.MasterKeyLogicalID(tmpl)
	if err != nil {
		return err
	}
	report, err := emu.Inspect(ctx, repo, stack, keyLogicalID)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "== what moto holds after cdk deploy (scripts/demo/emulator_state.py)\n%s", report)
	deployed, err := emulator.Deployed(report, tmpl)
	if err != nil {
		return err
	}
	say("== deployed:\n%s\n", strings.Join(deployed, "\n"))
	var got struct {
		Key struct{ KeyId, Arn string }
	}
	if err := json.Unmarshal(report, &got); err != nil {
		return err
	}
	values, admin, err := emulator.DeployedValues(report, tmpl, rawOutputs)
	if err != nil {
		return err
	}

	// moto accepts any MFA code; the key id, not the ARN (moto's key-ARN lookups are unreliable).
	commands := []string{"status", "disable", "status", "enable", "status"}
	for _, cmdName := range commands {
		c := exec.CommandContext(ctx, "go", "run", "./cmd/kms-manage-key", "--key-id", got.Key.KeyId,
			"--mfa-serial", "arn:aws:iam::"+emulator.Account+":mfa/MDBEncAdmin", "--mfa-code", "123456", cmdName)
		var out strings.Builder
		c.Dir, c.Env, c.Stdout, c.Stderr = repo, emu.Env(), io.MultiWriter(&out, log), io.MultiWriter(&out, log)
		if err := c.Run(); err != nil {
			return fmt.Errorf("kms-manage-key %s: %w\n%s", cmdName, err, out.String())
		}
		say("== kms-manage-key %-7s %s\n", cmdName, manageKeyGist(out.String()))
	}

	alerts, err := emulator.ExpectedAlerts(tmpl, values, admin, got.Key.Arn, emulator.ManageKeyCalls(commands))
	if err != nil {
		return err
	}
	say("== alerts that arrived: none, and none can here: moto runs no CloudTrail, and its EventBridge has no SNS target.\n")
	say("== on AWS the deployed rules would mail, for this run's calls as CloudTrail logs them (replayed like kmsguard-replay):\n%s\n",
		strings.Join(emulator.AlertLines(alerts), "\n"))
	say("== not proof: moto skipped the trail, bucket and topic policies, subscriptions and alarms, and evaluates no key policy (docs/checks.md)\n")
	return nil
}

// manageKeyGist is the line of kms-manage-key's output worth a terminal line: the key state of status,
// or what enable and disable did.
func manageKeyGist(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "state:" {
			return "key state " + f[1]
		}
	}
	return lines[len(lines)-1]
}
