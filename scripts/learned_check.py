#!/usr/bin/env python3
"""learned_check.py - a second implementation of the learned policy's scores.

Written from the documents alone: README ("The learned policy"),
docs/learned-policy.md section 6 (`--scores`), docs/training.md (the priors), docs/design.md
section 6, the header block of coflow/learned.c and coflow/coflow.h's
definitions of the derived quantities, gnn/gnn.h and attention/attn.h (headers
only), and docs/learned-policy.md, which writes out what those left open
(the GRU's update, the global summary's second layer, LayerNorm's epsilon,
the tensor names of the model file). It shares no code with weft.

For a model file, a workload and the file `weft sim --policy learned
--scores` wrote for them (with `--out`'s per-coflow CSV), it recomputes
  (a) every normalised feature from its raw value and the model's
      feat.mean / feat.std, in float32 as the document says: exactly, so
      any difference at all is reported;
  (b) the raw features that follow from the workload alone (bytes, flows,
      senders, receivers, iso_s, wave, children, cp_below_s, the weight,
      a waiting coflow's remaining values, a done one's, the one-hot status,
      the job's age, the job features from the rows of its coflows) and the
      node set (every coflow of every live job, and no other);
  (c) the DAGNN embeddings, the summaries, the self-attention scores and
      the priors in double precision from the normalised features and the
      job DAGs, compared with net_score and score within a tolerance;
  (d) the order: the ranks against weft's own scores (descending, equal
      scores by longer remaining path, then earlier release, then index),
      and against the scores recomputed here wherever two of them are
      further apart than the tolerance.

Tolerance. weft runs the network in float32 (unit roundoff u = 2^-24,
6e-8). A score is a chain of about a dozen layers (2 DAGNN layers per
direction over up to a handful of waves, the summaries, the input
projection, 2 blocks of attention and feed-forward, 3 LayerNorms, the
head), each a sum of at most 128 products of values of order 1-10; the
rounding of each sum is bounded by about n u times the sum of the magnitudes
(Higham, Accuracy and Stability, 3.1), at most 128 x 6e-8 x 10 = 8e-5 in the
worst case and 1e-6 typically, and LayerNorm and the saturating gates do
not amplify it. So a score may differ from the double one by up to ATOL =
1e-4 absolute, plus RTOL = 1e-5 of its size for the priors (3 x log of a
key up to 710, rounded to a float: 3e-5 at most). The worst differences
seen are printed: about 1.6e-6 for net_score, and for score 2e-4 where
weights of 5e-324 put the prior at 3 x 710 (a float's half-ulp there is
1.2e-4).

Usage (from the repository root, with build/weft built):
    python3 scripts/learned_check.py                 # the generated cases
    python3 scripts/learned_check.py --seeds 1-5     # more of them
    python3 scripts/learned_check.py --check MODEL WORKLOAD SCORES COFLOWS_CSV [--rate R]
WEFT_BIN names another weft program. Needs python3-msgpack (Debian's).
Exit status 0 if everything agrees, 1 if not.
"""

import argparse
import csv
import math
from operator import mul
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from format_check import read_weft  # noqa: E402
from results_check import analyse  # noqa: E402
from weft_msgpack import msgpack  # noqa: E402

ATOL, RTOL = 1e-4, 1e-5
GBPS = 1e9 / 8
DBL_MAX = sys.float_info.max

# learned.c's header: index, name, and how the network gets it from the raw
# value: log1p ("log"), log1p quantised to 1/16 ("qlog"), the fraction sent
# quantised to 1/64 ("frac"), or as it is ("plain").
FEATURES = [("total_bytes", "log"), ("remaining_bytes", "qlog"), ("flows", "log"),
            ("senders", "log"), ("receivers", "log"), ("iso_s", "log"),
            ("remaining_iso_s", "qlog"), ("frac_sent", "frac"), ("is_waiting", "plain"),
            ("is_active", "plain"), ("is_done", "plain"), ("wave", "log"),
            ("children", "log"), ("cp_below_s", "log"), ("job_weight", "log"),
            ("job_age_s", "qlog"), ("since_release_s", "qlog"), ("job_work_s", "qlog"),
            ("job_work_per_w", "qlog"), ("job_cp_per_w", "qlog")]
NF = len(FEATURES)
F = {name: k for k, (name, _) in enumerate(FEATURES)}
COLUMNS = (["decision", "time_s", "job", "coflow", "status"] + [n for n, _ in FEATURES] +
           ["x_" + n for n, _ in FEATURES] + ["net_score", "score", "rank"])


