#!/usr/bin/env bash
# make bench: warm `cdk synth` of the kmsguard app against an empty CDK Go app (the floor: Node start, jsii
# and aws-cdk-lib), both prebuilt with the same toolchain, plus `go run ./bin` as cdk.json runs it, and
# the wall time of the whole `make test` (BENCH_TEST=0 skips that). Prints medians of RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH" CDK_DISABLE_CLI_TELEMETRY=true
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/kmsguard-app" ./bin
go build -o "$work/empty-app" ./scripts/bench/emptyapp

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
synth_seconds() { # app command -> one warm synth time in seconds
  local start end
  start=$(date +%s.%N)
  cdk synth --app "$1" --output "$work/out" --quiet --no-notices >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
measure() { # label app-command
  synth_seconds "$2" >/dev/null # warm-up: page cache, jsii runtime unpacked
  local times=()
  for _ in $(seq "$RUNS"); do times+=("$(synth_seconds "$2")"); done
  local m; m=$(printf '%s\n' "${times[@]}" | median)
  printf '%-34s median %6.2f s   runs: %s\n' "$1" "$m" "${times[*]}" >&2
  echo "$m"
}

echo "warm cdk synth, $RUNS runs each ($(nproc) cores):" >&2
floor=$(measure "empty CDK Go app (floor)" "$work/empty-app")
strict=$(measure "empty app, validation off" "$work/empty-app novalidation")
stack=$(measure "kmsguard (prebuilt ./bin)" "$work/kmsguard-app")
gorun=$(measure "kmsguard (go run ./bin, cdk.json)" "go run ./bin")
printf 'ratio kmsguard/floor: %.3f (target <= 1.15)\n' "$(echo "$stack / $floor" | bc -l)"
printf 'ratio kmsguard/floor without validation: %.3f (kmsguard also skips it; the rest is loading the aws-cdk-lib modules the stack uses, and building it)\n' "$(echo "$stack / $strict" | bc -l)"
printf 'ratio go-run/floor:   %.3f\n' "$(echo "$gorun / $floor" | bc -l)"

if [ "${BENCH_TEST:-1}" != 0 ]; then
  start=$(date +%s.%N)
  make --no-print-directory test >"$work/test.log" 2>&1 || { tail -50 "$work/test.log"; echo "make test failed" >&2; exit 1; }
  end=$(date +%s.%N)
  printf 'make test wall time (warm): %.1f s (target < 180 s)\n' "$(echo "$end - $start" | bc)"
  go test -count=1 -v ./test 2>/dev/null | grep -E '^--- (PASS|FAIL|SKIP)' | sort -t'(' -k2 -rn | head -15 || true
fi
