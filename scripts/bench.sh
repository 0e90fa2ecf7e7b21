#!/usr/bin/env bash
# make bench: warm `cdk synth` of the kmsguard app against an empty CDK Go app (the floor: Node start, jsii
# and aws-cdk-lib), both prebuilt with the same toolchain, plus `go run ./bin` as cdk.json runs it, and
# the wall time of the whole `make test` (BENCH_TEST=0 skips that). Prints medians of RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" CDK_DISABLE_CLI_TELEMETRY=true
# Nine rounds: on a shared 2-core machine single rounds of the same binaries differ by a third, and five
# left the medians' ratio a coin toss near the targets (docs/checks.md, "Benchmark").
RUNS=${RUNS:-9}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/kmsguard-app" ./bin
go build -o "$work/empty-app" ./scripts/bench/emptyapp

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# The committed cdk.json leaves the alert subscribers and networks unset, which the app refuses; it is
# measured with the example values `make synth` passes (kmsguard-make cdk-args), so that a refusal is
# never timed as a synth. A synth that fails stops the benchmark.
example_args=$(go run ./cmd/kmsguard-make cdk-args)
synth_seconds() { # app command -> one warm synth time in seconds
  local start end
  start=$(date +%s.%N)
  # shellcheck disable=SC2086 # example_args is a list of -c flags
  cdk synth --app "$1" $example_args --output "$work/out" --quiet --no-notices >/dev/null 2>&1 || { echo "cdk synth --app $1 failed" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
report() { # label seconds... -> prints the runs and their median on stderr, the median on stdout
  local m; m=$(printf '%s\n' "${@:2}" | median)
  printf '%-34s median %6.2f s   runs: %s\n' "$1" "$m" "${*:2}" >&2
  echo "$m"
}
measure() { # label app-command
  synth_seconds "$2" >/dev/null # warm-up: page cache, jsii runtime unpacked
  local times=()
  for _ in $(seq "$RUNS"); do times+=("$(synth_seconds "$2")"); done
  report "$1" "${times[@]}"
}

# The fleet shape (docs/fleet.md) is synthesized from a directory of its own whose cdk.json holds the
# documented minimal fleet context, so that the prebuilt app reads it as a user's checkout would.
fleetdir="$work/fleet"
mkdir -p "$fleetdir"
cat >"$fleetdir/cdk.json" <<JSON
{
  "app": "$work/kmsguard-app",
  "context": {
    "deployment": "org",
    "organizationId": "o-a1b2c3d4e5",
    "securityAccount": "111122223333",
    "targetOus": ["ou-ab12-cdefgh34"],
    "regions": ["us-east-1", "eu-west-1"],
    "alertEmails": ["dba@example.com"],
    "securityEmails": ["security@example.com"],
    "allowedCidrs": ["203.0.113.0/24"]
  }
}
JSON
fleet_synth() { (cd "$fleetdir" && cdk synth --output "$work/fleet-out" --quiet --no-notices >/dev/null 2>&1) || { echo "fleet synth failed" >&2; exit 1; }; }
fleet_seconds() { local start end; start=$(date +%s.%N); fleet_synth; end=$(date +%s.%N); echo "$end - $start" | bc; }

# Side by side: each round runs every app once, in the same order, so that a change of load on a shared
# machine reaches all of them alike; the medians over the rounds are compared.
echo "warm cdk synth, $RUNS rounds ($(nproc) cores):" >&2
synth_seconds "$work/empty-app" >/dev/null; synth_seconds "$work/empty-app novalidation" >/dev/null
synth_seconds "$work/empty-app novalidation direct" >/dev/null
synth_seconds "$work/kmsguard-app" >/dev/null; fleet_synth # warm-up: page cache, jsii runtime unpacked
t_floor=(); t_strict=(); t_direct=(); t_stack=(); t_fleet=()
for _ in $(seq "$RUNS"); do
  t_floor+=("$(synth_seconds "$work/empty-app")")
  t_strict+=("$(synth_seconds "$work/empty-app novalidation")")
  t_direct+=("$(synth_seconds "$work/empty-app novalidation direct")")
  t_stack+=("$(synth_seconds "$work/kmsguard-app")")
  t_fleet+=("$(fleet_seconds)")
done
floor=$(report "empty CDK Go app, CDK defaults" "${t_floor[@]}")
strict=$(report "empty CDK Go app, validation off" "${t_strict[@]}")
direct=$(report "the same, kernel as kmsguard starts it" "${t_direct[@]}")
stack=$(report "kmsguard standalone (prebuilt)" "${t_stack[@]}")
fleet=$(report "kmsguard fleet, 2 regions (prebuilt)" "${t_fleet[@]}")
gorun=$(measure "kmsguard (go run ./bin, cdk.json)" "go run ./bin")
printf 'ratio standalone / empty app with validation off: %.3f (target <= 1.15)\n' "$(echo "$stack / $strict" | bc -l)"
printf 'ratio fleet / standalone:                          %.3f (target <= 1.15)\n' "$(echo "$fleet / $stack" | bc -l)"
# kmsguard starts jsii's kernel without its relay process and with its package digests and compile cache
# (internal/jsiikernel), which a stock Go app does not; against an empty app that does the same, the ratio
# shows kmsguard's own construct and synthesis work.
printf 'ratio standalone / empty app, same kernel start:   %.3f\n' "$(echo "$stack / $direct" | bc -l)"
# The same ratios round by round: the apps of one round ran back to back, so these show how far the
# machine's load moved the figures above (docs/checks.md, "Benchmark").
per_round() { # numerators denominators -> the per-round ratios and their median
  local -n num=$1 den=$2; local r=() i
  for i in "${!num[@]}"; do r+=("$(echo "${num[$i]} / ${den[$i]}" | bc -l)"); done
  printf '%.2f ' "${r[@]}"; printf '(median %.3f)' "$(printf '%s\n' "${r[@]}" | median)"
}
echo "  standalone / empty, per round: $(per_round t_stack t_strict)" >&2
echo "  standalone / empty, same kernel start, per round: $(per_round t_stack t_direct)" >&2
echo "  fleet / standalone, per round: $(per_round t_fleet t_stack)" >&2
printf 'ratio standalone / empty app with CDK defaults:    %.3f (kmsguard runs CDK'"'"'s validation as a test gate instead)\n' "$(echo "$stack / $floor" | bc -l)"
printf 'ratio go run ./bin / empty app with CDK defaults:  %.3f\n' "$(echo "$gorun / $floor" | bc -l)"

if [ "${BENCH_TEST:-1}" != 0 ]; then
  start=$(date +%s.%N)
  make --no-print-directory test >"$work/test.log" 2>&1 || { tail -50 "$work/test.log"; echo "make test failed" >&2; exit 1; }
  end=$(date +%s.%N)
  printf 'make test wall time (warm): %.1f s (target < 180 s)\n' "$(echo "$end - $start" | bc)"
  go test -count=1 -v ./test 2>/dev/null | grep -E '^--- (PASS|FAIL|SKIP)' | sort -t'(' -k2 -rn | head -15 || true
fi