def f32(x):
    """x rounded to the nearest float32 (as C's (float) conversion)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Failures:
    def __init__(self, most=20):
        self.n, self.most = 0, most

    def __call__(self, where, msg):
        self.n += 1
        if self.n <= self.most:
            print(f"learned_check: {where}: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------
# The model file (attention/attn.h, "Model file"; docs/learned-policy.md).

def floats(b):
    return list(struct.unpack(f"<{len(b) // 4}f", b))


def load_model(path):
    with open(path, "rb") as fh:
        u = msgpack.Unpacker(raw=False)
        u.feed(fh.read())
        objs = list(u)
    assert objs[0] == "weft-model" and objs[1] in (1, 2), path
    body = objs[2]
    m = {"cfg": dict(body["config"]), "t": {}}
    for t in body["tensors"]:
        shape, data = t["shape"], floats(t["data"])
        if len(shape) == 2:
            r, c = shape
            data = [data[i * c:(i + 1) * c] for i in range(r)]
        m["t"][t["name"]] = data
    vec = {k: floats(v) for k, v in body["vectors"].items()}
    m["mean"], m["std"] = vec["feat.mean"], vec["feat.std"]
    m["prior"] = vec.get("learned.prior", [0.0])[0]
    m["prior_path"] = vec.get("learned.prior_path", [0.0])[0]
    assert m["cfg"]["gnn.F"] == NF and m["cfg"]["learned.feature_set"] == 4
    return m


# --------------------------------------------------------------------------
# Small dense algebra in doubles.

def matvec(w, x, b=None):
    if b is None:
        return [sum(map(mul, row, x)) for row in w]
    return [sum(map(mul, row, x)) + bo for row, bo in zip(w, b)]


def dot(a, b):
    return sum(map(mul, a, b))


def sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def softmax(s):
    top = max(s)
    e = [math.exp(v - top) for v in s]
    t = sum(e)
    return [v / t for v in e]


def layernorm(x, g, b, eps=1e-5):
    """Biased variance, eps inside the square root (docs/learned-policy.md)."""
    mu = sum(x) / len(x)
    var = sum((v - mu) ** 2 for v in x) / len(x)
    r = 1 / math.sqrt(var + eps)
    return [(v - mu) * r * gi + bi for v, gi, bi in zip(x, g, b)]


def gelu(x):
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


# --------------------------------------------------------------------------
# The encoder (gnn/gnn.h) and the scorer (attention/attn.h).

def encode(m, x, preds, job_of):
    """x [N][F] normalised features, preds [dir][N] predecessor lists, job_of [N]:
    the encoder's output rows [N][E] = [x ; h_fwd^1..L ; h_bwd^1..L ; job ; global]."""
    cfg, t = m["cfg"], m["t"]
    n, L = len(x), cfg["gnn.L"]
    states = []  # per direction, per layer: [N][D]
    for d, name in enumerate(("fwd", "bwd")):
        order = topo(preds[d], n)
        prev = x
        for layer in range(1, L + 1):
            p = {k: t[f"gnn.{name}{layer}.{k}"] for k in ("att", "wi", "bi", "wh", "bh")}
            I = len(prev[0])
            a_self, a_pred = p["att"][:I], p["att"][I:]
            D = len(p["bh"]) // 3
            h = [None] * n
            for v in order:
                ps = preds[d][v]
                if ps:
                    s = [dot(a_self, prev[v]) + dot(a_pred, h[u]) for u in ps]
                    al = softmax(s)
                    msg = [sum(al[i] * h[u][j] for i, u in enumerate(ps)) for j in range(D)]
                else:
                    msg = [0.0] * D
                gi = matvec(p["wi"], prev[v], p["bi"])
                gh = matvec(p["wh"], msg, p["bh"])
                out = []
                for j in range(D):
                    r = sigmoid(gi[j] + gh[j])
                    z = sigmoid(gi[D + j] + gh[D + j])
                    nn = math.tanh(gi[2 * D + j] + r * gh[2 * D + j])
                    out.append((1 - z) * nn + z * msg[j])
                h[v] = out
            states.append(h)
            prev = h
    emb = [list(x[v]) + [e for h in states for e in h[v]] for v in range(n)]
    jobs = sorted(set(job_of))
    job_out = {}
    for j in jobs:
        s = [sum(col) for col in zip(*(emb[v] for v in range(n) if job_of[v] == j))]
        act = [math.tanh(v) for v in matvec(t["gnn.job.w1"], s, t["gnn.job.b1"])]
        job_out[j] = matvec(t["gnn.job.w2"], act, t["gnn.job.b2"])
    gsum = [sum(col) for col in zip(*job_out.values())]
    gact = [math.tanh(v) for v in matvec(t["gnn.glob.w1"], gsum, t["gnn.glob.b1"])]
    gout = matvec(t["gnn.glob.w2"], gact, t["gnn.glob.b2"])
    return [emb[v] + job_out[job_of[v]] + gout for v in range(n)]


