#!/bin/sh
# A live gateway's memory over a long stream of jobs: a real `weft serve`
# (loopback, a free port, a journal in a temporary directory, the default
# --tick) with two real `weft agent`s, fed JOBS one-flow jobs of 1,000 bytes
# (0 -> 1 and 1 -> 0 in turn) by `weft submit` runs in sequence, BATCH jobs
# each, all arriving at once (ids follow on from one run to the next, as
# registration is idempotent by id). Twice: with every finished job kept
# (the default) and with --keep-finished 1000. After each submit: the
# gateway's RSS (VmRSS) and the journal's size; at the end, `weft status
# --json`'s counts of the finished jobs kept and forgotten. Prints the
# samples side by side and the RSS growth per 1,000 jobs, a least-squares
# line over the second half of the samples (start-up allocations left out),
# and over the whole run. JOBS defaults to 2,500,000 a run: about 2 minutes
# in all on 2 cores.
# The policy is fair by default: it sends every flow at once, so a batch
# finishes in a few agent reports, where sebf (MADD) serves one coflow a
# port at a time, each waiting for its agent's next report (about 190
# jobs/s at the default --report 0.01 s against some 30,000 for fair).
# What a gateway keeps of a finished job does not depend on the policy.
#
#   sh benchmarks/soak.sh [BUILD_DIR]          (default build)
#   JOBS=200000 BATCH=5000 POLICY=sebf sh benchmarks/soak.sh build
set -eu
BUILD=${1:-build}
WEFT=$BUILD/weft # holds a slash, so it is run from there: BUILD may be absolute
[ -x "$WEFT" ] || { echo "soak.sh: $WEFT not built (make build)" >&2; exit 1; }
JOBS=${JOBS:-2500000}
BATCH=${BATCH:-10000}
POLICY=${POLICY:-fair}
KEEP=1000
for v in "JOBS=$JOBS" "BATCH=$BATCH"; do
    case ${v#*=} in
    '' | *[!0-9]* | 0*)
        echo "soak.sh: $v: expected a number of jobs, 1 or more" >&2
        exit 2
        ;;
    esac
done
[ "$BATCH" -le "$JOBS" ] ||
    { echo "soak.sh: BATCH=$BATCH: more than JOBS=$JOBS" >&2; exit 2; }
# TMP, its token, PIDS and their cleanup
# shellcheck source=benchmarks/live.inc
. "$(dirname "$0")/live.inc"

rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; } # kB
# one field of a status --json answer (a number or null)
field() { sed -n "s/.*\"$1\":\\([0-9a-z]*\\).*/\\1/p" "$TMP/status.json"; }
status() {
    "$WEFT" status --gateway "$gw" --token-file "$TMP/token" --json >"$TMP/status.json"
}

