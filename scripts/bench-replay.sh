#!/usr/bin/env bash
# make bench, replay part: kmsguard-replay against the reference (the same gunzip, then encoding/json into maps)
# on the synthetic and the labelled corpus (each a directory of 1,000-record log files), side by side in one run,
# on one core and on every core (docs/replay.md, "Performance"). On a shared machine only the ratios are
# meaningful: elapsed time, and CPU time, which on one core does not count the time spent waiting for it.
# The last lines give the scaling, from BenchmarkScaling: the whole corpus replayed on one core and on every
# core by turns, the ratio of the elapsed times.
# Both sides are compiled with the profile the replay binary is built with (cmd/kmsguard-replay/default.pgo),
# as `go build ./cmd/kmsguard-replay` does; the profile holds replay's work only, so encoding/json is not tuned.
set -euo pipefail
cd "$(dirname "$0")/.."
cpus="1,$(nproc)"
[ "$(nproc)" = 1 ] && cpus=1
out=$(go test ./internal/replay/ -pgo="$PWD/cmd/kmsguard-replay/default.pgo" -run '^$' -bench '^(BenchmarkVersusReference|BenchmarkScaling)$' -benchtime "${REPLAY_BENCHTIME:-3x}" -cpu "$cpus" -count 1)
echo "$out" | grep -E '^Benchmark' >&2
echo "$out" | awk '
/^BenchmarkVersusReference\// {
  name=$1; sub(/^BenchmarkVersusReference\//, "", name)
  cores=1; if (match(name, /-[0-9]+$/)) { cores=substr(name, RSTART+1); name=substr(name, 1, RSTART-1) }
  for (i=2; i<NF; i++) { v[$(i+1)]=$i }
  printf "replay %-9s on %d core%s: %7.0f ns/record (CPU %7.0f), reference %7.0f (CPU %7.0f): %5.2fx the reference (CPU %5.2fx)\n",
    name, cores, (cores==1 ? " " : "s"), v["replay-ns/record"], v["replay-cpu-ns/record"], v["ref-ns/record"], v["ref-cpu-ns/record"], v["x-reference"], v["x-reference-cpu"]
}
/^BenchmarkScaling\// {
  name=$1; sub(/^BenchmarkScaling\//, "", name); sub(/-[0-9]+$/, "", name)
  delete v  # a skipped run (one core) has no figures: keep none of the line before
  for (i=2; i<NF; i++) { v[$(i+1)]=$i }
  if (v["cores"] > 1) printf "replay %-9s scaling: %.2fx faster on %d cores than on one (linear: %d.00x), the whole corpus by turns\n", name, v["x-scaling"], v["cores"], v["cores"]
}'
