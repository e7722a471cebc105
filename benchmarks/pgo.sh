#!/bin/sh
# What the profile-guided build (WEFT_PGO, which `make` turns on) gains: its
# weft against a plain build of the same tree, built here into a temporary
# directory, on the Facebook trace with scripts/ab.sh (both at once, one per
# core, PAIRS pairs a policy). Prints ab.sh's pairs and BENCH line for each
# policy; new is the profiled build (docs/performance.md, "Profile-guided
# build").
# usage: benchmarks/pgo.sh [BUILD_DIR] [PAIRS] [POLICIES]   (from the source tree)
set -eu
BUILD=${1:-build}
PAIRS=${2:-6}
POLICIES=${3:-ncf sebf scf lcf wcp jsebf jsebf-cp learned fifo aalo sincronia fair srf}
grep -q '^WEFT_PGO:BOOL=ON$' "$BUILD/CMakeCache.txt" 2>/dev/null ||
    { echo "pgo.sh: $BUILD is not a WEFT_PGO build (make build, or cmake -DWEFT_PGO=ON)" >&2
      exit 1; }
plain=$(mktemp -d)
trap 'rm -rf "$plain"' EXIT
# the same build type, without the profile
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cmake -S . -B "$plain" -DCMAKE_BUILD_TYPE="${type:-RelWithDebInfo}" -DWEFT_PGO=OFF \
    >"$plain/configure.log" 2>&1 && cmake --build "$plain" --target weft -j "$(nproc)" \
    >"$plain/build.log" 2>&1 ||
    { echo "pgo.sh: the plain build failed:" >&2; tail -n 40 "$plain"/*.log >&2; exit 1; }
for p in $POLICIES; do
    sh scripts/ab.sh "$plain/weft" "$BUILD/weft" "$PAIRS" "$p"
done