def topo(preds, n):
    """Nodes so that each comes after its predecessors."""
    done, order = [False] * n, []

    def visit(v):
        stack = [(v, 0)]
        while stack:
            u, i = stack.pop()
            if done[u]:
                continue
            if i < len(preds[u]):
                stack.append((u, i + 1))
                if not done[preds[u][i]]:
                    stack.append((preds[u][i], 0))
            else:
                done[u] = True
                order.append(u)
    for v in range(n):
        visit(v)
    return order


def score(m, X):
    """attention/attn.h's network: one score per row of X."""
    cfg, t = m["cfg"], m["t"]
    M, H, B = cfg["attn.M"], cfg["attn.H"], cfg["attn.B"]
    pre, act = cfg["attn.pre_ln"] == 1, gelu if cfg["attn.gelu"] == 1 else (lambda v: max(v, 0.0))
    K = M // H
    xs = [matvec(t["attn.in.w"], row, t["attn.in.b"]) for row in X]
    n = len(xs)

    def blk(b, k):
        return t[f"attn.blk{b}.{k}"]

    def mha(b, u):
        qkv = [matvec(blk(b, "qkv_w"), row, blk(b, "qkv_b")) for row in u]
        y = [[0.0] * M for _ in range(n)]
        for h in range(H):
            q = [r[h * K:(h + 1) * K] for r in qkv]
            k = [r[M + h * K:M + (h + 1) * K] for r in qkv]
            v = [r[2 * M + h * K:2 * M + (h + 1) * K] for r in qkv]
            for i in range(n):
                a = softmax([dot(q[i], k[j]) / math.sqrt(K) for j in range(n)])
                for c in range(K):
                    y[i][h * K + c] = sum(a[j] * v[j][c] for j in range(n))
        return [matvec(blk(b, "proj_w"), r, blk(b, "proj_b")) for r in y]

    def ffn(b, u):
        return [matvec(blk(b, "fc2_w"), [act(v) for v in matvec(blk(b, "fc_w"), r, blk(b, "fc_b"))],
                       blk(b, "fc2_b")) for r in u]

    def add(a, c):
        return [[p + q for p, q in zip(ra, rc)] for ra, rc in zip(a, c)]

    def ln(b, which, u):
        return [layernorm(r, blk(b, which + "_g"), blk(b, which + "_b")) for r in u]
    for b in range(1, B + 1):
        if pre:
            r = add(xs, mha(b, ln(b, "ln1", xs)))
            xs = add(r, ffn(b, ln(b, "ln2", r)))
        else:
            r = ln(b, "ln1", add(xs, mha(b, xs)))
            xs = ln(b, "ln2", add(r, ffn(b, r)))
    if pre:
        xs = [layernorm(r, t["attn.lnf.g"], t["attn.lnf.b"]) for r in xs]
    return [dot(t["attn.head.w"][0], r) + t["attn.head.b"][0] for r in xs]


def weight_exp(weights):
    """The power of two the weights of a decision are read times: 0 while the live
    jobs' largest weight is within 2^-20..2^21, else the one that brings it to [4, 8)
    (docs/learned-policy.md, "Weights in other units")."""
    wmax = max(weights, default=0.0)
    if not wmax > 0:
        return 0
    e = math.frexp(wmax)[1] - 1  # C's ilogb, subnormals included
    return 2 - e if e < -20 or e > 20 else 0


def log_key(x):
    """A prior's log of a key clamped to [1e-9, DBL_MAX] (docs/learned-policy.md)."""
    return math.log(min(max(x, 1e-9), DBL_MAX)) if x == x else math.log(1e-9)


# --------------------------------------------------------------------------
# The features (coflow/learned.c's header; coflow/coflow.h's definitions).

