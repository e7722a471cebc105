#!/bin/sh
# Runs every test twice: the Criterion suites of the normal build, then the
# same suites built with AddressSanitizer + UndefinedBehaviorSanitizer, where
# any report fails the run (halt_on_error, no recovery). Then runs every
# fuzz target (the input readers, the gateway's parts, the emulator) for
# 6 s (scripts/fuzz.sh, docs/fuzzing.md; FUZZ_SECONDS changes it, 0 skips).
set -eu
BUILD=${1:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
cd "$(dirname "$0")/.."
# each stage says when it starts, so a suite nearing its 15-minute budget
# shows where the time went
T0=$(date +%s)
stage() { echo "== $* (at $(($(date +%s) - T0)) s)"; }

stage "tests (RelWithDebInfo build: $BUILD)"
ctest --test-dir "$BUILD" --output-on-failure -j 2 --timeout 600 -E '^test_gateway_e2e$'
# The gateway's end-to-end test runs alone (it times real transfers) and
# keeps about one core busy: the sanitizers' build, at the lowest priority,
# takes the other meanwhile (about 40 s of the 15-minute budget).
cmake -S . -B "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON -DWEFT_TEST_JOBS=1 >/dev/null
nice -n 19 cmake --build "$ASAN_BUILD" -j "$(nproc)" >"$ASAN_BUILD/build.log" 2>&1 &
asan_build=$!
e2e_status=0
ctest --test-dir "$BUILD" --output-on-failure --timeout 600 -R '^test_gateway_e2e$' ||
    e2e_status=$?
build_status=0
wait $asan_build || build_status=$?
[ "$e2e_status" -eq 0 ] || exit "$e2e_status"
if [ "$build_status" -ne 0 ]; then
    echo "the sanitizers' build failed:" >&2
    tail -40 "$ASAN_BUILD/build.log" >&2
    exit "$build_status"
fi

stage "tests under AddressSanitizer + UndefinedBehaviorSanitizer ($ASAN_BUILD)"
# Criterion runs each test in a child process and reports a passed test as
# passed even when LeakSanitizer prints a leak at the child's exit, so the
# log is also scanned for any sanitizer report.
LOG="$ASAN_BUILD/sanitizer-tests.log"
status=0
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$ASAN_BUILD" -V -j 2 --timeout 900 >"$LOG" 2>&1 || status=$?
grep -E "Synthesis|tests passed|tests failed" "$LOG" || true
if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$LOG"; then
    echo "sanitizer reports found:" >&2
    grep -E -A 12 "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$LOG" | head -80 >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    tail -60 "$LOG" >&2
    exit "$status"
fi
echo "sanitizers: no reports"

# memcheck on the real program, a representative path through the library:
# generate, convert, inspect, and replay under every policy with checks on.
stage "valgrind memcheck: weft gen / convert (a file, stdin) / inspect / sim (every policy), serve / agent / submit / cancel / status (plain and TLS) / journal"
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9"
VGDIR=$(mktemp -d)
trap 'rm -rf "$VGDIR"' EXIT
head -41 data/FB2010-1Hr-150-0.txt | sed '1s/.*/150 40/' >"$VGDIR/fb40.txt"
$VG "$BUILD/weft" gen --shape alibaba --jobs 6 --ports 8 --load 0.7 --seed 3 \
    -o "$VGDIR/small.weft" 2>/dev/null
$VG "$BUILD/weft" convert "$VGDIR/fb40.txt" --format fb -o "$VGDIR/fb40.weft"
$VG "$BUILD/weft" inspect "$VGDIR/fb40.weft" >/dev/null
# standard input (read into memory once, the format guessed from there)
$VG "$BUILD/weft" convert - -o "$VGDIR/fb40-stdin.weft" <"$VGDIR/fb40.txt" 2>/dev/null
cmp "$VGDIR/fb40.weft" "$VGDIR/fb40-stdin.weft"
POLICIES=$("$BUILD/weft" sim --help | awk '/^orderings:/{on=1;next} /^$/{on=0} on&&/^  [a-z]/{printf "--policy %s ", $1}')
# shellcheck disable=SC2086
$VG "$BUILD/weft" sim "$VGDIR/small.weft" --check --lp-bound $POLICIES >/dev/null
# training (every phase, two threads, a resume) and evaluation, tiny
TR="--out $VGDIR/train --val $VGDIR/small.weft --imitate 1 --dagger 1 --episodes 1 --rollouts 2 \
    --jobs-min 3 --jobs-max 6 --threads 2 --checkpoint-every 1"
# shellcheck disable=SC2086
$VG "$BUILD/weft" train "$VGDIR/small.weft" $TR --iters 3 >/dev/null
# shellcheck disable=SC2086
$VG "$BUILD/weft" train "$VGDIR/small.weft" $TR --iters 4 \
    --resume "$VGDIR/train/checkpoint.msgpack" >/dev/null
cp "$VGDIR/small.weft" "$VGDIR/small-s2.weft" # a second sample: one file twice is refused
$VG "$BUILD/weft" eval --model "$VGDIR/train/best.msgpack" --policy learned --policy jsebf \
    --threads 2 --lp-bound "$VGDIR/small.weft" "$VGDIR/small-s2.weft" >/dev/null
# the gateway: weft serve (with a journal), two of four agents and weft
# submit under memcheck, a short run of the end-to-end workload
echo "valgrind-test-token" >"$VGDIR/token"
# memcheck slows every side tenfold or more, and more on a busy host: the
# gateway waits for a hello (a TLS handshake first) far longer than its 5 s
VG_WAIT="--hello-timeout 120 --frame-timeout 120"
$VG "$BUILD/weft" serve --listen 127.0.0.1:0 --ports 4 --port-rate 20MB/s $VG_WAIT \
    --token-file "$VGDIR/token" --journal "$VGDIR/journal" --port-file "$VGDIR/port" \
    >/dev/null 2>"$VGDIR/serve.err" &
VG_SERVE=$!
i=0
while [ ! -s "$VGDIR/port" ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
VG_PORT=$(cat "$VGDIR/port")
VG_AGENTS=""
for a in 0 1 2 3; do
    if [ $a -lt 2 ]; then RUN=$VG; else RUN=""; fi
    $RUN "$BUILD/weft" agent --id $a --gateway "127.0.0.1:$VG_PORT" \
        --token-file "$VGDIR/token" 2>"$VGDIR/agent$a.err" &
    VG_AGENTS="$VG_AGENTS $!"
done
vg_status=0
$VG "$BUILD/weft" submit tests/gateway/small.weft --gateway "127.0.0.1:$VG_PORT" \
    --token-file "$VGDIR/token" --timeout 120 >/dev/null || vg_status=$?
# weft cancel: job 0 has finished (left as it is), 999 is unknown (status 1)
cancel_status=0
$VG "$BUILD/weft" cancel 0 999 --gateway "127.0.0.1:$VG_PORT" --token-file "$VGDIR/token" \
    >"$VGDIR/cancel.out" 2>"$VGDIR/cancel.err" || cancel_status=$?
if [ $cancel_status -ne 1 ] || ! grep -q "job 0 had already finished" "$VGDIR/cancel.out"; then
    echo "weft cancel: status $cancel_status, expected 1" >>"$VGDIR/cancel.err"
    vg_status=1
fi
# weft status, table and JSON: the five jobs registered, job 0 finished
for fmt in "" --json; do
    $VG "$BUILD/weft" status --gateway "127.0.0.1:$VG_PORT" --token-file "$VGDIR/token" \
        $fmt >"$VGDIR/status.out" 2>"$VGDIR/status.err" || vg_status=$?
    grep -q '"jobs": *5\|jobs registered *5' "$VGDIR/status.out" ||
        { echo "weft status $fmt: no 5 jobs registered" >>"$VGDIR/status.err"; vg_status=1; }
done
# shellcheck disable=SC2086
kill $VG_AGENTS
for p in $VG_AGENTS; do wait "$p" || vg_status=$?; done
kill $VG_SERVE
wait $VG_SERVE || vg_status=$?
# weft journal on what the gateway wrote: the five jobs, every seal checked
$VG "$BUILD/weft" journal "$VGDIR/journal" --ports 4 >"$VGDIR/journal.out" \
    2>"$VGDIR/journal.err" || vg_status=$?
grep -q "format 2, every record's checksum matches" "$VGDIR/journal.out" &&
    grep -q "jobs  *5 in the table" "$VGDIR/journal.out" ||
    { echo "weft journal: not the five jobs of a format 2 journal" >>"$VGDIR/journal.err"; vg_status=1; }
if [ $vg_status -ne 0 ]; then
    cat "$VGDIR"/*.err >&2
    echo "valgrind: the gateway run failed (status $vg_status)" >&2
    exit 1
fi
# TLS: weft serve --tls-cert and weft status --tls-ca under memcheck, with a
# CA and a certificate for 127.0.0.1 made here
(cd "$VGDIR" && EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' &&
    openssl req -x509 $EC -keyout ca.key -out ca.pem -days 1 -subj /CN=vg-ca &&
    openssl req $EC -keyout gw.key -out gw.csr -subj /CN=127.0.0.1 &&
    printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
    openssl x509 -req -in gw.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out gw.pem \
        -days 1 -extfile ext) >"$VGDIR/openssl.log" 2>&1
rm -f "$VGDIR/port"
$VG "$BUILD/weft" serve --listen 127.0.0.1:0 --ports 4 --token-file "$VGDIR/token" $VG_WAIT \
    --tls-cert "$VGDIR/gw.pem" --tls-key "$VGDIR/gw.key" --port-file "$VGDIR/port" \
    >/dev/null 2>"$VGDIR/tls-serve.err" &
VG_SERVE=$!
i=0
while [ ! -s "$VGDIR/port" ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
$VG "$BUILD/weft" status --gateway "127.0.0.1:$(cat "$VGDIR/port")" \
    --token-file "$VGDIR/token" --tls-ca "$VGDIR/ca.pem" >"$VGDIR/status.out" \
    2>"$VGDIR/tls-status.err" || vg_status=$?
grep -q 'connections open' "$VGDIR/status.out" ||
    { echo "weft status --tls-ca: no table" >>"$VGDIR/tls-status.err"; vg_status=1; }
kill $VG_SERVE
wait $VG_SERVE || vg_status=$?
if [ $vg_status -ne 0 ]; then
    cat "$VGDIR"/tls-*.err >&2
    echo "valgrind: the TLS gateway run failed (status $vg_status)" >&2
    exit 1
fi
echo "valgrind: no errors, no leaks"

# 6 s a target keeps the suite inside its 15 minutes on this 2-core machine
# (10 s until a clean clone's run of 27 ctest entries took 14 min 38 s,
# 2026-12-06); long campaigns are scripts/fuzz.sh's (docs/fuzzing.md)
FUZZ_SECONDS=${FUZZ_SECONDS:-6}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
    stage "fuzzing the readers, the gateway and the emulator (libFuzzer + ASan + UBSan, ${FUZZ_SECONDS}s per target)"
    sh scripts/fuzz.sh "$FUZZ_SECONDS"
fi
stage "all tests passed"
