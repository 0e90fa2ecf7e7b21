// Package test holds the stack tests: assertions on the synthesized templates, golden snapshots and
// determinism. Each named configuration is synthesized once per test process and shared, because the
// synth (Node, jsii and aws-cdk-lib) is what costs time.
package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/kmsguard/kmsguard/internal/cfntemplate"
	"github.com/kmsguard/kmsguard/internal/jsiikernel"
	"github.com/kmsguard/kmsguard/stacks"
)

// configs are context maps as an operator writes them: some values as `-c key=value` strings, some as
// cdk.json JSON values, so both parsing paths are exercised.
var configs = map[string]map[string]any{
	// default is every default with no network restriction and no subscriber, which kmsguard refuses unless
	// both risks are recorded (README.md, "Safe by default"): the weakest configuration it deploys.
	"default": {"acceptRisks": []any{"no-alert-subscriber", "any-network"}},
	// example is what make synth builds from a fresh clone's cdk.json: the inert example values stand in for
	// the unset subscribers and networks.
	"example": {"example": true},
	"ip-only": {
		"allowedCidrs": "203.0.113.0/24, 198.51.100.7/32",
		"alertEmails":  "dba@example.com",
	},
	"vpce-only": {
		"allowedVpcEndpoints": []any{"vpce-0123456789abcdef0"},
		"alertEmails":         []any{"dba@example.com"},
	},
	"ip-and-vpce": {
		"allowedCidrs":        []any{"203.0.113.0/24"},
		"allowedVpcEndpoints": `["vpce-0123456789abcdef0","vpce-0fedcba9876543210"]`,
		"alertEmails":         "dba@example.com",
	},
	"mfa": {
		"allowedCidrs": "203.0.113.0/24",
		"requireMfa":   "true",
		"alertEmails":  "dba@example.com",
	},
	"existing-users": {
		"keyUserArns":     "arn:aws:iam::111122223333:user/db/mariadb-prod,arn:aws:iam::111122223333:role/mariadb-replica",
		"adminRequireMfa": false,
		"allowedCidrs":    "203.0.113.0/24",
		"alertEmails":     "dba@example.com",
	},
	"existing-admin": {
		"adminUserArn": "arn:aws:iam::111122223333:user/ops/KeyToggler",
		"allowedCidrs": "203.0.113.0/24",
		"alertEmails":  "dba@example.com",
	},
	// existing-trail is a second deploy in the same account (another region): the administrator, the key
	// user and a trail recording management events exist already, and the trail's log group is named.
	"existing-trail": {
		"adminUserArn":          "arn:aws:iam::111122223333:user/ops/KeyToggler",
		"keyUserArns":           "arn:aws:iam::111122223333:user/db/mariadb-prod",
		"existingTrailArn":      "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events",
		"existingTrailLogGroup": "aws-cloudtrail-logs-111122223333-management-events",
		"allowedCidrs":          "203.0.113.0/24",
		"alertEmails":           "dba@example.com",
	},
	// existing-trail-no-logs relies on an organization trail of the management account, whose log group
	// it cannot name: the metric-filter route is off, with a warning.
	"existing-trail-no-logs": {
		"existingTrailArn": "arn:aws:cloudtrail:us-east-1:999988887777:trail/org-trail",
		"allowedCidrs":     "203.0.113.0/24",
		"alertEmails":      "dba@example.com",
	},
	"hardened": {
		"stackName":           "KmsGuardProd",
		"alertEmails":         []any{"dba@example.com"},
		"securityEmails":      []any{"security@example.com"},
		"allowedCidrs":        []any{"203.0.113.0/24", "2001:db8:1234::/48"},
		"allowedVpcEndpoints": []any{"vpce-0123456789abcdef0"},
		"requireMfa":          true,
		"keyUserArns":         []any{"arn:aws:iam::111122223333:user/mariadb-prod"},
		"adminUserName":       "KeyToggler",
		"keyAlias":            "alias/prod/mariadb",
		"trailName":           "prod-mariadb-key",
		"logRetentionDays":    731.0,
		"notifyKeyUse":        "false",
		"breakGlassArns":      []any{"arn:aws:iam::111122223333:role/BreakGlass", "arn:aws:iam::111122223333:user/security/alice"},
		"deployRoleArns":      "arn:aws:iam::111122223333:role/KmsGuardDeploy",
		"objectLockMode":      "compliance",
	},
	// longest-names is the worst case for AWS's size quotas (docs/quotas.md): every name at the longest the
	// configuration accepts, several networks, and three key users with 64-character names and paths (the most that fit with the
	// longest administrator name: the metric filter on their IAM changes names each one).
	"longest-names": {
		"stackName":           "K" + strings.Repeat("s", 39),
		"alertEmails":         "dba@example.com",
		"allowedCidrs":        []any{"203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "2001:db8:1234::/48"},
		"allowedVpcEndpoints": []any{"vpce-0123456789abcdef0", "vpce-0fedcba9876543210", "vpce-00112233445566778"},
		"keyUserArns":         longKeyUsers(3),
		"adminUserName":       "A" + strings.Repeat("d", 63),
		"keyAlias":            "alias/" + strings.Repeat("k", 120),
		"trailName":           "t" + strings.Repeat("r", 127),
		// Three break-glass principals and two deploy roles with 64-character names under a path: every
		// lock names each of them in every policy it adds to.
		"breakGlassArns": []any{"arn:aws:iam::111122223333:role/break-glass/" + strings.Repeat("b", 64),
			"arn:aws:iam::111122223333:user/security/" + strings.Repeat("s", 64), "arn:aws:iam::111122223333:root"},
		"deployRoleArns": []any{"arn:aws:iam::111122223333:role/deploy/" + strings.Repeat("d", 64),
			"arn:aws:iam::111122223333:role/stacksets/" + strings.Repeat("e", 64)},
	},
}

// longKeyUsers returns n IAM user ARNs with a path and a 64-character name.
func longKeyUsers(n int) []any {
	var out []any
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("arn:aws:iam::111122223333:user/mariadb/servers/%s%02d", strings.Repeat("u", 62), i))
	}
	return out
}