def feature(kind, raw):
    if kind == "plain":
        return raw
    if kind == "frac":
        return math.floor(raw * 64 + 0.5) / 64
    v = math.log1p(min(raw, DBL_MAX) if raw > 0 else 0.0)
    return math.floor(v * 16 + 0.5) / 16 if kind == "qlog" else v


def static_features(ports, jobs, rate):
    """Per (job id, coflow id): what the workload alone fixes."""
    iso, _ = analyse(ports, jobs, rate, [])
    out, index = {}, 0
    for j in jobs:
        by_id = {c["id"]: c for c in j["coflows"]}
        children = {c["id"]: [] for c in j["coflows"]}
        for c in j["coflows"]:
            for p in c["parents"]:
                children[p].append(c["id"])
        wave, below = {}, {}

        def w(cid):
            if cid not in wave:
                wave[cid] = max((1 + w(p) for p in by_id[cid]["parents"]), default=0)
            return wave[cid]

        def cp(cid):  # coflow.h: iso + max over children (compute + cp_below), + final for a sink
            if cid not in below:
                ch = children[cid]
                below[cid] = iso[(j["id"], cid)] + (
                    max(by_id[k]["compute"] + cp(k) for k in ch) if ch else j["final"])
            return below[cid]
        for c in j["coflows"]:
            index += 1
            out[(j["id"], c["id"])] = {
                "total_bytes": sum(b for _, _, b in c["flows"]), "flows": len(c["flows"]),
                "senders": len({s for s, _, _ in c["flows"]}),
                "receivers": len({d for _, d, _ in c["flows"]}),
                "iso_s": iso[(j["id"], c["id"])], "wave": w(c["id"]),
                "children": len(children[c["id"]]), "cp_below_s": cp(c["id"]),
                "job_weight": j["weight"], "arrival": j["arrival"], "index": index,
                "parents": c["parents"]}
    return out


