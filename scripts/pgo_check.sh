#!/bin/sh
# pgo_check.sh - the profile-guided build used its profile (CMakeLists.txt,
# WEFT_PGO; ctest's test_pgo).
#
#   scripts/pgo_check.sh OBJECT_DIR
#
# OBJECT_DIR is weftlib's objects (BUILD/CMakeFiles/weftlib.dir). GCC puts
# a function its profile calls hot in the section .text.hot, and no
# function there without one (weft marks none hot itself); so each of the
# emulator's hot loops must be there, in one of its builds (the x86-64-v3
# one on a CPU with AVX2, the generic one elsewhere). A profile that does
# not match the objects, as when their counts were named for other paths,
# leaves them out: GCC only warns, and the build is as fast as without it.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 OBJECT_DIR" >&2
    exit 2
fi
dir=$1
bad=0
for want in netsim/lazy.c:lazy_advance netsim/lazy.c:lazy_collect netsim/lazy.c:lazy_refresh \
    coflow/alloc_madd.c:madd_allocate coflow/alloc_madd.c:side_gamma \
    coflow/alloc_madd.c:side_use coflow/alloc_greedy.c:walk_coflow; do
    obj=$dir/${want%%:*}.o fn=${want#*:}
    if [ ! -f "$obj" ]; then
        echo "pgo_check: $obj: no such object" >&2
        bad=1
        continue
    fi
    # objdump -t: ADDRESS FLAGS SECTION SIZE NAME; a clone is NAME.SUFFIX
    if ! objdump -t "$obj" | awk -v fn="$fn" '
            NF >= 4 && $(NF-2) == ".text.hot" &&
            ($NF == fn || index($NF, fn ".") == 1) { found = 1 }
            END { exit !found }'; then
        echo "pgo_check: $fn ($obj) is not in .text.hot: the profile was not applied" >&2
        bad=1
    fi
done
[ "$bad" -eq 0 ] && echo "pgo_check: the emulator's 7 hot functions were built from the profile"
exit "$bad"
