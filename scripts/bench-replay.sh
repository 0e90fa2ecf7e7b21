#!/usr/bin/env bash
# make bench, replay part: kmsguard-replay against the standard-library reference (gunzip + encoding/json into
# maps) on the synthetic and the labelled corpus, side by side in one run, on one core and on every core
# (docs/replay.md, "Performance"). On a shared machine only the ratios are meaningful.
set -euo pipefail
cd "$(dirname "$0")/.."
cpus="1,$(nproc)"
[ "$(nproc)" = 1 ] && cpus=1
out=$(go test ./internal/replay/ -run '^$' -bench '^BenchmarkVersusReference$' -benchtime "${REPLAY_BENCHTIME:-3x}" -cpu "$cpus" -count 1)
echo "$out" | grep -E '^Benchmark' >&2
echo "$out" | awk '/^BenchmarkVersusReference/ {
  name=$1; sub(/^BenchmarkVersusReference\//, "", name)
  for (i=2; i<NF; i++) { if ($(i+1)=="x-reference") r=$i; if ($(i+1)=="replay-ns/record") ns=$i; if ($(i+1)=="ref-ns/record") ref=$i }
  printf "replay %-14s %8.0f ns/record, reference %8.0f ns/record: %.2fx the reference\n", name, ns, ref, r }'
