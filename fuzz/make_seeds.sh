#!/bin/sh
# Regenerates the seed corpora fuzz/corpus/<target>/ from the real data
# files (a few KB each; the whole corpus stays far under 200 KB). Needs a
# built `weft` (BUILD, default build/), python3 and clang or cc.
#
#   sh fuzz/make_seeds.sh
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
C=fuzz/corpus
mkdir -p $C/fb $C/alibaba $C/wfcommons $C/weft $C/model $C/job $C/journal

# FB: the trace's first 19 coflows (header rewritten to say so), and the
# first 8 short lines, which the mutator handles faster
{ echo "150 19"; sed -n 2,20p data/FB2010-1Hr-150-0.txt; } >$C/fb/fb2010-first19.txt
{ echo "150 8"; awk 'NR > 1 && length($0) < 120' data/FB2010-1Hr-150-0.txt | head -8; } \
    >$C/fb/fb2010-short8.txt

# Alibaba: the sample's first 50 rows
head -50 data/alibaba/sample_tasks.csv >$C/alibaba/sample-first50.csv

# WfCommons: two workflows trimmed to a few tasks (the root, three of its
# children, and a sink over them), files and execution records cut to match
python3 - "$C/wfcommons" <<'PY'
import json, sys
out = sys.argv[1]

def trim(src, dst, n_mid):
    d = json.load(open(src))
    spec, exe = d["workflow"]["specification"], d["workflow"].get("execution", {})
    tasks = spec["tasks"]
    ids = {t["id"] for t in tasks}
    depth = {}
    def dep(t):
        if t["id"] not in depth:
            ps = [p for p in t.get("parents", []) if p in ids]
            byid = {x["id"]: x for x in tasks}
            depth[t["id"]] = 0 if not ps else 1 + max(dep(byid[p]) for p in ps)
        return depth[t["id"]]
    for t in tasks:
        dep(t)
    roots = [t for t in tasks if depth[t["id"]] == 0][:1]
    mid = [t for t in tasks if depth[t["id"]] == 1][:n_mid]
    sinks = [t for t in tasks if depth[t["id"]] == 2][:1]
    keep = roots + mid + sinks
    kid = {t["id"] for t in keep}
    files = set()
    new_tasks = []
    for t in keep:
        nt = {"name": t["name"], "id": t["id"],
              "parents": [p for p in t.get("parents", []) if p in kid],
              "children": [c for c in t.get("children", []) if c in kid],
              "inputFiles": t.get("inputFiles", []), "outputFiles": t.get("outputFiles", [])}
        # keep only files that connect kept tasks, plus one outside input
        new_tasks.append(nt)
    outs = {f for t in new_tasks for f in t["outputFiles"]}
    ins = {f for t in new_tasks for f in t["inputFiles"]}
    for t in new_tasks:
        t["inputFiles"] = [f for f in t["inputFiles"] if f in outs][:4] + \
                          [f for f in t["inputFiles"] if f not in outs][:1]
        t["outputFiles"] = [f for f in t["outputFiles"] if f in ins][:4]
        files.update(t["inputFiles"], t["outputFiles"])
    new = {"name": d.get("name", ""), "schemaVersion": d.get("schemaVersion", "1.5"),
           "workflow": {
               "specification": {"tasks": new_tasks,
                                 "files": [f for f in spec["files"] if f["id"] in files]},
               "execution": {"tasks": [{"id": e["id"], "runtimeInSeconds": e["runtimeInSeconds"]}
                                       for e in exe.get("tasks", []) if e["id"] in kid]}}}
    json.dump(new, open(dst, "w"), indent=1)
    open(dst, "a").write("\n")

trim("data/wfcommons/blast-chameleon-small-001.json", out + "/blast-trimmed.json", 3)
trim("data/wfcommons/1000genome-chameleon-2ch-100k-001.json", out + "/1000genome-trimmed.json", 2)
PY

# weft: the other seeds converted by `weft convert`
"$BUILD/weft" convert -f fb -o $C/weft/fb-short8.weft $C/fb/fb2010-short8.txt
"$BUILD/weft" convert -f alibaba -o $C/weft/alibaba-first50.weft $C/alibaba/sample-first50.csv
"$BUILD/weft" convert -f wfcommons -o $C/weft/blast-trimmed.weft $C/wfcommons/blast-trimmed.json

# model: files saved by attn_model_save
CC=${CC:-cc}
tmp=$(mktemp -d)
# shellcheck disable=SC2046
$CC -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. $(pkg-config --cflags msgpack) \
    fuzz/gen_model_seed.c attention/model.c common/weft.c \
    $(pkg-config --libs msgpack libcrypto) -o "$tmp/gen_model_seed"
