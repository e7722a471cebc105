#!/bin/sh
# Runs every benchmark, printing tables and BENCH lines (each benchmark and where its
# figures are: docs/performance.md, "The benchmarks").
set -eu
BUILD=${1:-build}
# relative to where it was named, before the cd to the source tree
[ ! -d "$BUILD" ] || BUILD=$(cd "$BUILD" && pwd)
cd "$(dirname "$0")/.."
[ -x "$BUILD/bench_sim" ] && [ -x "$BUILD/weft" ] ||
    { echo "bench.sh: no benchmarks in $BUILD (make build first)" >&2; exit 1; }
for b in "$BUILD"/bench_*; do
    [ -x "$b" ] || continue
    echo "== $b"
    "$b"
done
# the growth with the events alone (docs/performance.md, "Growth with time")
echo "== $BUILD/bench_sim --scale-only --in-time"
"$BUILD"/bench_sim --scale-only --in-time
for s in benchmarks/*.sh; do # each takes the build directory first
    echo "== $s"
    sh "$s" "$BUILD"
done
