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
# TLS=1 runs each workload twice, side by side: plain, then with TLS data
# connections (`weft agent --data-cert`; the gateway's connections TLS too,
# as --data-cert needs --tls-ca), certificates made by `openssl` in a
# temporary directory.
#
#   sh benchmarks/data_plane.sh [WEFT_BIN | BUILD_DIR]   (default ./build/weft)
#   BIG=8e9 SMALL=5000 sh benchmarks/data_plane.sh /path/to/other/weft
#   TLS=1 sh benchmarks/data_plane.sh
set -eu
WEFT=${1:-./build/weft}
# a build directory, as scripts/bench.sh passes every script
[ ! -d "$WEFT" ] || WEFT=$WEFT/weft
[ -f "$WEFT" ] && [ -x "$WEFT" ] || { echo "data_plane.sh: $WEFT not built" >&2; exit 1; }
case $WEFT in */*) ;; *) WEFT=./$WEFT ;; esac
BIG=${BIG:-4e9}
SMALL=${SMALL:-2000}
TLS=${TLS:-0}
# TMP, its token, PIDS and their cleanup
# shellcheck source=benchmarks/live.inc
. "$(dirname "$0")/live.inc"

# CPU seconds (utime + stime) of a process so far
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' \
    "/proc/$1/stat"; }

# certificates for TLS=1: a CA, the gateway's for 127.0.0.1, the agents' one
# (for 127.0.0.1 too: a sender checks that its receiver's names its address)
if [ "$TLS" = 1 ]; then
    # shellcheck disable=SC2086 # $EC is options
    (cd "$TMP" && EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes" &&
        openssl req -x509 $EC -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca &&
        openssl req $EC -keyout gw.key -out gw.csr -subj /CN=127.0.0.1 &&
        printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
        openssl x509 -req -in gw.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext -out gw.pem &&
        openssl req $EC -keyout agent.key -out agent.csr -subj /CN=bench-agent &&
        openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile ext -out agent.pem) >"$TMP/openssl.log" 2>&1 ||
        { echo "data_plane.sh: openssl failed: $(cat "$TMP/openssl.log")" >&2; exit 1; }
fi

# run NAME WORKLOAD [tls]: a fresh gateway and two agents (over TLS, data
# connections included, with "tls"); leaves "SECONDS CPU0 CPU1" in
# $TMP/NAME.result. Not in a command substitution: a subshell's
# PIDS would be lost to cleanup, and the agents would hold its pipe open,
# so a failed submit used to hang the script with all three left running.
run() {
    srv_tls="" agent_tls="" client_tls=""
    if [ "${3:-}" = tls ]; then
        srv_tls="--tls-cert $TMP/gw.pem --tls-key $TMP/gw.key"
        client_tls="--tls-ca $TMP/ca.pem"
        agent_tls="$client_tls --data-cert $TMP/agent.pem --data-key $TMP/agent.key"
    fi
    # shellcheck disable=SC2086 # the options are words
    "$WEFT" serve --listen 127.0.0.1:0 --port-file "$TMP/port" --ports 2 \
        --port-rate 100Gbps --token-file "$TMP/token" $srv_tls >/dev/null 2>&1 &
    SERVE=$!
    PIDS="$PIDS $SERVE"
    i=0
    until [ -s "$TMP/port" ]; do
        i=$((i + 1)); [ $i -gt 500 ] && { echo "weft serve did not start" >&2; exit 1; }
        sleep 0.01
    done
    gw=127.0.0.1:$(cat "$TMP/port")
    # shellcheck disable=SC2086
    "$WEFT" agent --id 1 --gateway "$gw" --token-file "$TMP/token" $agent_tls >/dev/null 2>&1 &
    A1=$!
    # shellcheck disable=SC2086
    "$WEFT" agent --id 0 --gateway "$gw" --token-file "$TMP/token" $agent_tls >/dev/null 2>&1 &
    A0=$!
    PIDS="$PIDS $A0 $A1"
    sleep 0.3 # both connected, agent 0 told where agent 1 listens
    c0=$(cpu $A0); c1=$(cpu $A1)
    # shellcheck disable=SC2086
    "$WEFT" submit "$2" --gateway "$gw" --token-file "$TMP/token" --out "$TMP/$1.csv" \
        --timeout 300 $client_tls >/dev/null
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
printf '%-9s %11s %12s %16s %16s\n' run 'time (s)' 'per unit' 'agent 0 CPU (s)' \
    'agent 1 CPU (s)'
modes=plain
[ "$TLS" = 1 ] && modes="plain tls"
# report WORKLOAD UNIT: runs it in each mode and prints its row (UNIT: the
# throughput for big, the time per flow for small) and a BENCH line
report() {
    for m in $modes; do
        name=$1; [ "$m" = tls ] && name=$1-tls
        run "$name" "$TMP/$1.weft" "$m"
        read -r t c0 c1 <"$TMP/$name.result"
        if [ "$1" = big ]; then
            unit=$(awk -v b="$BIG" -v t="$t" 'BEGIN { printf "%9.0f MB/s", b / t / 1e6 }')
            what="bytes=$BIG"
        else
            unit=$(awk -v n="$SMALL" -v t="$t" 'BEGIN { printf "%10.3f ms", t / n * 1e3 }')
            what="flows=$SMALL"
        fi
        printf '%-9s %11.3f %s %16.2f %16.2f\n' "$name" "$t" "$unit" "$c0" "$c1"
        echo "BENCH data_plane run=$name $what seconds=$t cpu0=$c0 cpu1=$c1"
    done
}
report big
report small