"$tmp/gen_model_seed" $C/model
rm -rf "$tmp"
# job: register messages for the jobs of the gateway's end-to-end workload
# (payloads only: fuzz_job frames them), packed by a throwaway encoder
mkdir -p $C/job
python3 - tests/gateway/small.weft $C/job <<'PY'
import struct, sys
def pk(o):
    if isinstance(o, bool): return b"\xc3" if o else b"\xc2"
    if isinstance(o, int): return bytes([o]) if 0 <= o < 128 else b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float): return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, str):
        b = o.encode(); return bytes([0xa0 | len(b)]) + b
    if isinstance(o, list): return bytes([0x90 | len(o)]) + b"".join(pk(x) for x in o)
    if isinstance(o, dict):
        return bytes([0x80 | len(o)]) + b"".join(pk(k) + pk(v) for k, v in o.items())
    raise TypeError(o)
jobs, job, co = [], None, None
for line in open(sys.argv[1]):
    f = line.split("#")[0].split()
    if not f: continue
    if f[0] == "job":
        job = {"id": int(f[1]), "weight": float(f[3]), "final_compute": float(f[4]), "coflows": []}
        jobs.append(job)
    elif f[0] == "coflow":
        co = {"id": int(f[1]), "compute": float(f[2]),
              "parents": [] if f[4] == "-" else [int(x) for x in f[4].split(",")], "flows": []}
        job["coflows"].append(co)
    elif len(f) == 3 and co is not None:
        co["flows"].append([int(f[0]), int(f[1]), float(f[2])])
for k, j in enumerate(jobs):
    open("%s/register-job%d.bin" % (sys.argv[2], j["id"]), "wb").write(
        pk({"type": "register", "seq": k, "job": j}))
PY

# Journals written by a real gateway: a run to the end (epoch, job and done
# records), one with jobs cancelled while waiting (cancel records), and the
# first cut 5 bytes short (a torn tail). The corpus keeps the same three
# from before journal format 2 (format1-*, records without seals), which
# this script no longer makes, so that mutations still reach the records'
# own checks past the seals.
mkdir -p $C/journal
J=$(mktemp -d)
echo seed-token >"$J/token"
serve_journal() { # serve_journal FILE PORT
    "$BUILD/weft" serve --ports 4 --port-rate 40MB/s --token-file "$J/token" --no-fsync \
        --listen "127.0.0.1:$2" --journal "$J/$1" >/dev/null 2>&1 &
    SERVE=$!
    sleep 0.3
}
serve_journal done.journal 7581
AGENTS=""
for i in 0 1 2 3; do
    "$BUILD/weft" agent --id $i --gateway 127.0.0.1:7581 --token-file "$J/token" 2>/dev/null &
    AGENTS="$AGENTS $!"
done
"$BUILD/weft" submit tests/gateway/small.weft --gateway 127.0.0.1:7581 \
    --token-file "$J/token" --timeout 20 >/dev/null
kill $SERVE $AGENTS 2>/dev/null; wait 2>/dev/null || true
serve_journal cancelled.journal 7582
"$BUILD/weft" submit tests/gateway/small.weft --gateway 127.0.0.1:7582 \
    --token-file "$J/token" --timeout 3.5 >/dev/null 2>&1 || true
"$BUILD/weft" cancel 1 2 --gateway 127.0.0.1:7582 --token-file "$J/token" >/dev/null
kill $SERVE; wait 2>/dev/null || true
cp "$J/done.journal" $C/journal/run-done.journal
cp "$J/cancelled.journal" $C/journal/cancelled.journal
head -c $(($(wc -c <"$J/done.journal") - 5)) "$J/done.journal" >$C/journal/torn-tail.journal
rm -rf "$J"
# server: programs of fuzz/fuzz_server.c (its header says how an input
# reads): agents on ports 0 and 1 and a client; a job registered, reported
# on and finished, asked about and watched; a second job cancelled; then a
# message of a known type with odd fields and an empty frame. Once with
# sebf, one secret per role and a journal; once with fifo + greedy, a 4 KiB
# frame cap and a budget of 2 frames; once with aalo, a secret per agent's
# port and a journal.
mkdir -p $C/server
python3 - $C/server <<'PY'
import sys
CONNECT, CLOSE, HELLO, REGISTER, PROGRESS, DONE, WATCH, CANCEL, JOB_STATUS, STATUS, \
    HOSTILE, RAW, PUMP, SHUT = range(14)
