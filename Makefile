# kmsguard: every target installs what it needs first, so a fresh clone needs only Go and npm.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Node 22 and the CDK CLI come from node_modules (package.json pins both); jsii refuses the machine's Node 20.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
# make test fuzzes each target for an execution count, which has no deadline to race on a busy machine;
# make fuzz fuzzes for a duration (docs/checks.md, "Fuzzing").
FUZZ_BUDGET ?= 5000x
FUZZTIME ?= 1m
# The stack name is never hard-coded: kmsguard-make reads it from cdk.json (context stackName), validated as
# `cdk synth` validates it, so synth, diff and demo follow the configuration.
KMSGUARD_MAKE := out/kmsguard-make
# The CDK CLI counts the feature flags kmsguard leaves at their defaults on every synth; the ones the stack
# needs are set in code (stacks/flags.go), so the count is noise.
CDK_NOISE := feature flags are not configured
GOLDEN ?= test/testdata/example.template.json
# A fresh clone's cdk.json leaves the alert subscribers and networks unset, which cdk deploy refuses;
# synth, diff and demo then use the example values (kmsguard-make cdk-args) and say so first.
EXAMPLE_NOTE := if [ -n "$$args" ]; then echo "== cdk.json leaves alertEmails and/or allowedCidrs/allowedVpcEndpoints unset, which cdk deploy refuses: using the EXAMPLE configuration ($$args; README.md, \"Safe by default\")"; fi

.PHONY: setup synth test unit golden fuzz fuzz-check clean diff review nag demo bench preflight pgo

# node_modules/go.mod keeps `go ... ./...` out of node_modules (aws-cdk ships Go template files).
node_modules/.kmsguard-installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	echo 'module nodemodules_ignored' > node_modules/go.mod
	touch $@

# Only the modules the build and the tests need (go mod download would also fetch DuckDB's libraries for
# every other platform, about 140 MB of downloads and 1 GB unpacked, none of them used here).
setup: node_modules/.kmsguard-installed
	@go list -deps -test -tags duckdb ./... > /dev/null
	@go build -o out/kmsguard-make ./cmd/kmsguard-make

## synth: synthesize into cdk.out/ (no AWS credentials needed) and print what would be deployed. Each
## template's old copy is removed first, so a failed synth can never be followed by a stale summary. A fleet
## (deployment=org, docs/fleet.md) writes its central stacks and StackSet templates; each is summarized.
synth: setup
	@stack=$$($(KMSGUARD_MAKE) stack-name); args=$$($(KMSGUARD_MAKE) cdk-args); names=$$($(KMSGUARD_MAKE) templates); \
	for n in $$names; do rm -f "cdk.out/$$n.template.json"; done; \
	if [ "$$($(KMSGUARD_MAKE) deployment)" = org ]; then \
	  echo "== cdk synth of the fleet $$stack (cdk.json context, deployment=org; docs/fleet.md): $$(echo $$names)"; \
	else \
	  echo "== cdk synth of stack $$stack (cdk.json context; cdk-nag reports in cdk.out/nag/)"; \
	fi; \
	$(EXAMPLE_NOTE); \
	KMSGUARD_NAG=1 cdk synth $$args --quiet --no-notices 2>&1 | { grep -v -F '$(CDK_NOISE)' || true; }; \
	go run ./cmd/kmsguard-summary --brief $$(for n in $$names; do echo "cdk.out/$$n.template.json"; done)

## preflight: synth, then ask the target account (the AWS SDK's default credentials and region) what would
## make cdk deploy fail or surprise (docs/preflight.md); read-only. Exit 1 not ready, 3 could not check.
preflight: synth
	go run ./cmd/kmsguard-preflight

## test: the whole test suite, as CI runs it.
test: setup
	go vet ./...
	go vet -tags duckdb ./internal/athena/
	# Also replays every fuzz target's seed corpus and saved findings. The two longest packages are named first
	# and -p 3 lets the short ones fill the cores beside them; ./cmd and ./docs, which build every command, come
	# last, when the packages they link are compiled; -parallel 8 lets ./test's tests that wait on processes
	# (cfn-lint, the app, moto) run together (docs/checks.md, "Test time").
	go test -count=1 -p 3 -parallel 8 -timeout 20m ./test ./test/makefile $$(go list ./... | grep -v -e '/cmd$$' -e '/docs$$') ./cmd ./docs
	go test -count=1 -tags duckdb ./internal/athena/   # the Athena SQL run in DuckDB against replay (cgo)
	CGO_ENABLED=0 go test -count=1 ./internal/inflate/   # replay's gunzip as built without a C compiler
	scripts/fuzz.sh $(FUZZ_BUDGET) $(FUZZ_TARGETS)
	FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz-check.sh 0   # a planted finding still fails the fuzz step

