#!/bin/sh
# Runs the two fast static analysers over weft's C sources and fails on any
# finding: cppcheck (--enable=warning,portability,performance) and
# clang-tidy (the clang-analyzer-* and bugprone-* checks .clang-tidy keeps).
# Both read the compile database of a configure-only tree in build-static/
# (STATIC_BUILD changes it; weft_version.h is its one generated header), so
# they see the include paths and -D flags the build uses; fuzz/, which CMake
# does not build, gets the flags scripts/fuzz.sh compiles it with.
# What each suppression is for: docs/testing.md, "Static analysis", and
#   - cppcheck: /* cppcheck-suppress ID ; why */ above the line, and
#     scripts/cppcheck.supp; scripts/cppcheck.cfg describes the Criterion
#     and Jansson macros the tests use (cppcheck reads no system header);
#   - clang-tidy: the checks left out in .clang-tidy and tests/.clang-tidy,
#     each with its reason, and /* NOLINTNEXTLINE(check): why */.
# GCC's -fanalyzer is not run here (9 minutes for the whole tree built
# -j1); docs/testing.md says how it was run and what it found.
#
#   sh scripts/static.sh               # about 3 minutes on 2 cores
#   STATIC_JOBS=1 sh scripts/static.sh # one file at a time
# Needs cppcheck (2.10 here) and clang-tidy (14): apt-get install cppcheck
# clang-tidy. They are not in scripts/install-deps.sh: neither make test nor
# make run needs them.
set -eu
cd "$(dirname "$0")/.."
BUILD=${STATIC_BUILD:-build-static}
JOBS=${STATIC_JOBS:-$(nproc)}
case "$JOBS" in
'' | *[!0-9]* | 0) echo "static.sh: STATIC_JOBS='$JOBS': expected a count of 1 or more" >&2
    exit 2 ;;
esac
for tool in cppcheck clang-tidy cmake pkg-config; do
    command -v "$tool" >/dev/null || {
        echo "static.sh: $tool not found (apt-get install cppcheck clang-tidy)" >&2
        exit 1
    }
done
OUT=$BUILD/static
mkdir -p "$OUT"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    >"$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log" >&2; exit 1; }
cmake --build "$BUILD" --target weft_version >>"$OUT/cmake.log" 2>&1 \
    || { cat "$OUT/cmake.log" >&2; exit 1; }
DB=$BUILD/compile_commands.json
# the libraries' headers as system ones, as CMake passes some: findings in
# them are not weft's
FUZZ_FLAGS="-std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags igraph msgpack jansson openblas \
    libevent libssl | sed 's/-I/-isystem /g')"
TEMPLATE='{file}:{line}:{column}: {severity}: {id}: {message}'

echo "== cppcheck $(cppcheck --version | sed 's/^Cppcheck //')"
# --inline-suppr: the /* cppcheck-suppress */ comments; -q: findings only
set -- --enable=warning,portability,performance --std=c11 --inline-suppr -q \
    --library=scripts/cppcheck.cfg --suppressions-list=scripts/cppcheck.supp \
    --template="$TEMPLATE" -j "$JOBS"
cppcheck "$@" --project="$DB" 2>"$OUT/cppcheck.txt"
cppcheck "$@" -I. -D_GNU_SOURCE fuzz/*.c 2>>"$OUT/cppcheck.txt"
n_cppcheck=$(grep -c . "$OUT/cppcheck.txt" || true)
cat "$OUT/cppcheck.txt"

echo "== $(clang-tidy --version | grep -o 'LLVM version [0-9.]*' | sed 's/LLVM/clang-tidy,/')"
# every file the database compiles (tests and benchmarks too), a few at a
# time on each of JOBS processes; the checks are .clang-tidy's
grep -o '"file": "[^"]*"' "$DB" | sed 's/^"file": "//; s/"$//' | sort -u >"$OUT/files.txt"
xargs -P "$JOBS" -n 4 clang-tidy -p "$BUILD" --quiet <"$OUT/files.txt" \
    >"$OUT/clang-tidy.txt" 2>"$OUT/clang-tidy.err" || true
# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
clang-tidy --quiet fuzz/*.c -- $FUZZ_FLAGS >>"$OUT/clang-tidy.txt" 2>>"$OUT/clang-tidy.err" \
    || true
grep -E ': (warning|error): ' "$OUT/clang-tidy.txt" | sort -u >"$OUT/clang-tidy-findings.txt" \
    || true
n_tidy=$(grep -c . "$OUT/clang-tidy-findings.txt" || true)
cat "$OUT/clang-tidy-findings.txt"

echo "static.sh: cppcheck $n_cppcheck finding(s), clang-tidy $n_tidy" \
    "(full output in $OUT/)"
[ "$n_cppcheck" -eq 0 ] && [ "$n_tidy" -eq 0 ]
