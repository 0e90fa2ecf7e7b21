#!/usr/bin/env bash
# make pgo: rewrites cmd/kmsguard-replay/default.pgo, the CPU profile `go build` uses for the replay binary
# (profile-guided optimisation, docs/replay.md "Performance"). The profile is of replay's own work on both
# benchmark corpora (BenchmarkReplayCorpora), kept to the replay calls so that building the corpora does not
# steer the compiler. Regenerate it after large changes to internal/replay or internal/eventpattern.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test ./internal/replay/ -run '^$' -bench '^BenchmarkReplayCorpora$' -benchtime 15x -cpu 1 -count 1 \
  -o "$tmp/replay.test" -cpuprofile "$tmp/cpu.pprof" >/dev/null
go tool pprof -proto -focus='replay\.(Replay|\(\*worker\)|\(\*engine\))' "$tmp/cpu.pprof" >cmd/kmsguard-replay/default.pgo 2>/dev/null
echo "wrote cmd/kmsguard-replay/default.pgo"
