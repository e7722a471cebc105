#!/bin/sh
# The agents' data plane on loopback: what a byte costs from one real
# `weft agent` to another, paced by a gateway whose ports are faster than
# loopback (--port-rate 100Gbps), so the agents and the kernel are the
# bottleneck. bench_gateway drives the gateway with agents that only
# report; this moves real bytes. Two workloads through `weft serve`, two
# `weft agent`s (0 sends, 1 receives) and `weft submit`:
#   big:   one flow of BIG bytes (default 4 GB): throughput (bytes / JCT);
#   small: SMALL one-flow jobs of 64 kB (default 2,000), all arriving at 0,
#          served one after another on the one connection: the mean time a
#          flow takes end to end (makespan / jobs), where a receiver's
#          acknowledgment is on the path.
# For each: the JCT or makespan, and the CPU seconds (user + system) the two
# agents used, from /proc. Pass the weft binary to compare two builds.
#
#   sh benchmarks/data_plane.sh [WEFT_BIN | BUILD_DIR]   (default ./build/weft)
#   BIG=8e9 SMALL=5000 sh benchmarks/data_plane.sh /path/to/other/weft
set -eu
WEFT=${1:-./build/weft}
# a build directory, as scripts/bench.sh passes every script
[ ! -d "$WEFT" ] || WEFT=$WEFT/weft
[ -f "$WEFT" ] && [ -x "$WEFT" ] || { echo "data_plane.sh: $WEFT not built" >&2; exit 1; }
case $WEFT in */*) ;; *) WEFT=./$WEFT ;; esac
BIG=${BIG:-4e9}
SMALL=${SMALL:-2000}
TMP=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
echo "data-plane-bench" >"$TMP/token"

# CPU seconds (utime + stime) of a process so far
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
    "/proc/$1/stat"; }

# run NAME WORKLOAD: a fresh gateway and two agents; leaves "SECONDS CPU0
# CPU1" in $TMP/NAME.result. Not in a command substitution: a subshell's
# PIDS would be lost to cleanup, and the agents would hold its pipe open,
# so a failed submit used to hang the script with all three left running.
run() {
    "$WEFT" serve --listen 127.0.0.1:0 --port-file "$TMP/port" --ports 2 \
        --port-rate 100Gbps --token-file "$TMP/token" >/dev/null 2>&1 &
    SERVE=$!
    PIDS="$PIDS $SERVE"
    i=0
    until [ -s "$TMP/port" ]; do
        i=$((i + 1)); [ $i -gt 500 ] && { echo "weft serve did not start" >&2; exit 1; }
        sleep 0.01
    done
    gw=127.0.0.1:$(cat "$TMP/port")
    "$WEFT" agent --id 1 --gateway "$gw" --token-file "$TMP/token" >/dev/null 2>&1 &
    A1=$!
    "$WEFT" agent --id 0 --gateway "$gw" --token-file "$TMP/token" >/dev/null 2>&1 &
    A0=$!
    PIDS="$PIDS $A0 $A1"
    sleep 0.3 # both connected, agent 0 told where agent 1 listens
    c0=$(cpu $A0); c1=$(cpu $A1)
    "$WEFT" submit "$2" --gateway "$gw" --token-file "$TMP/token" --out "$TMP/$1.csv" \
        --timeout 300 >/dev/null
    d0=$(awk -v a="$(cpu $A0)" -v b="$c0" 'BEGIN { print a - b }')
    d1=$(awk -v a="$(cpu $A1)" -v b="$c1" 'BEGIN { print a - b }')
    kill $A0 $A1 $SERVE
    wait $A0 $A1 $SERVE 2>/dev/null || true
    PIDS=""
    rm -f "$TMP/port"
    # makespan: the last job's arrival + JCT (all arrive at 0)
    span=$(tail -n +2 "$TMP/$1.csv" | awk -F, '{ e = $2 + $3; if (e > m) m = e } END { print m }')
    echo "$span $d0 $d1" >"$TMP/$1.result"
}

printf 'weft-workload 1\nports 2\njob 0 0 1 0 1\ncoflow 1 0 1 -\n0 1 %s\nend 1\n' "$BIG" \
    >"$TMP/big.weft"
awk -v n="$SMALL" 'BEGIN {
    printf "weft-workload 1\nports 2\n"
    for (j = 0; j < n; j++)
        printf "job %d 0 1 0 1\ncoflow 1 0 1 -\n0 1 64000\n", j
    printf "end %d\n", n
}' >"$TMP/small.weft"

echo "data plane: $("$WEFT" --version | head -1), loopback, ports at 100 Gbit/s"
printf '%-6s %14s %12s %16s %16s\n' run 'time (s)' 'per unit' 'agent 0 CPU (s)' \
    'agent 1 CPU (s)'
run big "$TMP/big.weft"
read -r t c0 c1 <"$TMP/big.result"
printf '%-6s %14.3f %9.0f MB/s %16.2f %16.2f\n' big "$t" "$(awk -v b="$BIG" -v t="$t" \
    'BEGIN { print b / t / 1e6 }')" "$c0" "$c1"
echo "BENCH data_plane run=big bytes=$BIG seconds=$t cpu0=$c0 cpu1=$c1"
run small "$TMP/small.weft"
read -r t c0 c1 <"$TMP/small.result"
printf '%-6s %14.3f %10.3f ms %16.2f %16.2f\n' small "$t" "$(awk -v n="$SMALL" -v t="$t" \
    'BEGIN { print t / n * 1e3 }')" "$c0" "$c1"
echo "BENCH data_plane run=small flows=$SMALL seconds=$t cpu0=$c0 cpu1=$c1"
