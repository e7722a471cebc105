#!/bin/sh
# jct_clocks.sh - weft submit's JCT of a job against the gateway's, for the
# same job: README's first block of "The live gateway" (tests/gateway/
# small.weft, 4 ports at 4 MB/s, 4 agents), submitted once on a fresh
# journal (JCTs on submit's clock) and once more (each job "registered
# before this run": the gateway's JCT of that first registration).
#
#   scripts/jct_clocks.sh [RUNS]     (from the repository; WEFT_BIN: the weft)
#
# Prints, per run and job, both JCTs and submit's minus the gateway's in
# milliseconds. Every process it starts is stopped before the next run.
set -eu
weft=${WEFT_BIN:-build/weft}
runs=${1:-3}
workload=tests/gateway/small.weft
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 24 /dev/urandom | base64 >"$tmp/token"
run=1
while [ "$run" -le "$runs" ]; do
    rm -f "$tmp/gw.journal" "$tmp/port"
    "$weft" serve --ports 4 --port-rate 4MB/s --policy sebf --token-file "$tmp/token" \
        --listen 127.0.0.1:0 --port-file "$tmp/port" --journal "$tmp/gw.journal" \
        >"$tmp/serve.out" 2>&1 &
    pids=$!
    while [ ! -s "$tmp/port" ]; do sleep 0.05; done
    gw=127.0.0.1:$(cat "$tmp/port")
    for i in 0 1 2 3; do
        "$weft" agent --id "$i" --gateway "$gw" --token-file "$tmp/token" 2>/dev/null &
        pids="$pids $!"
    done
    "$weft" submit "$workload" --gateway "$gw" --token-file "$tmp/token" >"$tmp/fresh" 2>&1
    "$weft" submit "$workload" --gateway "$gw" --token-file "$tmp/token" >"$tmp/again" 2>&1
    kill $pids
    wait 2>/dev/null || true
    for job in $(sed -n 's/^job \([0-9]*\) done: JCT .*/\1/p' "$tmp/fresh"); do
        mine=$(sed -n "s/^job $job done: JCT \\([0-9.]*\\) s\$/\\1/p" "$tmp/fresh")
        theirs=$(sed -n "s/^job $job done: JCT \\([0-9.]*\\) s (the gateway's clock)\$/\\1/p" \
            "$tmp/again")
        awk -v r="$run" -v j="$job" -v a="$mine" -v b="$theirs" 'BEGIN {
            printf "run %s job %s: submit %.3f s, gateway %.3f s, %+.0f ms\n", r, j, a, b,
                   (a - b) * 1000 }'
    done
    run=$((run + 1))
done
