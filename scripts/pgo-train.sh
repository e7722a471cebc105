#!/bin/sh
# pgo-train.sh - the training of the profile-guided build (CMakeLists.txt,
# WEFT_PGO; docs/performance.md, "Profile-guided build").
#
#   scripts/pgo-train.sh CMAKE BUILD_DIR PROFILE_DIR JOBS
#
# Builds weft in BUILD_DIR, the instrumented tree CMake configured (its
# compiler's lines in BUILD_DIR/../build.log, shown if it fails), then runs
# it under every policy on the bundled Facebook trace in the Varys setting
# (the emulator's figures are measured there) and on `make run`'s
# multi-stage workload (the DAG-aware orderings' code, job releases), one
# policy a process, two processes at a time: libgcov adds each process's
# counts to the files of PROFILE_DIR under a lock, so the sums do not depend
# on the order. Run from the source tree; PROFILE_DIR is emptied first, as
# counts left there would be added to.
set -eu
if [ $# -ne 4 ]; then
    echo "usage: $0 CMAKE BUILD_DIR PROFILE_DIR JOBS" >&2
    exit 2
fi
cmake=$1 build=$2 dir=$3 jobs=$4
log=$(dirname "$build")/build.log
"$cmake" --build "$build" --target weft --parallel "$jobs" > "$log" 2>&1 ||
    { echo "$0: the instrumented build failed ($log):" >&2; tail -n 40 "$log" >&2; exit 1; }
weft=$build/weft
rm -rf "$dir"
mkdir -p "$dir"
export OPENBLAS_NUM_THREADS=1
"$weft" gen --shape alibaba --jobs 60 --ports 32 --load 0.7 --seed 11 \
    -o "$dir/dag.weft" > "$dir/gen.log" 2>&1 ||
    { cat "$dir/gen.log" >&2; exit 1; }
export weft dir
for p in fifo scf ncf lcf sebf aalo sincronia wcp jsebf jsebf-cp fair srf learned; do
    echo "$p"
done | xargs -P 2 -I '{}' sh -c '
    "$weft" sim data/FB2010-1Hr-150-0.txt --format fb --varys --policy {} \
        > "$dir/{}.log" 2>&1 &&
    "$weft" sim "$dir/dag.weft" --policy {} >> "$dir/{}.log" 2>&1 ||
    { echo "pgo-train.sh: the training run of {} failed:" >&2; cat "$dir/{}.log" >&2; exit 1; }'
touch "$dir/trained"