def agent(p): return 1 | (p << 3)
def program(setup):
    b = [setup]
    b += [CONNECT, 0, HELLO, 0, agent(0), 10, CONNECT, 1, HELLO, 1, agent(1), 11]
    b += [CONNECT, 2, HELLO, 2, 0, PUMP, 0, 2]
    # job 0: one coflow, flows 0->1 (11 kB) and 1->0 (21 kB)
    b += [REGISTER, 2, 1, 0, 0, 0, 0, 1, 4, 10, 1, 20, PUMP, 0, 2]
    b += [PROGRESS, 0, 0, 0, 0, 5, DONE, 0, 0, 0, 0, 0, 1, DONE, 1, 0, 0, 1, 0, 2]
    b += [PUMP, 0, 2, JOB_STATUS, 2, 0, 1, 1, STATUS, 2, 1, 5, WATCH, 2, 0, 1]
    # job 1: one flow 2->3, cancelled
    b += [REGISTER, 2, 1, 0, 0, 0, 0, 0, 14, 50, PUMP, 0, 2, CANCEL, 2, 1, 1, 3]
    b += [PUMP, 0, 2, HOSTILE, 2, 1, 1, 7, 11, 2, 4, 2, 7, 8, 9, 1, 2, 3]
    b += [RAW, 0, 3, 0, 0, 0, 0, PUMP, 0, 2]
    return bytes(b)
open(sys.argv[1] + "/sebf-split-journal", "wb").write(program(0 | 4 | 8))
open(sys.argv[1] + "/fifo-small-frames-budget2", "wb").write(program(1 | 16 | 32))
open(sys.argv[1] + "/aalo-port-secrets-journal", "wb").write(program(2 | 8 | 128))
PY

# agent: messages of a gateway as fuzz/fuzz_agent.c reads them: a welcome
# of 4 ports, a schedule announcing two flows with rates and classes,
# pacing passes of 0.02 s and 1 s, the peers, a pass of 1e9 s, an ack, a
# schedule dropping a flow, a welcome of another epoch.
mkdir -p $C/agent
python3 - $C/agent <<'PY'
import sys
WELCOME, PEERS, SCHEDULE, ACK, ERROR, ANY = range(6)
def u(v): return [2, v]          # a small unsigned number (0-7)
def d(i): return [1, i]          # one of the odd doubles (3: 1e6, 2: 1500)
MSG, PACE = 1, 0               # a step's first byte: a message, or a pacing pass
def pace(dt): return [PACE, 5, dt]  # at t = 6 s, dt = 0, 1e-3, 0.02, 1 or 1e9 s
prog = [MSG, WELCOME] + u(4) + u(1)
prog += [MSG, SCHEDULE, 2, 2, 0]
prog += [2] + u(1) + u(1) + d(3) + d(0) + [2] + u(2) + u(2) + d(3) + d(0)
prog += [2] + u(1) + d(3) + u(0) + [2] + u(2) + d(2) + u(1)
prog += pace(2) + pace(3) + [MSG, PEERS, 2] + u(1) + [1] + u(7) + u(2) + [1] + u(7)
prog += pace(4) + [MSG, ACK] + u(0) + [MSG, SCHEDULE, 0, 0, 1] + u(1)
prog += [MSG, WELCOME] + u(4) + u(2)
open(sys.argv[1] + "/welcome-schedule-drop", "wb").write(bytes(prog))
PY

# sim: inputs of fuzz/fuzz_sim.c (its header says how one reads): a
# policy and flags, then a workload drawn from 300 bytes of a seeded
# generator (every byte string is a workload). sebf on equal ports;
# fifo + fair with a tick; sincronia with ports twice as fast inbound;
# aalo flow by flow (eager pacing); the learned ordering (random
# parameters) with greedy; sebf and jsebf-cp on up to 150 ports (port
# sets of several words), the first on equal ports. The first byte is the ordering's place in the
# registry (weft sim --policy all lists them in that order).
mkdir -p $C/sim
python3 - $C/sim "$("$BUILD/weft" sim --help | awk '/^orderings:/ { f = 1; next }
    /^allocators:/ { f = 0 } f && NF { print $1 }')" <<'PY'
import random, sys
names = sys.argv[2].split()
def seed(name, ordering, alloc, flags, k):
    rng = random.Random(k)
    body = bytes(rng.randrange(256) for _ in range(300))
    head = bytes([names.index(ordering), alloc, flags])
    open(sys.argv[1] + "/" + name, "wb").write(head + body)
seed("sebf-equal-ports", "sebf", 0, 1, 1)
seed("fifo-fair-tick", "fifo", 3, 2, 2)
seed("sincronia-fast-inbound", "sincronia", 0, 8, 3)
seed("aalo-eager", "aalo", 0, 4, 4)
seed("learned-greedy", "learned", 1, 0, 5)
seed("sebf-wide-equal-ports", "sebf", 0, 16 | 1, 6)
seed("jsebf-cp-wide", "jsebf-cp", 0, 16, 7)
PY

du -sh $C