// Synth is one synthesized configuration.
type Synth struct {
	Name     string
	Stack    *stacks.GuardStack
	Bytes    []byte                // the template file exactly as cdk synth writes it
	JSON     map[string]any        // the same, decoded as plain maps
	Tpl      *cfntemplate.Template // the same, through the one template reader
	Template assertions.Template
}

var (
	// synthMu serialises every synthesis (synth, reviewSynth, synthFleet): jsii's Go runtime talks to its
	// one Node process over a single pipe with no lock of its own, so two goroutines calling jsii at once
	// would interleave their requests. A test that calls t.Parallel() must reach jsii only through these
	// functions (the parallel tests run subprocesses: cfn-lint, the app, moto; docs/checks.md, "Test time").
	synthMu    sync.Mutex
	synthCache = map[string]*Synth{}
	synthRoot  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kmsguard-synth-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	synthRoot = dir
	jsiikernel.Use() // as the app does
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synth returns the named configuration's synthesized stack, building it on first use.
func synth(t testing.TB, name string) *Synth {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[name]; ok {
		return s
	}
	ctx, ok := configs[name]
	if !ok {
		t.Fatalf("no test configuration %q", name)
	}
	s, err := synthesize(name, ctx, filepath.Join(synthRoot, name))
	if err != nil {
		t.Fatalf("synth %s: %v", name, err)
	}
	synthCache[name] = s
	return s
}

// synthesize runs the same steps as bin/main.go into outdir, the quota check included: every configuration
// the tests synthesize must fit AWS's quotas at the longest names.
func synthesize(name string, ctx map[string]any, outdir string) (*Synth, error) {
	cfg, err := stacks.ParseConfig(ctx)
	if err != nil {
		return nil, err
	}
	app := stacks.NewApp(outdir, false)
	stack := stacks.NewGuardStack(app, cfg)
	app.Synth(nil)
	if _, err := stacks.CheckQuotas(cfg, outdir); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(outdir, cfg.StackName+".template.json"))
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	tpl, err := cfntemplate.Parse(raw)
	if err != nil {
		return nil, err
	}
	return &Synth{
		Name: name, Stack: stack, Bytes: raw, JSON: doc, Tpl: tpl,
		Template: assertions.Template_FromString(jsii.String(string(raw)), nil),
	}, nil
}

// must turns a failed CDK assertion (a jsii exception, surfacing as a Go panic) into a test failure, so
// one failed assertion does not abort the whole test binary.
func must(t testing.TB, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// assertionError runs a CDK assertion and returns its failure (a jsii exception, surfacing as a Go panic)
// as an error, for controls that expect an assertion to fail.
func assertionError(assertion func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	assertion()
	return nil
}

// resourcesOfType returns the template's resources of one CloudFormation type, by logical id.
func (s *Synth) resourcesOfType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.JSON["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// resourceWithMetadata finds the one resource whose Metadata carries key=value.
func (s *Synth) resourceWithMetadata(t testing.TB, key, value string) (string, map[string]any) {
	t.Helper()
	var id string
	var found map[string]any
	for lid, r := range s.JSON["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if md, ok := res["Metadata"].(map[string]any); ok && md[key] == value {
			if found != nil {
				t.Fatalf("%s: two resources with %s=%s", s.Name, key, value)
			}
			id, found = lid, res
		}
	}
	if found == nil {
		t.Fatalf("%s: no resource with %s=%s", s.Name, key, value)
	}
	return id, found
}