# run NAME [SERVE_OPTION...]: a fresh gateway and agents fed JOBS jobs;
# leaves "jobs rss_kB journal_bytes" lines in $TMP/NAME.samples and
# "kept forgotten agent0_kB agent1_kB" in $TMP/NAME.end. Not in a command
# substitution, whose subshell would lose PIDS to cleanup.
run() {
    name=$1
    shift
    rm -f "$TMP/port"
    "$WEFT" serve --listen 127.0.0.1:0 --port-file "$TMP/port" --ports 2 --policy "$POLICY" \
        --token-file "$TMP/token" --journal "$TMP/$name.journal" "$@" >"$TMP/$name.log" 2>&1 &
    SERVE=$!
    PIDS="$PIDS $SERVE"
    i=0
    until [ -s "$TMP/port" ]; do
        i=$((i + 1))
        [ $i -le 500 ] && kill -0 $SERVE 2>/dev/null ||
            { echo "soak.sh: weft serve did not start: $(cat "$TMP/$name.log")" >&2; exit 1; }
        sleep 0.01
    done
    gw=127.0.0.1:$(cat "$TMP/port")
    "$WEFT" agent --id 0 --gateway "$gw" --token-file "$TMP/token" >/dev/null 2>&1 &
    A0=$!
    "$WEFT" agent --id 1 --gateway "$gw" --token-file "$TMP/token" >/dev/null 2>&1 &
    A1=$!
    PIDS="$PIDS $A0 $A1"
    i=0
    until status 2>/dev/null && [ "$(field agents)" = 2 ]; do
        i=$((i + 1))
        [ $i -le 500 ] || { echo "soak.sh: the agents did not connect" >&2; exit 1; }
        sleep 0.01
    done
    echo "0 $(rss $SERVE) $(wc -c <"$TMP/$name.journal")" >"$TMP/$name.samples"
    done=0
    while [ "$done" -lt "$JOBS" ]; do
        n=$BATCH
        [ $((JOBS - done)) -ge "$n" ] || n=$((JOBS - done))
        awk -v n="$n" -v first="$done" 'BEGIN {
            printf "weft-workload 1\nports 2\n"
            for (j = first; j < first + n; j++)
                printf "job %d 0 1 0 1\ncoflow 1 0 1 -\n%d %d 1000\n", j, j % 2, 1 - j % 2
            printf "end %d\n", n
        }' >"$TMP/batch.weft"
        "$WEFT" submit "$TMP/batch.weft" --gateway "$gw" --token-file "$TMP/token" \
            --timeout 300 >/dev/null
        done=$((done + n))
        echo "$done $(rss $SERVE) $(wc -c <"$TMP/$name.journal")" >>"$TMP/$name.samples"
    done
    status
    [ "$(field jobs_finished)" = "$JOBS" ] ||
        { echo "soak.sh: $name: $(field jobs_finished) jobs finished, not $JOBS" >&2; exit 1; }
    forgotten=$(field jobs_forgotten)
    echo "$((JOBS - forgotten)) $forgotten $(rss $A0) $(rss $A1)" >"$TMP/$name.end"
    kill $SERVE $A0 $A1
    wait $SERVE $A0 $A1 2>/dev/null || true
    PIDS=""
}

# growth NAME: RSS bytes per 1,000 jobs, fitted over the second half
growth() {
    awk -v half=$((JOBS / 2)) '$1 >= half {
        n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
    } END {
        d = n * sxx - sx * sx
        if (n < 2 || d == 0) { print "n/a"; exit }
        printf "%.0f", (n * sxy - sx * sy) / d * 1024 * 1000
    }' "$TMP/$1.samples"
}

echo "soak: $("$WEFT" --version | head -1), $JOBS jobs of one 1,000-byte flow," \
    "$BATCH a submit, policy $POLICY, 2 agents"
run all
run keep --keep-finished $KEEP
printf '%12s %27s %27s\n' '' 'every job kept' "--keep-finished $KEEP"
printf '%12s %12s %14s %12s %14s\n' 'jobs done' 'RSS (MB)' 'journal (B)' 'RSS (MB)' \
    'journal (B)'
# about 10 rows: every k-th sample, and the last
rows=$(wc -l <"$TMP/all.samples")
paste -d ' ' "$TMP/all.samples" "$TMP/keep.samples" | awk -v k=$(((rows + 9) / 10)) -v r="$rows" \
    '(NR - 1) % k == 0 || NR == r {
        printf "%12d %12.1f %14d %12.1f %14d\n", $1, $2 / 1024, $3, $5 / 1024, $6
    }'
for name in all keep; do
    read -r kept forgotten a0 a1 <"$TMP/$name.end"
    g=$(growth $name)
    mean=$(awk 'NR == 1 { a = $2 } END { printf "%.0f", ($2 - a) * 1024 * 1000 / $1 }' \
        "$TMP/$name.samples")
    echo "$name: RSS growth $g bytes per 1,000 jobs over the second half ($mean over the run);" \
        "finished jobs kept $kept, forgotten $forgotten; agents' RSS $a0 and $a1 kB"
    last=$(tail -n 1 "$TMP/$name.samples")
    echo "BENCH soak run=$name jobs=$JOBS policy=$POLICY rss_kb=$(echo "$last" | cut -d ' ' -f 2)" \
        "journal_bytes=$(echo "$last" | cut -d ' ' -f 3) growth_bytes_per_1000=$g" \
        "kept=$kept forgotten=$forgotten"
done
