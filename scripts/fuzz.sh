#!/bin/sh
# Builds the libFuzzer targets of fuzz/ with Debian's clang (libFuzzer +
# AddressSanitizer + UndefinedBehaviorSanitizer) into build-fuzz/ and runs
# each for SECONDS_PER_TARGET seconds (default 30), FUZZ_JOBS of them at once
# (default: one per core; each target is one process on one core).
# Prints per target the executions and whether anything was found; exits
# non-zero on any crash, leak, timeout or out-of-memory, keeping the input in
# build-fuzz/crashes/. docs/fuzzing.md explains longer campaigns.
#
#   sh scripts/fuzz.sh [SECONDS_PER_TARGET]
#   FUZZ_TARGETS="fb weft" sh scripts/fuzz.sh 600    # only some targets
set -eu
SECS=${1:-30}
CC=${FUZZ_CC:-clang}
OUT=${FUZZ_OUT:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}
case "$JOBS" in
'' | *[!0-9]* | 0) echo "fuzz.sh: FUZZ_JOBS='$JOBS': expected a count of 1 or more" >&2; exit 2 ;;
esac
# the fuzzers run by path: ./DIR for a relative FUZZ_OUT, DIR for an absolute one
case "$OUT" in
/*) BIN_DIR=$OUT ;;
*) BIN_DIR=./$OUT ;;
esac
TARGETS=${FUZZ_TARGETS:-fb alibaba wfcommons weft model frame job journal sched server agent sim}
cd "$(dirname "$0")/.."

# Only what the readers and the frame decoder need, not the whole library:
# the policies and the emulator are linked only into the targets that
# drive them (below).
LIB_SOURCES="common/weft.c coflow/model.c dag/dag.c workload/read.c workload/fb.c
workload/alibaba.c workload/wfcommons.c workload/text.c attention/model.c rpc/frame.c
rpc/msg.c rpc/job.c"
# Linked into fuzz_journal only: its rewrite names two scheduler functions,
# which that target stubs and the others do not link at all.
JOURNAL_SOURCES="rpc/journal.c"
# Linked into fuzz_sched only: the online scheduler with every ordering and
# allocator (the registry names the learned one too, hence the encoder,
# the scorer and BLAS).
SCHED_SOURCES="rpc/sched.c $(ls coflow/*.c gnn/*.c attention/*.c | grep -v '^coflow/model.c$' \
| grep -v '^attention/model.c$' | tr '\n' ' ')"
# Linked into fuzz_sim only, with the scheduler's sources above: the
# emulator and the LP lower bound it is checked against (GLPK).
SIM_SOURCES="$(ls netsim/*.c | tr '\n' ' ') dag/lpbound.c"
# Linked into fuzz_server only, with the two above: the gateway's server
# and the client library its peers speak through (libevent, OpenSSL).
SERVER_SOURCES="rpc/server.c rpc/server_status.c rpc/server_reload.c rpc/metrics.c"
SERVER_SOURCES="$SERVER_SOURCES rpc/secrets.c rpc/client.c rpc/data_tls.c"

# Per target: the largest input libFuzzer makes (the seeds fit; the FB and
# weft formats are line-based, the JSON needs room for a few tasks; frame
# needs room for a frame at its 4096-byte cap plus the next one's header).
max_len() {
    case "$1" in
    wfcommons) echo 16384 ;;
    fb) echo 8192 ;;
    model) echo 8192 ;;
    frame) echo 8192 ;;
    job) echo 8192 ;;
    journal) echo 16384 ;;
    *) echo 4096 ;;
    esac
}

echo "== fuzzing: building targets with $CC into $OUT/"
command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found (apt-get install clang)" >&2; exit 1; }
mkdir -p "$OUT/obj" "$OUT/crashes"
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer
-fsanitize=address,undefined -fno-sanitize-recover=undefined -I.
$(pkg-config --cflags igraph msgpack jansson openblas libevent libssl)"
LIBS="$(pkg-config --libs igraph msgpack jansson libcrypto) -lm -pthread"
SCHED_LIBS="$(pkg-config --libs openblas)"
SERVER_LIBS="$(pkg-config --libs libevent libevent_openssl libssl libcrypto)"
SIM_LIBS="-lglpk"
OBJS=""
JOURNAL_OBJS=""
SCHED_OBJS=""
SERVER_OBJS=""
SIM_OBJS=""
# Compiling and linking run JOBS commands at a time: `batch CMD...` starts
# one in the background, and waits for the batch once it is full
# (batch_wait: any that failed fails the build).
PIDS=""
RUNNING=0
batch_wait() {
    bad=0
    for p in $PIDS; do wait "$p" || bad=1; done
    PIDS=""
    RUNNING=0
    [ "$bad" -eq 0 ] || { echo "fuzz.sh: building the targets failed" >&2; exit 1; }
}
batch() {
    "$@" &
    PIDS="$PIDS $!"
    RUNNING=$((RUNNING + 1))
    [ "$RUNNING" -lt "$JOBS" ] || batch_wait
}
for src in $LIB_SOURCES $JOURNAL_SOURCES $SCHED_SOURCES $SERVER_SOURCES $SIM_SOURCES; do
    obj="$OUT/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
    # shellcheck disable=SC2086
    batch $CC $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
    case " $JOURNAL_SOURCES " in
    *" $src "*) JOURNAL_OBJS="$JOURNAL_OBJS $obj" ;;
    *)
        case " $SCHED_SOURCES " in
        *" $src "*) SCHED_OBJS="$SCHED_OBJS $obj" ;;
        *)
            case " $SERVER_SOURCES " in
            *" $src "*) SERVER_OBJS="$SERVER_OBJS $obj" ;;
            *)
                case " $SIM_SOURCES " in
                *" $src "*) SIM_OBJS="$SIM_OBJS $obj" ;;
                *) OBJS="$OBJS $obj" ;;
                esac
                ;;
            esac
            ;;
        esac
        ;;
    esac
done
batch_wait
for t in $TARGETS; do
    extra=""
    [ "$t" = journal ] && extra=$JOURNAL_OBJS
    [ "$t" = sched ] && extra="$SCHED_OBJS $SCHED_LIBS"
    [ "$t" = server ] && extra="$SERVER_OBJS $JOURNAL_OBJS $SCHED_OBJS $SCHED_LIBS $SERVER_LIBS"
    # fuzz_agent includes rpc/agent.c itself; it needs the client library and
    # the data connections' TLS
    [ "$t" = agent ] && extra="$OUT/obj/rpc_client.o $OUT/obj/rpc_data_tls.o $SERVER_LIBS"
    [ "$t" = sim ] && extra="$SIM_OBJS $SCHED_OBJS $SCHED_LIBS $SIM_LIBS"
    # shellcheck disable=SC2086
    batch $CC $CFLAGS -fsanitize=fuzzer "fuzz/fuzz_$t.c" $OBJS $extra $LIBS -o "$OUT/fuzz_$t"
done
batch_wait

# One target: its log in $OUT/fuzz_T.log, libFuzzer's exit status in
# $OUT/fuzz_T.status.
fuzz_target() {
    t=$1
    mkdir -p "$OUT/corpus/$t"
    seeds="fuzz/corpus/$t"
    [ -d "tests/regress/$t" ] && seeds="$seeds tests/regress/$t"
    status=0
    # The first corpus directory collects what the run discovers (kept across
    # runs); the seeds and the regression inputs are only read.
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$BIN_DIR/fuzz_$t" "$OUT/corpus/$t" $seeds \
        -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=30 \
        -max_len="$(max_len "$t")" -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$t-" >"$OUT/fuzz_$t.log" 2>&1 || status=$?
    echo "$status" >"$OUT/fuzz_$t.status"
}

# JOBS lanes, each running every JOBS-th target in turn: the targets all
# take SECS, so the lanes end together.
echo "== fuzzing $(echo $TARGETS | wc -w) targets for ${SECS}s each, $JOBS at a time"
for t in $TARGETS; do rm -f "$OUT/fuzz_$t.status"; done
LANES=""
lane=0
while [ "$lane" -lt "$JOBS" ]; do
    (
        i=0
        for t in $TARGETS; do
            [ $((i % JOBS)) -eq "$lane" ] && fuzz_target "$t"
            i=$((i + 1))
        done
    ) &
    LANES="$LANES $!"
    lane=$((lane + 1))
done
for p in $LANES; do wait "$p"; done

failed=""
for t in $TARGETS; do
    log="$OUT/fuzz_$t.log"
    status=$(cat "$OUT/fuzz_$t.status" 2>/dev/null || echo "not run")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    if [ "$status" = 0 ]; then
        echo "$t: ${execs:-?} executions, coverage ${cov:-?} edges, nothing found" \
            "(max_len $(max_len "$t"))"
    else
        echo "$t: FOUND a problem (exit $status) after ${execs:-?} executions:" >&2
        grep -E "ERROR: |runtime error:|fuzz check failed|SUMMARY:|artifact_prefix|Test unit written" "$log" | head -20 >&2
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzzing found problems in:$failed (inputs in $OUT/crashes/, logs in $OUT/fuzz_*.log)" >&2
    exit 1
fi
echo "fuzzing: nothing found"
