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
// same validation `cdk synth` applies: a configuration the app would reject is reported here, by key.
func StackName(dir string) (string, error) {
	ctx, err := Context(dir)
	if err != nil {
		return "", err
	}
	cfg, err := stacks.ParseConfig(ctx)
	if err != nil {
		return "", err
	}
	return cfg.StackName, nil
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