## diff: `cdk diff` of the stack (cdk.json context): with AWS credentials against the deployed stack, without
## them offline against the committed golden $(GOLDEN); the first line says which. A difference is
## reported in its last line, not as a make error (docs/checks.md, "cdk diff review"). A fleet
## (deployment=org) needs the security account's credentials: cdk diff of every central stack, then each
## StackSet template reviewed against the deployed StackSet's (docs/fleet.md, "Reviewing a change").
diff: setup
	@stack=$$($(KMSGUARD_MAKE) stack-name); args=$$($(KMSGUARD_MAKE) cdk-args); log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	if [ "$$($(KMSGUARD_MAKE) deployment)" = org ]; then \
	  if ! src=$$($(KMSGUARD_MAKE) has-credentials); then \
	    echo "make diff: the fleet $$stack (deployment=org) has no offline baseline: run it with the security account's credentials, or review against a saved synth with make review OLD=DIR (docs/fleet.md, \"Reviewing a change\")" >&2; exit 2; \
	  fi; \
	  echo "== make diff: fleet $$stack (cdk.json) against the DEPLOYED central stacks and StackSets: $$src"; \
	  cdk diff $$args --all --no-notices --no-path-metadata 2>&1 | { grep -v -F '$(CDK_NOISE)' || true; }; \
	  deployed=$$(mktemp -d); $(KMSGUARD_MAKE) deployed-stacksets "$$deployed"; rc=0; \
	  for f in "$$deployed"/*.template.json; do [ -e "$$f" ] || continue; \
	    go run ./cmd/kmsguard-summary --diff "$$f" "cdk.out/$$(basename "$$f")" || rc=$$?; done; \
	  rm -rf "$$deployed"; \
	  if [ $$rc = 0 ]; then echo "== make diff: nothing in the StackSet templates got weaker"; else echo "== make diff: review the findings above (! marks what gets weaker)"; fi; \
	  exit 0; \
	fi; \
	if src=$$($(KMSGUARD_MAKE) has-credentials); then \
	  against="the deployed stack $$stack"; against_args=(); \
	  echo "== make diff: stack $$stack (cdk.json) against the DEPLOYED stack: $$src"; \
	else \
	  against="the committed golden $(GOLDEN)"; against_args=(--template "$(GOLDEN)"); export AWS_EC2_METADATA_DISABLED=true; \
	  echo "== make diff: stack $$stack (cdk.json) against $$against: no AWS credentials, offline"; \
	fi; \
	$(EXAMPLE_NOTE); \
	cdk diff $$args "$$stack" "$${against_args[@]}" --no-notices --no-path-metadata 2>&1 | { grep -v -F '$(CDK_NOISE)' || true; } | tee "$$log"; \
	if grep -q 'Number of stacks with differences: 0' "$$log"; then \
	  echo "== make diff: no differences from $$against"; \
	else \
	  echo "== make diff: DIFFERENT from $$against (shown above). Intended? Against the golden: run make golden and commit the reviewed test/testdata/ diff."; \
	fi

## review: synthesize the working tree as make synth does (cdk.json context, its stackName) and review the
## change from the committed golden $(GOLDEN), or from OLD=path, with kmsguard-summary --diff: key policies,
## alert coverage, lifecycle, in the threat model's words (docs/review.md). REVIEW_FLAGS=--markdown gives a
## pull-request comment, --json the findings for tools. The review alone is on stdout; what is compared is
## said on stderr. Fails when protection gets weaker. A fleet (deployment=org) wants OLD=DIR, an earlier
## cdk.out (or a copy of it): each of its templates is reviewed against its namesake there.
OLD ?=
REVIEW_FLAGS ?=
review: setup
	@stack=$$($(KMSGUARD_MAKE) stack-name); args=$$($(KMSGUARD_MAKE) cdk-args); names=$$($(KMSGUARD_MAKE) templates); old="$(OLD)"; \
	if [ "$$($(KMSGUARD_MAKE) deployment)" = org ]; then \
	  if [ ! -d "$$old" ]; then echo "make review: the fleet $$stack (deployment=org) is reviewed template by template: name an earlier synth's directory, e.g. cp -r cdk.out cdk.out.before, then make review OLD=cdk.out.before (got OLD=\"$$old\")" >&2; exit 2; fi; \
	  for n in $$names; do rm -f "cdk.out/$$n.template.json"; done; \
	  { echo "== make review: fleet $$stack (cdk.json) against $$old: $$(echo $$names)"; $(EXAMPLE_NOTE); } >&2; \
	  cdk synth $$args --quiet --no-notices 2>&1 | { grep -v -F '$(CDK_NOISE)' || true; } >&2; \
	  rc=0; for n in $$names; do \
	    if [ ! -f "$$old/$$n.template.json" ]; then echo "kmsguard review: $$n is new (no $$old/$$n.template.json to compare with)"; continue; fi; \
	    go run ./cmd/kmsguard-summary --diff $(REVIEW_FLAGS) "$$old/$$n.template.json" "cdk.out/$$n.template.json" || { r=$$?; [ $$rc = 2 ] || rc=$$r; }; \
	  done; \
	  for f in "$$old"/*.template.json; do n=$$(basename "$$f" .template.json); \
	    case " $$(echo $$names) " in *" $$n "*) ;; *) case "$$n" in "$$stack"-*) echo "! kmsguard review: $$n is gone: its resources are deleted (keys are retained)"; [ $$rc = 2 ] || rc=1;; esac;; esac; \
	  done; \
	  exit $$rc; \
	fi; \
	old="$${old:-$(GOLDEN)}"; \
	if [ ! -f "$$old" ]; then echo "make review: OLD=$$old is not a file: name a template (e.g. OLD=test/testdata/default.template.json)" >&2; exit 2; fi; \
	rm -f "cdk.out/$$stack.template.json"; \
	{ echo "== make review: stack $$stack (cdk.json) against $$old"; $(EXAMPLE_NOTE); } >&2; \
	cdk synth $$args --quiet --no-notices 2>&1 | { grep -v -F '$(CDK_NOISE)' || true; } >&2; \
	go run ./cmd/kmsguard-summary --diff $(REVIEW_FLAGS) "$$old" "cdk.out/$$stack.template.json"

## nag: the cdk-nag gate alone (AwsSolutions and NIST 800-53 R5 on every test configuration).
nag: setup
	go test -count=1 -run '^TestNag' -v ./test

## demo: deploy the stack (cdk.json context) into moto_server on 127.0.0.1 with cdk bootstrap + cdk deploy,
## drive the key with kms-manage-key, print what was created. A demonstration, not proof (docs/checks.md).
demo: setup
	@stack=$$($(KMSGUARD_MAKE) stack-name); args=$$($(KMSGUARD_MAKE) cdk-args); \
	if [ "$$($(KMSGUARD_MAKE) deployment)" = org ]; then echo "make demo: deploys the standalone stack; the fleet (deployment=org) is not demonstrated (docs/fleet.md, \"What is tested, and how\")" >&2; exit 2; fi; \
	$(EXAMPLE_NOTE); \
	STACK="$$stack" CDK_ARGS="$$args" go run ./scripts/demo

## bench: warm cdk synth of the stack vs an empty CDK Go app (the floor) and the wall time of make test;
## then kmsguard-replay against the encoding/json reference on two corpora, one core and every core (ratios).
bench: setup
	scripts/bench.sh
	scripts/bench-replay.sh

## pgo: rewrite cmd/kmsguard-replay/default.pgo, the profile `go build` optimises the replay binary with.
pgo:
	scripts/pgo-replay.sh

## golden: rewrite test/testdata/*.template.json (and docs/alert-emails.md, rendered from the default template)
## after an intended template change; review the diff.
golden: setup
	go test -count=1 ./test -run 'TestGolden' -update

FUZZ_TARGETS := ./internal/wrapper:FuzzParseConfig ./internal/mfafifo:FuzzReadCode ./internal/eventpattern:FuzzParse ./internal/eventpattern:FuzzCompile ./internal/replay:FuzzReadRecords ./internal/replay:FuzzProjectedDecoderMatchesFullDecoder ./internal/inflate:FuzzGunzip

# Slow targets (about 1 s an execution) are fuzzed only by make fuzz; go test replays their seeds.
FUZZ_SLOW_TARGETS := ./internal/replay:FuzzConcurrentReplayMatchesSequential

## fuzz: fuzz each target for FUZZTIME (default 1m; FUZZTIME=10m make fuzz for longer). Outside CI.
fuzz:
	scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS) $(FUZZ_SLOW_TARGETS)

## fuzz-check: the fuzz step of make test, 3 rounds under a busy loop on every core, plus planted failures.
fuzz-check:
	FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz-check.sh 3

clean:
	rm -rf cdk.out