def close(a, b, atol, rtol):
    return a == b or abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def check(model_path, workload_path, scores_path, coflows_csv, rate, fail, worst, label):
    m = load_model(model_path)
    with open(workload_path) as fh:
        ports, jobs = read_weft(fh.read())
    stat = static_features(ports, jobs, rate)
    job_by_id = {j["id"]: j for j in jobs}
    cf = {}
    with open(coflows_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            cf[(int(r["job"]), int(r["coflow"]))] = (float(r["release_s"]), float(r["finish_s"]))
    with open(scores_path, newline="") as fh:
        rd = csv.reader(fh)
        head = next(rd)
        if head != COLUMNS:
            fail(label, f"columns {head}, expected {COLUMNS}")
            return
        decisions = {}
        for row in rd:
            decisions.setdefault(int(row[0]), []).append(row)
    n_dec = n_rows = n_scored = 0
    last, prev = 0, (0, set())
    for dec in sorted(decisions):
        rows = decisions[dec]
        n_dec += 1
        where = f"{label}: decision {dec}"
        if dec <= last:
            fail(where, "decision numbers do not go up")
        last = dec
        now = float(rows[0][1])
        nodes = []
        for r in rows:
            n_rows += 1
            node = {"job": int(r[2]), "coflow": int(r[3]), "status": r[4],
                    "raw": [float(v) for v in r[5:5 + NF]],
                    "x": [f32(float(v)) for v in r[5 + NF:5 + 2 * NF]],
                    "net": float(r[-3]) if r[-3] else None,
                    "score": float(r[-2]) if r[-2] else None,
                    "rank": int(r[-1]) if r[-1] else None}
            if float(r[1]) != now:
                fail(where, "rows of one decision at two times")
            nodes.append(node)
        # learned-policy.md 6: a model with learned.set_changes_only decides only when the
        # set of schedulable coflows changes, keeping its order in between
        active = {(nd["job"], nd["coflow"]) for nd in nodes if nd["status"] == "active"}
        if m["cfg"].get("learned.set_changes_only") == 1 and dec == prev[0] + 1 and \
                active == prev[1]:
            fail(where, "scored again with the same schedulable coflows as the decision before")
        prev = (dec, active)
        check_features(m, nodes, stat, cf, job_by_id, now, fail, where, worst)
        n_scored += check_scores(m, nodes, stat, cf, fail, where, worst)
    worst["decisions"] = worst.get("decisions", 0) + n_dec
    worst["rows"] = worst.get("rows", 0) + n_rows
    worst["scored"] = worst.get("scored", 0) + n_scored
    if n_dec == 0:
        fail(label, "no decision was scored")


def check_features(m, nodes, stat, cf, job_by_id, now, fail, where, worst):
    """(a) and (b)."""
    live = {}
    for nd in nodes:
        live.setdefault(nd["job"], []).append(nd)
    # the node set: every coflow of every live job once, in the job's index order
    for jid, nds in live.items():
        j = job_by_id[jid]
        if [nd["coflow"] for nd in nds] != [c["id"] for c in j["coflows"]]:
            fail(where, f"job {jid}: nodes {[nd['coflow'] for nd in nds]}")
        if j["arrival"] > now:
            fail(where, f"job {jid} is in the graph before its arrival {j['arrival']}")
        if all(nd["status"] == "done" for nd in nds):
            fail(where, f"job {jid}, every coflow done, is still in the graph")
    for j in job_by_id.values():
        if j["id"] not in live and j["arrival"] < now and any(
                cf[(j["id"], c["id"])][1] > now for c in j["coflows"]):
            fail(where, f"job {j['id']}, arrived and unfinished, is not in the graph")
    wexp = weight_exp([job_by_id[jid]["weight"] for jid in live])
    for jid, nds in live.items():
        j = job_by_id[jid]
        weight = max(math.ldexp(j["weight"], wexp), 5e-324)  # exact, or the least weight
        work = sum(nd["raw"][F["remaining_iso_s"]] for nd in nds if nd["status"] != "done")
        total_iso = sum(stat[(jid, c["id"])]["iso_s"] for c in j["coflows"])
        paths = [nd["raw"][F["remaining_iso_s"]] +
                 (nd["raw"][F["cp_below_s"]] - nd["raw"][F["iso_s"]])
                 for nd in nds if nd["status"] == "active"]
        cp = max(paths, default=0.0)
        for nd in nds:
            raw, s = nd["raw"], stat[(jid, nd["coflow"])]
            w = f"{where}: job {jid} coflow {nd['coflow']}"
            for name in ("total_bytes", "iso_s", "cp_below_s"):
                if not close(raw[F[name]], s[name], 0, 1e-12):
                    fail(w, f"{name} {raw[F[name]]!r}, the workload gives {s[name]!r}")
            for name in ("flows", "senders", "receivers", "wave", "children"):
                if raw[F[name]] != s[name]:
                    fail(w, f"{name} {raw[F[name]]!r}, the workload gives {s[name]!r}")
            if raw[F["job_weight"]] != weight:
                fail(w, f"job_weight {raw[F['job_weight']]!r}, the workload's {j['weight']!r} "
                     f"times 2^{wexp} is {weight!r}")
            st = nd["status"]
            hot = [raw[F["is_waiting"]], raw[F["is_active"]], raw[F["is_done"]]]
            if hot != [st == "waiting", st == "active", st == "done"]:
                fail(w, f"status {st}, one-hot {hot}")
            release, finish = cf[(jid, nd["coflow"])]
            want = {}
            if st == "waiting":
                want = {"remaining_bytes": s["total_bytes"], "remaining_iso_s": s["iso_s"],
                        "frac_sent": 0.0, "since_release_s": 0.0}
                if release < now:
                    fail(w, f"waiting, but released at {release!r} < {now!r}")
            elif st == "done":
                want = {"remaining_bytes": 0.0, "remaining_iso_s": 0.0, "frac_sent": 1.0,
                        "since_release_s": finish - release}
                if finish > now:
                    fail(w, f"done, but finishes at {finish!r} > {now!r}")
            else:
                want = {"since_release_s": now - release}
                if not (release <= now <= finish):
                    fail(w, f"active, but released {release!r} and finished {finish!r}")
                if not (0 <= raw[F["remaining_bytes"]] <= s["total_bytes"]):
                    fail(w, f"remaining_bytes {raw[F['remaining_bytes']]!r}")
                fs = 1 - raw[F["remaining_bytes"]] / s["total_bytes"]
                if not close(raw[F["frac_sent"]], min(max(fs, 0.0), 1.0), 0, 1e-12):
                    fail(w, f"frac_sent {raw[F['frac_sent']]!r}, expected {fs!r}")
            want["job_age_s"] = now - j["arrival"]
            want["job_work_per_w"] = raw[F["job_work_s"]] / weight
            want["job_cp_per_w"] = cp / weight
            for name, v in want.items():
                if raw[F[name]] != v and not close(raw[F[name]], v, 0, 1e-12):
                    fail(w, f"{name} {raw[F[name]]!r}, expected {v!r}")
            # the job's work: a kept sum in weft (docs/performance.md, Long jobs),
            # so within the rounding of the job's whole isolation time
            d = abs(raw[F["job_work_s"]] - work)
            worst["job_work"] = max(worst.get("job_work", 0.0), d / max(total_iso, 1e-300))
            if d > 1e-12 * total_iso:
                fail(w, f"job_work_s {raw[F['job_work_s']]!r}, its rows sum to {work!r}")
            # (a) the normalised feature, in float32 as learned.c computes it
            for k, (name, kind) in enumerate(FEATURES):
                x = f32(f32(f32(feature(kind, raw[k])) - m["mean"][k]) / m["std"][k])
                if nd["x"][k] != x:
                    fail(w, f"x_{name} {nd['x'][k]!r}, (f({raw[k]!r}) - mean) / std is {x!r}")
                    worst["x_mismatch"] = worst.get("x_mismatch", 0) + 1


def check_scores(m, nodes, stat, cf, fail, where, worst):
    """(c) and (d): returns the rows scored."""
    n = len(nodes)
    index = {(nd["job"], nd["coflow"]): v for v, nd in enumerate(nodes)}
    preds = [[[] for _ in range(n)], [[] for _ in range(n)]]
    for v, nd in enumerate(nodes):
        for p in stat[(nd["job"], nd["coflow"])]["parents"]:
            u = index[(nd["job"], p)]
            preds[0][v].append(u)
            preds[1][u].append(v)
    out = encode(m, [nd["x"] for nd in nodes], preds, [nd["job"] for nd in nodes])
    act = [v for v, nd in enumerate(nodes) if nd["status"] == "active"]
    for v, nd in enumerate(nodes):
        if (nd["status"] == "active") != (nd["rank"] is not None) or \
                (nd["rank"] is None) != (nd["score"] is None):
            fail(where, f"coflow {nd['coflow']} of job {nd['job']}: status {nd['status']}, "
                 f"rank {nd['rank']}, score {nd['score']}")
    if len(act) < 2:  # one schedulable coflow is never scored
        fail(where, f"{len(act)} schedulable coflows scored")
        if not act:
            return 0
    net = score(m, [out[v] for v in act])
    mine = []
    for i, v in enumerate(act):
        nd = nodes[v]
        raw = nd["raw"]
        path = raw[F["remaining_iso_s"]] + (raw[F["cp_below_s"]] - raw[F["iso_s"]])
        s = net[i]
        if m["prior"] > 0:
            s += -m["prior"] * log_key(raw[F["job_work_per_w"]]) + \
                m["prior_path"] * log_key(path)
        mine.append(s)
        w = f"{where}: job {nd['job']} coflow {nd['coflow']}"
        for what, got, want, rtol in (("net_score", nd["net"], net[i], 0.0),
                                      ("score", nd["score"], s, RTOL)):
            d = abs(got - want)
            worst[what] = max(worst.get(what, 0.0), d)
            if not d <= ATOL + rtol * abs(want):
                fail(w, f"{what} {got!r}, recomputed {want!r} (difference {d:.3g})")
    # (d) the order: ranks a permutation, weft's scores descending with its
    # tie rule, and the recomputed scores' order where they are far apart
    ranks = sorted(nodes[v]["rank"] for v in act)
    if ranks != list(range(1, len(act) + 1)):
        fail(where, f"ranks {ranks}")
        return len(act)

    def key(v):
        nd = nodes[v]
        raw = nd["raw"]
        path = raw[F["remaining_iso_s"]] + (raw[F["cp_below_s"]] - raw[F["iso_s"]])
        st = stat[(nd["job"], nd["coflow"])]
        return (-f32(nd["score"]), -path, cf[(nd["job"], nd["coflow"])][0], st["index"])
    by_weft = sorted(act, key=key)
    if [nodes[v]["rank"] for v in by_weft] != list(range(1, len(act) + 1)):
        fail(where, "ranks are not by descending score, then path, release and index: " +
             ", ".join(f"{nodes[v]['job']}/{nodes[v]['coflow']}" for v in by_weft))
    for a in range(len(act)):
        for b in range(len(act)):
            gap = mine[a] - mine[b]
            tol = 2 * (ATOL + RTOL * max(abs(mine[a]), abs(mine[b])))
            if gap > tol and nodes[act[a]]["rank"] > nodes[act[b]]["rank"]:
                fail(where, f"coflow {nodes[act[a]]['job']}/{nodes[act[a]]['coflow']} "
                     f"scores {gap:.3g} above {nodes[act[b]]['job']}/"
                     f"{nodes[act[b]]['coflow']} but ranks below it")
    return len(act)


# --------------------------------------------------------------------------
# The generated cases.

def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"learned_check: {' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r


def case(weft, tmp, shape, seed, jobs, ports, model, fail, worst, extreme=False, tick=None):
    wl = os.path.join(tmp, f"{shape}-{seed}.weft")
    # the bundled workflows of a few stages (the others have 60-80 coflows a
    # job: minutes of pure-Python DAGNN here)
    small = [] if shape != "wfcommons" else ["--shapes"] + [
        f"data/wfcommons/{w}-001.json" for w in ("srasearch-chameleon-10a", "blast-chameleon-small",
                                                  "1000genome-chameleon-2ch-100k")]
    run([weft, "gen", "--shape", shape, "--jobs", str(jobs), "--ports", str(ports),
         "--seed", str(seed), "--load", "0.9", "-o", wl] + small)
    label = f"{shape} seed {seed} {os.path.basename(model)}"
    if extreme:
        extreme_weights(wl, wl)
        label += " (extreme weights)"
    out = os.path.join(tmp, "out")
    sc = os.path.join(tmp, "scores.csv")
    run([weft, "sim", wl, "--policy", "learned", "--model", model, "--out", out,
         "--scores", sc] + (["--tick", str(tick)] if tick else []))
    if tick:
        label += f" --tick {tick}"
    check(model, wl, sc, os.path.join(out, "learned-coflows.csv"), GBPS, fail, worst, label)


def make_model(path, base, rng, D, L, S, M, H, B, pre_ln, gelu):
    """A model file of other sizes and random weights (biases and gains too),
    as attention/attn.h's format says: weft's own --save-model writes only
    the default sizes, pre-LN and GELU, while its loader takes any."""
    import hashlib
    E = NF + 2 * L * D + 2 * S
    cfg = {"learned.feature_set": 4, "gnn.F": NF, "gnn.D": D, "gnn.L": L, "gnn.S": S,
           "attn.E": E, "attn.M": M, "attn.H": H, "attn.B": B, "attn.pre_ln": pre_ln,
           "attn.gelu": gelu}
    shapes = []
    for d in ("fwd", "bwd"):
        for layer in range(1, L + 1):
            In = NF if layer == 1 else D
            shapes += [(f"gnn.{d}{layer}.att", [In + D]), (f"gnn.{d}{layer}.wi", [3 * D, In]),
                       (f"gnn.{d}{layer}.bi", [3 * D]), (f"gnn.{d}{layer}.wh", [3 * D, D]),
                       (f"gnn.{d}{layer}.bh", [3 * D])]
    for g, first in (("job", NF + 2 * L * D), ("glob", S)):
        shapes += [(f"gnn.{g}.w1", [S, first]), (f"gnn.{g}.b1", [S]), (f"gnn.{g}.w2", [S, S]),
                   (f"gnn.{g}.b2", [S])]
    shapes += [("attn.in.w", [M, E]), ("attn.in.b", [M])]
    for b in range(1, B + 1):
        for k, sh in (("ln1_g", [M]), ("ln1_b", [M]), ("qkv_w", [3 * M, M]), ("qkv_b", [3 * M]),
                      ("proj_w", [M, M]), ("proj_b", [M]), ("ln2_g", [M]), ("ln2_b", [M]),
                      ("fc_w", [4 * M, M]), ("fc_b", [4 * M]), ("fc2_w", [M, 4 * M]),
                      ("fc2_b", [M])):
            shapes.append((f"attn.blk{b}.{k}", sh))
    if pre_ln:
        shapes += [("attn.lnf.g", [M]), ("attn.lnf.b", [M])]
    shapes += [("attn.head.w", [1, M]), ("attn.head.b", [1])]
    tensors = []
    for name, sh in shapes:
        n = sh[0] * (sh[1] if len(sh) == 2 else 1)
        bound = math.sqrt(6 / (sh[0] + sh[1])) if len(sh) == 2 else 0.3
        centre = 1.0 if name.endswith("_g") or name.endswith(".g") else 0.0
        data = [f32(centre + rng.uniform(-bound, bound)) for _ in range(n)]
        tensors.append({"name": name, "shape": sh, "data": struct.pack(f"<{n}f", *data)})
    vecs = {"feat.mean": struct.pack(f"<{NF}f", *base["mean"]),
            "feat.std": struct.pack(f"<{NF}f", *base["std"]),
            "learned.prior": struct.pack("<f", 0.0), "learned.prior_path": struct.pack("<f", 0.0)}
    body = (msgpack.packb("weft-model") + msgpack.packb(2) + b"\x84" +
            msgpack.packb("config") + msgpack.packb(cfg) + msgpack.packb("vectors") +
            msgpack.packb(vecs, use_bin_type=True) + msgpack.packb("tensors") +
            msgpack.packb(tensors, use_bin_type=True))
    digest = hashlib.sha256(body).digest()
    with open(path, "wb") as fh:
        fh.write(body + msgpack.packb("sha256") + msgpack.packb(digest, use_bin_type=True))


def extreme_weights(src, dst):
    """src with its first jobs' weights at the ends of what the format takes
    (docs/changes.md: a weight of 1e-320 once made every score NaN)."""
    with open(src) as fh:
        lines = fh.read().split("\n")
    weights = iter(["5e-324", "1e-320", "1e15", "1e-9"])
    for i, line in enumerate(lines):
        f = line.split()
        if f and f[0] == "job":
            f[3] = next(weights, f[3])
            lines[i] = " ".join(f)
    with open(dst, "w") as fh:
        fh.write("\n".join(lines))


def parse_seeds(s):
    a, _, b = s.partition("-")
    return range(int(a), int(b or a) + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1-2", help="workload seeds of each shape (1-2)")
    ap.add_argument("--jobs", type=int, default=5)
    ap.add_argument("--ports", type=int, default=8)
    ap.add_argument("--check", nargs=4, metavar=("MODEL", "WORKLOAD", "SCORES", "COFLOWS_CSV"))
    ap.add_argument("--rate", type=float, default=GBPS, help="port rate, bytes/s (--check)")
    args = ap.parse_args()
    fail, worst = Failures(), {}
    if args.check:
        check(*args.check, args.rate, fail, worst, "--check")
    else:
        weft = os.environ.get("WEFT_BIN", "build/weft")
        with tempfile.TemporaryDirectory(prefix="learned-check-") as tmp:
            models = ["models/weft-policy.msgpack"]
            for s in (1, 7):
                models.append(os.path.join(tmp, f"random{s}.msgpack"))
                run([weft, "sim", "--save-model", models[-1], "--seed", str(s)])
            rng = random.Random(5)
            base = load_model(models[0])
            models.append(os.path.join(tmp, "post-ln-relu.msgpack"))
            make_model(models[-1], base, rng, 6, 3, 5, 12, 3, 1, 0, 0)
            models.append(os.path.join(tmp, "pre-ln-relu.msgpack"))
            make_model(models[-1], base, rng, 4, 1, 3, 8, 2, 3, 1, 0)
            for seed in parse_seeds(args.seeds):
                for i, shape in enumerate(("random", "alibaba", "wfcommons")):
                    model = models[(3 * seed + i) % len(models)]
                    case(weft, tmp, shape, seed, args.jobs, args.ports, model, fail, worst)
                # the time-varying features between events (incremental passes)
                # and weights at the ends of the doubles, under the teacher prior
                case(weft, tmp, "random", seed, 3, args.ports, models[1 + seed % 2],
                     fail, worst, tick=0.5)
                case(weft, tmp, "alibaba", seed, args.jobs, args.ports, models[0], fail, worst,
                     extreme=True)
    print("learned_check: {} decisions, {} rows, {} scored; worst |net_score| difference "
          "{:.3g}, |score| {:.3g}, job work (of the job's iso) {:.3g}; {} normalised "
          "features off".format(worst.get("decisions", 0), worst.get("rows", 0),
                                worst.get("scored", 0), worst.get("net_score", 0.0),
                                worst.get("score", 0.0), worst.get("job_work", 0.0),
                                worst.get("x_mismatch", 0)))
    if fail.n:
        print(f"learned_check: {fail.n} disagreements", file=sys.stderr)
        return 1
    print("learned_check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
