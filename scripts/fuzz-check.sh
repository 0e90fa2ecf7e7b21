#!/usr/bin/env bash
# fuzz-check.sh [ROUNDS] — shows that the fuzz step of `make test` cannot flake and still catches findings
# (docs/checks.md, "Fuzzing"):
#   1. planted: in a throw-away module, a seed input that fails its target, and a failure the fuzzer must
#      find by itself; scripts/fuzz.sh must exit non-zero on both, and write the found input to testdata/.
#   2. contention (skipped with ROUNDS=0): the project's real fuzz step, ROUNDS times, while a busy loop
#      runs on every core; every round must pass.
# Busy loops are this script's children, stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
rounds=${1:-3}
budget=${FUZZ_BUDGET:-5000x}
targets=${FUZZ_TARGETS:?FUZZ_TARGETS (PKG:FuzzName ...) must be set; make fuzz-check sets it}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Planted failures.
mkdir -p "$work/planted/testdata/fuzz/FuzzPlanted"
cat >"$work/planted/go.mod" <<'GOMOD'
module planted

go 1.26
GOMOD
cat >"$work/planted/planted_test.go" <<'GO'
package planted

import "testing"

// FuzzPlanted fails on one input, which the seed corpus holds.
func FuzzPlanted(f *testing.F) {
	f.Add("harmless")
	f.Fuzz(func(t *testing.T, s string) {
		if s == "kmsguard-planted" {
			t.Fatal("planted failure")
		}
	})
}

// FuzzFound fails on any input of two bytes or more: the fuzzer finds one within a few executions.
func FuzzFound(f *testing.F) {
	f.Add("a")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) >= 2 {
			t.Fatal("found failure")
		}
	})
}
GO
printf 'go test fuzz v1\nstring("kmsguard-planted")\n' >"$work/planted/testdata/fuzz/FuzzPlanted/planted"
(
  cd "$work/planted"
  if "$repo/scripts/fuzz.sh" "$budget" .:FuzzPlanted >"$work/planted.log" 2>&1; then
    echo "FAIL: a seed input that fails its fuzz target did not fail the fuzz step" >&2
    cat "$work/planted.log" >&2
    exit 1
  fi
  grep -q "planted failure" "$work/planted.log" || { echo "FAIL: the planted failure is not reported" >&2; cat "$work/planted.log" >&2; exit 1; }
  echo "ok: a failing seed input fails the fuzz step"
  if "$repo/scripts/fuzz.sh" "$budget" .:FuzzFound >"$work/found.log" 2>&1; then
    echo "FAIL: a failure the fuzzer finds did not fail the fuzz step" >&2
    cat "$work/found.log" >&2
    exit 1
  fi
  found=$(find testdata/fuzz/FuzzFound -type f 2>/dev/null | wc -l)
  [ "$found" -ge 1 ] || { echo "FAIL: the found failure wrote no reproducer to testdata/fuzz/FuzzFound" >&2; cat "$work/found.log" >&2; exit 1; }
  echo "ok: a failure found by fuzzing fails the fuzz step and writes its reproducer"
)

# 2. The real fuzz step under contention.
if [ "$rounds" -gt 0 ]; then
  cores=$(nproc)
  for _ in $(seq "$cores"); do
    bash -c 'while :; do :; done' &
    pids+=("$!")
  done
  echo "busy loops on $cores core(s): ${pids[*]}"
  for r in $(seq "$rounds"); do
    # shellcheck disable=SC2086
    if ! "$repo/scripts/fuzz.sh" "$budget" $targets >"$work/round$r.log" 2>&1; then
      echo "FAIL: round $r of the fuzz step failed under contention" >&2
      tail -40 "$work/round$r.log" >&2
      exit 1
    fi
    echo "ok: round $r/$rounds of the fuzz step passed under contention"
  done
fi
