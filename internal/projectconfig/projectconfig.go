// Package projectconfig answers what the Makefile needs to know before it runs the CDK: the stack name the
// committed configuration (cdk.json) sets, and whether AWS credentials are available. Without it the
// Makefile would hard-code a stack name and read a stale template after stackName changes.
package projectconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/kmsguard/kmsguard/stacks"
)

// Context reads the CDK context the app sees from a project directory without a CLI `-c`: cdk.context.json
// (cached lookups) under the "context" object of cdk.json, which wins. A missing cdk.context.json is fine;
// a missing or malformed cdk.json is an error naming the file.
func Context(dir string) (map[string]any, error) {
	ctx := map[string]any{}
	if raw, err := os.ReadFile(filepath.Join(dir, "cdk.context.json")); err == nil {
		if err := json.Unmarshal(raw, &ctx); err != nil {
			return nil, fmt.Errorf("cdk.context.json is not a JSON object: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading cdk.context.json: %w", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cdk.json"))
	if err != nil {
		return nil, fmt.Errorf("reading cdk.json: %w", err)
	}
	var file struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("cdk.json is not valid JSON: %w", err)
	}
	for k, v := range file.Context {
		ctx[k] = v
	}
	return ctx, nil
}

// StackName is the stack name the project's configuration sets (stackName, default KmsGuard), after the
// same validation `cdk synth` applies (with the example values when the configuration needs them, see
// Resolve): a configuration the app would reject is reported here, by key.
func StackName(dir string) (string, error) {
	cfg, _, err := Resolve(dir)
	return cfg.StackName, err
}

// ExampleArgs are the CDK CLI arguments that turn on the example configuration.
var ExampleArgs = []string{"-c", "example=true"}

// Resolve parses the project's configuration as `cdk synth` would. A fresh clone's cdk.json leaves the
// alert subscribers and networks unset, which `cdk deploy` refuses (README.md, "Safe by default"); when the
// example values (context example=true) would make it valid, Resolve returns that configuration and the CLI
// arguments that select it, so that make synth, make diff and make demo keep working and say so. Otherwise
// it returns the configuration's own problems, all of them.
func Resolve(dir string) (stacks.Config, []string, error) {
	ctx, err := Context(dir)
	if err != nil {
		return stacks.Config{}, nil, err
	}
	cfg, err := stacks.ParseConfig(ctx)
	if err == nil {
		return cfg, nil, nil
	}
	if _, set := ctx["example"]; set {
		return cfg, nil, err
	}
	withExample := map[string]any{"example": true}
	for k, v := range ctx {
		withExample[k] = v
	}
	if exampleCfg, exampleErr := stacks.ParseConfig(withExample); exampleErr == nil {
		return exampleCfg, ExampleArgs, nil
	}
	return cfg, nil, err
}

// CredentialSource names where the AWS SDK's default chain found credentials (environment, profile,
// SSO, instance role, ...), or returns an error when it found none within timeout. It never returns the
// credentials themselves.
func CredentialSource(ctx context.Context, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The SDK's own log (an instance-metadata fallback warning off EC2) would only confuse make's output.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.Nop{}))
	if err != nil {
		return "", fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return "", errors.New("no AWS credentials found")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || !creds.HasKeys() {
		return "", errors.New("no AWS credentials found")
	}
	if creds.Source == "" {
		return "the AWS SDK's default chain", nil
	}
	return creds.Source, nil
}
