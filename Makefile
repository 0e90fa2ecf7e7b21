# kmsguard: every target installs what it needs first, so a fresh clone needs only Go and npm.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Node 22 and the CDK CLI come from node_modules (package.json pins both); jsii refuses the machine's Node 20.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
STACK ?= KmsGuard
# make test fuzzes each target for an execution count, which has no deadline to race on a busy machine;
# make fuzz fuzzes for a duration (docs/checks.md, "Fuzzing").
FUZZ_BUDGET ?= 10000x
FUZZTIME ?= 1m

.PHONY: setup synth test unit golden fuzz fuzz-check clean diff nag demo bench

# node_modules/go.mod keeps `go ... ./...` out of node_modules (aws-cdk ships Go template files).
node_modules/.kmsguard-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	echo 'module nodemodules_ignored' > node_modules/go.mod
	touch $@

setup: node_modules/.kmsguard-installed
	go mod download

## synth: synthesize into cdk.out/ (no AWS credentials needed) and print what would be deployed.
synth: setup
	KMSGUARD_NAG=1 cdk synth --quiet --no-notices  # also writes the cdk-nag reports to cdk.out/nag (summary on stderr)
	go run ./cmd/kmsguard-summary cdk.out/$(STACK).template.json

## test: the whole test suite, as CI runs it.
test: setup
	go vet ./...
	go test -count=1 ./...   # also replays every fuzz target's seed corpus and saved findings
	scripts/fuzz.sh $(FUZZ_BUDGET) $(FUZZ_TARGETS)
	FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz-check.sh 0   # a planted finding still fails the fuzz step

## diff: review a template change offline (no credentials, no network): `cdk diff` of the stack (cdk.json
## context) against the committed golden; exits 1 on any difference. With credentials, `cdk diff $(STACK)`
## compares with the deployed stack instead (docs/checks.md, "cdk diff review").
diff: setup
	AWS_EC2_METADATA_DISABLED=true cdk diff $(STACK) --template test/testdata/default.template.json --fail --no-notices --no-path-metadata

## nag: the cdk-nag gate alone (AwsSolutions and NIST 800-53 R5 on every test configuration).
nag: setup
	go test -count=1 -run '^TestNag' -v ./test

## demo: deploy the stack (cdk.json context) into moto_server on 127.0.0.1 with cdk bootstrap + cdk deploy,
## drive the key with kms-manage-key, print what was created. A demonstration, not proof (docs/checks.md).
demo: setup
	go run ./scripts/demo

## bench: warm cdk synth of the stack vs an empty CDK Go app (the floor) and the wall time of make test;
## then kmsguard-replay against the encoding/json reference on two corpora, one core and every core (ratios).
bench: setup
	scripts/bench.sh
	scripts/bench-replay.sh

## golden: rewrite test/testdata/*.template.json after an intended template change; review the diff.
golden: setup
	go test -count=1 ./test -run 'TestGolden' -update

FUZZ_TARGETS := ./internal/wrapper:FuzzParseConfig ./internal/mfafifo:FuzzReadCode ./internal/eventpattern:FuzzParse ./internal/eventpattern:FuzzCompile ./internal/replay:FuzzReadRecords

# Slow targets (about 0.5 s an execution) are fuzzed only by make fuzz; go test replays their seeds.
FUZZ_SLOW_TARGETS := ./internal/replay:FuzzConcurrentReplayMatchesSequential

## fuzz: fuzz each target for FUZZTIME (default 1m; FUZZTIME=10m make fuzz for longer). Outside CI.
fuzz:
	scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS) $(FUZZ_SLOW_TARGETS)

## fuzz-check: the fuzz step of make test, 3 rounds under a busy loop on every core, plus planted failures.
fuzz-check:
	FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz-check.sh 3

clean:
	rm -rf cdk.out
