#!/usr/bin/env bash
# fuzz.sh BUDGET PKG:FuzzName... — run each fuzz target with -fuzztime=BUDGET (docs/checks.md, "Fuzzing").
#
# BUDGET is either an execution count ("2000x"), which `make test` uses: Go's fuzz coordinator then sets no
# deadline of its own, so a busy machine makes the run slower, never red; or a duration ("1m"), which
# `make fuzz` uses for longer runs outside CI. A real finding still fails: `go test -fuzz` exits non-zero
# and writes the failing input to PKG/testdata/fuzz/FuzzName/, where plain `go test` replays it from then on.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BUDGET PKG:FuzzName..." >&2
  exit 2
fi
budget=$1
shift
for t in "$@"; do
  pkg=${t%%:*}
  name=${t##*:}
  echo "fuzz $pkg $name ($budget)"
  go test -count=1 -run='^$' -fuzz="^${name}\$" -fuzztime="$budget" "$pkg"
done
