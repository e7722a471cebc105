#!/usr/bin/env python3
"""results_check.py - a second reader of what `weft sim` reports, from the documents alone.

Written from README.md ("What it is", "Compare policies on the emulator"),
docs/usage.md (--out, --flows, --check, the clock guard, the columns `weft
sim --help` defines), the reference design's sections 2-4 (docs/design.md: the
fabric, flows, coflows, jobs, the lower bound) and docs/workload-format.md,
without reading netsim/, cli/ or tests/, as scripts/refsim.py is written from
the emulator's definitions and scripts/format_check.py from the format
document: where this script and weft disagree, one of the two is wrong.

For each workload (two a seed: a small random one of its own, DAGs in any
order, real weights, self-flows, and one of `weft gen --seed N`; with --data
the bundled WfCommons workflows) it runs the real
`weft sim W --policy P ... --out DIR --flows` under several orderings and
allocators, ticks, port rates, --port-caps and weights, then recomputes every
number of every file from the workload and the CSVs:

  - each flow: its coflow's release, finish, completion = finish - release,
    its ports and bytes; a coflow finishes with its last flow;
  - each coflow: release (its job's arrival plus its compute time for a
    root, its parents' last finish plus its compute time otherwise), CCT =
    finish - release, its isolation time from its flows and the ports'
    rates, CCT >= iso (short by no more than a flow's finish tolerance);
  - each job: arrival, weight, finish (its last coflow's plus the final
    compute), JCT, the lower bound (heaviest DAG path of compute and
    isolation times, plus the final compute), JCT >= bound;
  - the summary JSON: what made it (workload, rate, caps, tick, model,
    checked), the counts, the averages and nearest-rank percentiles of CCT
    and JCT, the average weighted JCT, the weighted bound and the slowdown,
    the makespan and the ports' utilization;
  - the printed table against the JSONs, to its printed precision;
  - with --bins (docs/usage.md, "Coflow bins", at times with --bin-length
    and --bin-width): each summary's "bins", the coflows whose longest flow
    is under the length (short) or not, with at most the width's flows
    (narrow) or more, their count, bytes and average CCT (null when none),
    and the printed bins table: thresholds, counts, averages and each ratio
    to the first policy's, "-" for an empty bin; no "bins" without it.

Fixed cases come with them: weights down to the least double (5e-324) and up
to 1e15, standard input, --policy all with and without --alloc and
--lp-bound, a Facebook trace under --varys, the clock guard's threshold
(docs/usage.md: a flow too short for the clock where it starts is refused), a
rerun giving the same files to the bit, and --plot's data under each
--plot-metric (jct, cct, slowdown) against the CSVs.

Tolerances. Numbers weft copies or gets by one subtraction (CCT, JCT, a
flow's completion) must be equal to the bit; releases and job finishes are
one addition of the clock's times, which docs/usage.md's --check holds to 4 units
in the last place, and so does this script. Sums (averages, isolation
times, bounds, utilization) may add the same doubles in another order: n
positive doubles summed in any order are within (n - 1) * 2^-53 of the
exact sum relatively, so two orders within twice that; the script allows
(n + 4) * 2^-52 relatively (1e-12 at 4,500 terms), and the slowdown is held
to the ratio of the definition computed exactly (fractions).

    python3 scripts/results_check.py [--seeds 1-40] [--weft PATH] [-j 2] [--data] [--keep-going]

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds; on a
mismatch it prints the workload, the policy, the field and both values, and
exits 1 (2 if it cannot run at all).
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import random
import re
from fractions import Fraction
import shutil
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from format_check import read_weft, write_weft, job, coflow, rand_dag  # noqa: E402

U = 2.0 ** -52
GBPS = 1e9 / 8

# Each ordering's own allocator (docs/usage.md, "Policies"; `weft sim --help`).
OWN_ALLOC = {"fifo": "greedy", "scf": "madd", "ncf": "madd", "lcf": "madd", "sebf": "madd",
             "aalo": "greedy", "sincronia": "greedy", "wcp": "madd", "jsebf": "madd",
             "jsebf-cp": "madd", "fair": "fair", "srf": "srf", "learned": "madd"}
ALLOCS = ["greedy", "madd", "fair", "srf"]


# --------------------------------------------------------------------------
# Rates as `--port-rate` reads them (`weft sim --help`).

RATE_UNITS = {"bps": 1 / 8, "Kbps": 1e3 / 8, "Mbps": 1e6 / 8, "Gbps": 1e9 / 8,
              "Tbps": 1e12 / 8, "Kibps": 1024 / 8, "Mibps": 1024 ** 2 / 8,
              "Gibps": 1024 ** 3 / 8, "B/s": 1, "KB/s": 1e3, "MB/s": 1e6, "GB/s": 1e9,
              "TB/s": 1e12, "KiB/s": 1024, "MiB/s": 1024 ** 2, "GiB/s": 1024 ** 3}


# Sizes as `--bin-length` reads them: B with the same prefixes, the decimal
# ones in powers of 1024 under --varys (the trace's MB).
def size_of(text, varys=False):
    m = re.fullmatch(r"([0-9.eE+-]+) ?(|[KMGT]i?B)", text)
    num, unit = float(m.group(1)), m.group(2)
    if not unit:
        return num
    base = 1024 if "i" in unit or varys else 1000
    return num * base ** ("KMGT".index(unit[0]) + 1)


def rate_of(text):
    m = re.fullmatch(r"([0-9.eE+-]+)([A-Za-z/]*)", text)
    num, unit = float(m.group(1)), m.group(2)
    return num if unit == "" else num * RATE_UNITS[unit]


# --------------------------------------------------------------------------
# The definitions (docs/design.md sections 2-3: iso and the lower bound; docs/usage.md:
# percentiles).

def ulp(x):
    return math.ulp(x)


def close(a, b, rel):
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def nearest_rank(values, p):
    """docs/usage.md: percentiles are nearest-rank (p99 of fewer than 100 is the largest)."""
    s = sorted(values)
    return s[max(1, (p * len(s) + 99) // 100) - 1]


def analyse(ports, jobs, rate, caps):
    """Isolation times and lower bounds: {(job, coflow): iso}, {job: (bound, path length)}."""
    cap = [rate] * ports
    for p, r in caps:
        cap[p] = r
    iso, bound = {}, {}
    for j in jobs:
        by_id = {c["id"]: c for c in j["coflows"]}
        for c in j["coflows"]:
            out, inn = {}, {}
            for s, d, b in c["flows"]:
                out[s] = out.get(s, 0.0) + b
                inn[d] = inn.get(d, 0.0) + b
            iso[(j["id"], c["id"])] = max([v / cap[p] for p, v in out.items()] +
                                          [v / cap[p] for p, v in inn.items()])
        path = {}

        def longest(cid):
            """Heaviest path of compute + iso ending with cid: (seconds, coflows on it)."""
            if cid not in path:
                c = by_id[cid]
                up = max([longest(p) for p in c["parents"]], default=(0.0, 0))
                path[cid] = (up[0] + c["compute"] + iso[(j["id"], cid)], up[1] + 1)
            return path[cid]
        top = max(longest(c["id"]) for c in j["coflows"])
        bound[j["id"]] = (top[0] + j["final"], top[1])
    return iso, bound


# --------------------------------------------------------------------------
# Running weft sim and reading what it wrote.

def file_stem(spec, alloc_opt):
    """docs/usage.md: files named by policy; <ordering>-<allocator> for ORDERING:ALLOCATOR or an
    --alloc that is not the ordering's own."""
    if ":" in spec:
        o, a = spec.split(":")
        return f"{o}-{a}", o, a
    o = spec
    a = alloc_opt or OWN_ALLOC[o]
    return (o if a == OWN_ALLOC[o] else f"{o}-{a}"), o, a


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


BINS = ["SN", "LN", "SW", "LW"]


def bin_of(c, length, width):
    """A coflow's bin: short if its longest flow is under length, narrow if it has at
    most width flows."""
    longest = max((b for _, _, b in c["flows"]), default=0.0)
    return ("S" if longest < length else "L") + ("N" if len(c["flows"]) <= width else "W")


def check_bins(ctx, summ, cf, bad, eq, near):
    """The summary's "bins" against the workload and the coflows CSV; none without --bins."""
    if not ctx.get("bins"):
        if "bins" in summ:
            bad("bins", summ["bins"], "absent without --bins")
        return
    length, width = ctx["bins"]
    eq("summary keys, last two", list(summ)[-2:], ["wall_s", "bins"])
    b = summ.get("bins", {})
    eq("bins.length_bytes", b.get("length_bytes"), length)
    eq("bins.width_flows", b.get("width_flows"), width)
    got = {n: ([], []) for n in BINS}
    for j in ctx["jobs"]:
        for c in j["coflows"]:
            n = bin_of(c, length, width)
            got[n][0].append(cf[(j["id"], c["id"])]["cct_s"])
            got[n][1].extend(x for _, _, x in c["flows"])
    for n in BINS:
        ccts, sizes = got[n]
        d = b.get(n, {})
        eq(f"bins.{n}.count", d.get("count"), len(ccts))
        near(f"bins.{n}.bytes", d.get("bytes"), math.fsum(sizes), (len(sizes) + 4) * U)
        if not ccts:
            eq(f"bins.{n}.avg_cct_s", d.get("avg_cct_s"), None)
        elif not isinstance(d.get("avg_cct_s"), (int, float)):
            bad(f"bins.{n}.avg_cct_s", d.get("avg_cct_s"), "a number")
        else:
            near(f"bins.{n}.avg_cct_s", d["avg_cct_s"], math.fsum(ccts) / len(ccts),
                 (len(ccts) + 4) * U)


def check_policy(ctx, stem, order, alloc, out):
    """Every number of one policy's four files against this script's own."""
    W, ports, jobs, iso, bound = ctx["name"], ctx["ports"], ctx["jobs"], ctx["iso"], ctx["bound"]
    errs = []

    def bad(field, weft_v, mine):
        errs.append(f"{W} [{stem}] {field}: weft {weft_v!r}, expected {mine!r}")

    def eq(field, weft_v, mine):
        if weft_v != mine:
            bad(field, weft_v, mine)

    def near(field, weft_v, mine, rel):
        if not close(weft_v, mine, rel):
            bad(field, weft_v, mine)

    jobs_by_id = {j["id"]: j for j in jobs}
    flows = read_csv(os.path.join(out, f"{stem}-flows.csv")) if ctx["flows"] else None
    cfs = read_csv(os.path.join(out, f"{stem}-coflows.csv"))
    jrows = read_csv(os.path.join(out, f"{stem}-jobs.csv"))
    with open(os.path.join(out, f"{stem}-summary.json")) as f:
        summ = json.load(f)

    # Coflows.
    eq("coflows.csv columns", list(cfs[0].keys()),
       ["job", "coflow", "release_s", "finish_s", "cct_s", "iso_s"])
    cf = {}
    for r in cfs:
        key = (int(r["job"]), int(r["coflow"]))
        if key in cf or key not in iso:
            bad("coflows.csv row", key, "each coflow of the workload once")
            continue
        cf[key] = {k: float(r[k]) for k in ("release_s", "finish_s", "cct_s", "iso_s")}
    eq("coflows.csv rows", len(cf), len(iso))
    # Flows.
    if flows is not None:
        eq("flows.csv columns", list(flows[0].keys()),
           ["job", "coflow", "flow", "src", "dst", "bytes", "release_s", "finish_s", "fct_s"])
        last = {}
        seen = set()
        for r in flows:
            key = (int(r["job"]), int(r["coflow"]))
            fi = int(r["flow"])
            if key not in cf or (key, fi) in seen:
                bad("flows.csv row", (key, fi), "each flow of the workload once")
                continue
            seen.add((key, fi))
            c = next(c for c in jobs_by_id[key[0]]["coflows"] if c["id"] == key[1])
            if fi >= len(c["flows"]):
                bad(f"flow {key}/{fi}", fi, f"< {len(c['flows'])}")
                continue
            s, d, b = c["flows"][fi]
            rel, fin, fct = float(r["release_s"]), float(r["finish_s"]), float(r["fct_s"])
            eq(f"flow {key}/{fi} src,dst,bytes", (int(r["src"]), int(r["dst"]), float(r["bytes"])),
               (s, d, b))
            eq(f"flow {key}/{fi} release_s", rel, cf[key]["release_s"])
            eq(f"flow {key}/{fi} fct_s", fct, fin - rel)
            if fin > cf[key]["finish_s"]:
                bad(f"flow {key}/{fi} finish_s", fin, f"<= its coflow's {cf[key]['finish_s']}")
            last[key] = max(last.get(key, -math.inf), fin)
        eq("flows.csv rows", len(seen), sum(len(c["flows"]) for j in jobs for c in j["coflows"]))
        for key, f in last.items():
            eq(f"coflow {key} finish_s (its last flow's)", cf[key]["finish_s"], f)
        errs += port_windows(ctx, stem, flows)
    # Coflow releases, CCT, iso.
    jfin = {}
    for j in jobs:
        for c in j["coflows"]:
            key = (j["id"], c["id"])
            if key not in cf:
                continue
            r = cf[key]
            ready = max((cf[(j["id"], p)]["finish_s"] for p in c["parents"]),
                        default=j["arrival"])
            want = ready + c["compute"]
            if abs(r["release_s"] - want) > 4 * ulp(want):
                bad(f"coflow {key} release_s", r["release_s"], want)
            eq(f"coflow {key} cct_s", r["cct_s"], r["finish_s"] - r["release_s"])
            near(f"coflow {key} iso_s", r["iso_s"], iso[key], (len(c["flows"]) + 4) * U)
            tol = 1e-9 * iso[key] + 16 * ulp(r["finish_s"])
            if r["cct_s"] < iso[key] - tol:
                bad(f"coflow {key} cct_s >= iso", r["cct_s"], f">= {iso[key]!r} - {tol:.3g}")
            jfin[j["id"]] = max(jfin.get(j["id"], -math.inf), r["finish_s"])
    # Jobs.
    eq("jobs.csv columns", list(jrows[0].keys()),
       ["job", "arrival_s", "finish_s", "jct_s", "weight", "lower_bound_s"])
    jr = {}
    for r in jrows:
        jid = int(r["job"])
        if jid in jr or jid not in jobs_by_id:
            bad("jobs.csv row", jid, "each job of the workload once")
            continue
        jr[jid] = {k: float(r[k]) for k in ("arrival_s", "finish_s", "jct_s", "weight",
                                            "lower_bound_s")}
    eq("jobs.csv rows", len(jr), len(jobs))
    for j in jobs:
        if j["id"] not in jr:
            continue
        r = jr[j["id"]]
        eq(f"job {j['id']} arrival_s", r["arrival_s"], j["arrival"])
        eq(f"job {j['id']} weight", r["weight"], j["weight"])
        want = jfin[j["id"]] + j["final"]
        if abs(r["finish_s"] - want) > 4 * ulp(want):
            bad(f"job {j['id']} finish_s", r["finish_s"], want)
        eq(f"job {j['id']} jct_s", r["jct_s"], r["finish_s"] - r["arrival_s"])
        b, n = bound[j["id"]]
        near(f"job {j['id']} lower_bound_s", r["lower_bound_s"], b, (4 * n + 8) * U)
        tol = 1e-9 * b + 16 * n * ulp(r["finish_s"])
        if r["jct_s"] < b - tol:
            bad(f"job {j['id']} jct_s >= bound", r["jct_s"], f">= {b!r} - {tol:.3g}")
    if errs:
        return errs, summ
    # The summary.
    ccts = [r["cct_s"] for r in cf.values()]
    jcts = [r["jct_s"] for r in jr.values()]
    nj, nc = len(jcts), len(ccts)
    nf = sum(len(c["flows"]) for j in jobs for c in j["coflows"])
    total = math.fsum(b for j in jobs for c in j["coflows"] for _, _, b in c["flows"])
    eq("policy", summ.get("policy"), order)
    eq("allocator", summ.get("allocator"), alloc)
    eq("workload", summ.get("workload"), ctx["workload_arg"])
    eq("n_ports", summ.get("n_ports"), ports)
    eq("port_rate_bytes_per_s", summ.get("port_rate_bytes_per_s"), ctx["rate"])
    eq("port_caps", summ.get("port_caps"),
       [[p, r] for p, r in sorted(ctx["caps"]) if r != ctx["rate"]])
    eq("tick_s", summ.get("tick_s"), ctx["tick"])
    eq("checked", summ.get("checked"), ctx["check"])
    eq("n_violations", summ.get("n_violations"), 0 if ctx["check"] else None)
    eq("first_violation", summ.get("first_violation"), "")
    if order == "learned":
        if ctx["seed"] is not None:
            eq("model_seed", summ.get("model_seed"), ctx["seed"])
            eq("model (with --seed)", summ.get("model"), None)
        else:
            m = summ.get("model")
            if not (isinstance(m, str) and m.endswith("weft-policy.msgpack") and os.path.isfile(m)):
                bad("model", m, "the shipped model file that ran")
    elif "model" in summ or "model_seed" in summ:
        bad("model", summ.get("model", summ.get("model_seed")), "absent for a non-learned policy")
    eq("n_jobs", summ.get("n_jobs"), nj)
    eq("n_coflows", summ.get("n_coflows"), nc)
    eq("n_flows", summ.get("n_flows"), nf)
    near("total_bytes", summ.get("total_bytes"), total, (nf + 4) * U)
    for name, vals in (("cct_s", ccts), ("jct_s", jcts)):
        d = summ.get(name, {})
        near(f"{name}.avg", d.get("avg"), math.fsum(vals) / len(vals), (len(vals) + 4) * U)
        for p in (50, 95, 99):
            eq(f"{name}.p{p}", d.get(f"p{p}"), nearest_rank(vals, p))
        eq(f"{name}.max", d.get("max"), max(vals))
    wj = math.fsum(j["weight"] * jr[j["id"]]["jct_s"] for j in jobs) / nj
    wb = math.fsum(j["weight"] * bound[j["id"]][0] for j in jobs) / nj
    rel = (nj + 4 * max(n for _, n in bound.values()) + 8) * U
    near("avg_weighted_jct_s", summ.get("avg_weighted_jct_s"), wj, (nj + 4) * U)
    near("weighted_bound_s", summ.get("weighted_bound_s"), wb, rel)
    # the ratio of the definition, exact: any weights the format allows (down to the
    # least double) have one, where w * JCT may round to 0
    ratio = float(sum(Fraction(j["weight"]) * Fraction(jr[j["id"]]["jct_s"]) for j in jobs) /
                  sum(Fraction(j["weight"]) * Fraction(bound[j["id"]][0]) for j in jobs))
    near("slowdown_vs_bound", summ.get("slowdown_vs_bound"), ratio, 2 * rel)
    # what --check lets a JCT fall short of its bound by (docs/usage.md), weighted
    slack = math.fsum(j["weight"] * (1e-9 * bound[j["id"]][0] + 16 * bound[j["id"]][1] *
                                     ulp(jr[j["id"]]["finish_s"])) for j in jobs) / nj
    lp = summ.get("lp_bound_s")
    if not ctx["lp"]:
        eq("lp_bound_s", lp, None)
        eq("slowdown_vs_lp_bound", summ.get("slowdown_vs_lp_bound"), None)
    elif not isinstance(lp, (int, float)) or not 0 < lp <= wj * (1 + 1e-9) + slack:
        bad("lp_bound_s", lp, f"in (0, avg weighted JCT {wj!r} + {slack:.3g}]: "
            "no schedule beats it but for the clock's rounding")
    else:
        near("slowdown_vs_lp_bound", summ.get("slowdown_vs_lp_bound"), wj / lp, (nj + 8) * U)
    makespan = max(r["finish_s"] for r in jr.values()) - min(j["arrival"] for j in jobs)
    near("makespan_s", summ.get("makespan_s"), makespan, 4 * U)
    capsum = math.fsum(ctx["cap"])
    near("port_utilization", summ.get("port_utilization"), total / (makespan * capsum),
         (nf + ports + 8) * U)
    for k in ("n_decisions", "n_events", "max_active_flows", "n_rated_total", "n_paced_total"):
        if not isinstance(summ.get(k), int) or summ[k] < 0:
            bad(k, summ.get(k), "a count >= 0")
    if not 1 <= summ.get("max_active_flows", 0) <= nf:
        bad("max_active_flows", summ.get("max_active_flows"), f"1..{nf}")
    if not isinstance(summ.get("wall_s"), (int, float)) or summ["wall_s"] < 0:
        bad("wall_s", summ.get("wall_s"), "seconds >= 0")
    check_bins(ctx, summ, cf, bad, eq, near)
    return errs, summ


def port_windows(ctx, stem, flows, most=3000):
    """DESIGN 2: no port sends or receives above its rate. A flow's bytes cross its ports
    between its coflow's release and its finish, so the flows of one port side that lie
    inside a window [t0, T] add up to at most rate * (T - t0), less what each may finish
    short by (docs/usage.md: a billionth of its bytes, or 8 units in the last place of the clock
    at its rate). Checked for every window from a release to a finish, on port sides of
    at most `most` flows (quadratic)."""
    errs = []
    sides = {}
    for r in flows:
        f = (float(r["release_s"]), float(r["finish_s"]), float(r["bytes"]))
        sides.setdefault(("send", int(r["src"])), []).append(f)
        sides.setdefault(("receive", int(r["dst"])), []).append(f)
    for (side, p), fl in sorted(sides.items()):
        if len(fl) > most:
            continue
        cap = ctx["cap"][p]
        fl.sort(key=lambda f: f[1])
        for t0 in sorted({f[0] for f in fl}):
            total = 0.0
            for rel, fin, b in fl:
                if rel < t0:
                    continue
                total += b - 1e-9 * b - cap * 8 * ulp(fin)
                room = cap * (fin - t0) * (1 + 1e-12)
                if total > room:
                    errs.append(f"{ctx['name']} [{stem}] port {p} {side}s {total!r} bytes "
                                f"between {t0!r} and {fin!r} s: above its rate {cap!r} "
                                f"(at most {room!r})")
                    return errs
    return errs


def g6(x):
    return float("%g" % x)


def check_table(ctx, stdout, rows):
    """The printed table and header lines against the JSONs, to their printed precision."""
    errs = []
    W = ctx["name"]
    lines = stdout.splitlines()
    nf = sum(len(c["flows"]) for j in ctx["jobs"] for c in j["coflows"])
    nc = sum(len(j["coflows"]) for j in ctx["jobs"])
    head = [ln for ln in lines if ln.startswith("workload ")]
    m = re.match(r"workload (.*): (\d+) jobs?, (\d+) coflows?, (\d+) flows?, (\S+) bytes on "
                 r"(\d+) ports? at (\S+) bytes/s", head[0] if head else "")
    total = math.fsum(b for j in ctx["jobs"] for c in j["coflows"] for _, _, b in c["flows"])
    n_other = sum(1 for _, r in ctx["caps"] if r != ctx["rate"])
    suffix = (f" ({n_other} {'port' if n_other == 1 else 'ports'} set to another rate by "
              "--port-cap)" if n_other else "")
    if head and m and head[0][m.end():] != suffix:
        errs.append(f"{W}: header line {head[0]!r} should end {suffix!r} after the rate")
    if not m or (m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                 float(m.group(5)), int(m.group(6)), float(m.group(7))) != \
            (ctx.get("shown", ctx["workload_arg"]), len(ctx["jobs"]), nc, nf, g6(total),
             ctx["ports"], g6(ctx["rate"])):
        errs.append(f"{W}: header line {head[:1]!r} against {len(ctx['jobs'])} jobs, {nc} "
                    f"coflows, {nf} flows, {g6(total)} bytes, {ctx['ports']} ports, "
                    f"{g6(ctx['rate'])} bytes/s")
    bl = [ln for ln in lines if ln.startswith("bound: ")]
    wb = next(iter(rows.values()))["weighted_bound_s"]
    m = re.fullmatch(r"bound: average weighted lower bound of JCT (\S+) s", bl[0] if bl else "")
    if not m or float(m.group(1)) != g6(wb):
        errs.append(f"{W}: bound line {bl[:1]!r}, expected {g6(wb)}")
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith("policy "))
    except StopIteration:
        return errs + [f"{W}: no table in the output"]
    names = ["avgCCT", "p95CCT", "avgJCT", "p95JCT", "p99JCT", "avgwJCT", "vs bound"]
    if ctx["lp"]:
        names.append("vs LP")
        lps = {s["lp_bound_s"] for s in rows.values()}
        lpl = [ln for ln in lines if ln.startswith("LP bound: ")]
        m = re.match(r"LP bound: no schedule's average weighted JCT is below (\S+) s",
                     lpl[0] if lpl else "")
        if len(lps) != 1 or not m or float(m.group(1)) != g6(lps.pop()):
            errs.append(f"{W}: LP bound line {lpl[:1]!r} against the JSONs' "
                        f"{[s['lp_bound_s'] for s in rows.values()]}")
    table = lines[start + 1:start + 1 + len(rows)]
    if len(table) != len(rows):
        errs.append(f"{W}: {len(table)} table rows for {len(rows)} policies")
    errs += check_bins_table(ctx, lines, rows)
    for (stem, s), ln in zip(rows.items(), table):
        f = ln.split()
        want = [s["cct_s"]["avg"], s["cct_s"]["p95"], s["jct_s"]["avg"], s["jct_s"]["p95"],
                s["jct_s"]["p99"], s["avg_weighted_jct_s"], s["slowdown_vs_bound"],
                s["slowdown_vs_lp_bound"]][:len(names)]
        if f[:2] != [s["policy"], s["allocator"]]:
            errs.append(f"{W} [{stem}] table row {ln!r}: policy, alloc {s['policy']} "
                        f"{s['allocator']}")
            continue
        if len(f) != len(names) + 3:
            errs.append(f"{W} [{stem}] table row {ln!r}: expected {names} and wall(s)")
            continue
        for name, got, w in zip(names, f[2:], want):
            if not printed_near(got, w):
                errs.append(f"{W} [{stem}] table {name}: printed {got}, JSON {w!r}")
    return errs


def printed_near(got, w):
    """A table cell: 4 decimals, or 4 significant digits past 1e12 or below 0.01."""
    if "e" in got or (w != 0 and abs(w) < 0.01):
        half = 0.5 * 10.0 ** (math.floor(math.log10(abs(w))) - 3) if w else 0
    else:
        half = 0.5e-4
    return abs(float(got) - w) <= half * (1 + 1e-9) + 4 * ulp(w)


def check_bins_table(ctx, lines, rows):
    """The bins table (--bins) against the JSONs: none without it."""
    W = ctx["name"]
    at = [i for i, ln in enumerate(lines) if ln.startswith("coflow bins: ")]
    if not ctx.get("bins"):
        return [f"{W}: a bins table without --bins"] if at else []
    length, width = ctx["bins"]
    if len(at) != 1 or len(lines) < at[0] + 3 + len(rows):
        return [f"{W}: no bins table"]
    i = at[0]
    errs = []
    want = (f"coflow bins: short = longest flow < {length:.15g} bytes, narrow = at most "
            f"{width} {'flow' if width == 1 else 'flows'}")
    if lines[i] != want:
        errs.append(f"{W}: bins line {lines[i]!r}, expected {want!r}")
    first = next(iter(rows.values()))
    counts = ", ".join(f"{n} {first['bins'][n]['count']}" for n in BINS)
    want = (f"coflows: {counts}; avg CCT (s) by bin, and over the first policy's: "
            f"{first['policy']} ({first['allocator']})")
    if lines[i + 1] != want:
        errs.append(f"{W}: bins counts {lines[i + 1]!r}, expected {want!r}")
    heads = ["policy", "alloc"] + [f"{n}(s)" for n in BINS] + \
        [f"{n}/{first['policy']}" for n in BINS]
    if lines[i + 2].split() != heads:
        errs.append(f"{W}: bins header {lines[i + 2]!r}, expected {heads}")
    for (stem, s), ln in zip(rows.items(), lines[i + 3:]):
        f = ln.split()
        if f[:2] != [s["policy"], s["allocator"]] or len(f) != 10:
            errs.append(f"{W} [{stem}] bins row {ln!r}")
            continue
        for k, n in enumerate(BINS):
            a, r = s["bins"][n]["avg_cct_s"], first["bins"][n]["avg_cct_s"]
            for got, w, what in ((f[2 + k], a, "avg"),
                                 (f[6 + k], a / r if a is not None and r else None, "ratio")):
                ok = got == "-" if w is None else got != "-" and printed_near(got, w)
                if not ok:
                    errs.append(f"{W} [{stem}] bins {n} {what}: printed {got}, JSON {w!r}")
    return errs


RUNS = {"sim": 0, "policies": 0}
RUNS_LOCK = threading.Lock()


def run_case(weft, tmp, ctx, specs, opts):
    """One `weft sim` of several policies, then every check; a list of mismatches."""
    out = os.path.join(tmp, "out-" + os.path.basename(ctx["workload_arg"]).split(".")[0])
    shutil.rmtree(out, ignore_errors=True)
    cmd = [weft, "sim", ctx["workload_arg"]]
    for s in specs:
        cmd += ["--policy", s]
    cmd += opts + ["--out", out] + (["--flows"] if ctx["flows"] else [])
    stdin = open(ctx["stdin"]) if "stdin" in ctx else open(os.devnull)
    with stdin:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, stdin=stdin,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if specs == ["all"]:
        specs = list(OWN_ALLOC)
    with RUNS_LOCK:
        RUNS["sim"] += 1
        RUNS["policies"] += len(specs)
    if p.returncode != 0:
        return [f"{ctx['name']}: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}"]
    errs, rows = [], {}
    alloc_opt = opts[opts.index("--alloc") + 1] if "--alloc" in opts else None
    for s in specs:
        stem, o, a = file_stem(s, alloc_opt)
        try:
            e, summ = check_policy(ctx, stem, o, a, out)
        except (OSError, ValueError, KeyError, StopIteration) as ex:
            e, summ = [f"{ctx['name']} [{stem}]: cannot read its files: {ex!r}"], None
        errs += e
        if summ:
            rows[stem] = summ
    if not errs and rows:
        errs += check_table(ctx, p.stdout, rows)
    if errs:
        errs.insert(0, "command: " + " ".join(cmd))
    return errs


# --------------------------------------------------------------------------
# Workloads.

def load(weft, tmp, path, name):
    """The workload as this script reads it (other formats through `weft convert`)."""
    src = path
    with open(path, "rb") as f:
        first = f.read(64)
    if not first.lstrip().startswith(b"weft-workload") and not first.startswith(b"#"):
        src = os.path.join(tmp, "conv.weft")
        subprocess.run([weft, "convert", path, "-o", src], check=True, capture_output=True)
    with open(src) as f:
        ports, jobs = read_weft(f.read())
    return {"name": name, "workload_arg": path, "ports": ports, "jobs": jobs}


def own_workload(rng):
    """A small random weft workload: DAGs listed in any order, ids of any sign, real
    weights, compute times and bytes, self-flows, several roots; at times late arrivals,
    where a double's steps are coarse (flows of 1e4 bytes or more: docs/usage.md's clock guard)."""
    ports = rng.randint(1, 6)
    late = rng.choice([0.0] * 4 + [1e4, 1e6, 3e7])
    jobs = []
    jids = rng.sample(range(-50, 1000), rng.randint(1, 5))
    for jid in jids:
        n = rng.randint(1, 5)
        cids = rng.sample(range(-20, 40), n)
        par = rand_dag(rng, n)
        cfs = []
        for i in range(n):
            fl = []
            for _ in range(rng.randint(1, 4)):
                b = rng.choice([1e6, 1.5e5, rng.random() * 4e6 + 1, float(rng.randint(1, 10 ** 7))])
                b = max(b, 1e4) if late else b
                fl.append((rng.randrange(ports), rng.randrange(ports), b))
            comp = rng.choice([0.0, 0.0, rng.random() * 0.05, 0.01])
            cfs.append(coflow(cids[i], comp, [cids[p] for p in par[i]], fl))
        order = list(range(n))
        rng.shuffle(order)
        jobs.append(job(jid, late + rng.choice([0.0, rng.random() * 0.2, 0.05]),
                        rng.choice([1.0, 3.0, rng.random() * 10 + 1e-3, 0.25]),
                        rng.choice([0.0, rng.random() * 0.03]), [cfs[i] for i in order]))
    return ports, jobs


def options(rng, ports, jobs, slow_rates=True):
    """Policies and options for one run."""
    orders = list(OWN_ALLOC)
    specs, runs = [], set()
    for _ in range(rng.randint(2, 4)):
        o = rng.choice(orders)
        r = rng.random()
        s = f"{o}:{rng.choice(ALLOCS)}" if r < 0.35 and o not in ("fair", "srf") else o
        # one ordering and allocator twice, under any names, is refused
        if (o, s.partition(":")[2] or OWN_ALLOC[o]) not in runs:
            specs.append(s)
            runs.add((o, s.partition(":")[2] or OWN_ALLOC[o]))
    opts, seed, caps = [], None, []
    rate, rate_text = GBPS, "1Gbps"
    r = rng.random()
    if r < 0.3:
        text = rng.choice(["4MB/s", "100Mbps", "1000Mibps", "2.5e7", "1Gibps"] +
                          (["10KiB/s"] if slow_rates else []))
        opts += ["--port-rate", text]
        rate, rate_text = rate_of(text), text
    for _ in range(rng.choice([0, 0, 1, 2])):
        p = rng.randrange(ports)
        if p in [q for q, _ in caps]:
            continue
        # a cap equal to the rate too: the summary and the header leave it out
        text = rng.choice(["10Mbps", "2MB/s", "5e6", "3Gbps", rate_text])
        opts += ["--port-cap", f"{p}={text}"]
        caps.append((p, rate_of(text)))
    tick = 0
    if rng.random() < 0.3:
        # a few dozen to a few thousand ticks: the jobs' bounds one after another
        _, bound = analyse(ports, jobs, rate, caps)
        span = max(j["arrival"] for j in jobs) + sum(b for b, _ in bound.values())
        tick = float("%.3g" % max(1e-6, span / rng.choice([50, 500, 3000])))
        opts += ["--tick", repr(tick)]
    if rng.random() < 0.2 and not any(":" in s for s in specs):
        opts += ["--alloc", rng.choice(ALLOCS)]
    if any(s.split(":")[0] == "learned" for s in specs) and rng.random() < 0.5:
        seed = rng.randint(1, 1000)
        opts += ["--seed", str(seed)]
    check = rng.random() < 0.5
    if check:
        opts.append("--check")
    lp = rng.random() < 0.2
    if lp:
        opts.append("--lp-bound")
    # --bins from a generator of its own, so the draws above stay what they were
    brng = random.Random(" ".join(specs + opts))
    bins = None
    if brng.random() < 0.5:
        length = brng.choice([None, "5MB", "1MB", "2MiB", "1.5e6", "300KB", "1 GB"])
        width = brng.choice([None, 1, 2, 3, 50])
        opts += ["--bins"] + (["--bin-length", length] if length else []) + \
            (["--bin-width", str(width)] if width else [])
        bins = (size_of(length or "5MB"), width or 50)
    return specs, opts, {"rate": rate, "caps": caps, "tick": tick, "seed": seed, "check": check,
                         "lp": lp, "bins": bins}


def prepare(ctx, setting):
    ctx.update(setting)
    ctx["cap"] = [ctx["rate"]] * ctx["ports"]
    for p, r in ctx["caps"]:
        ctx["cap"][p] = r
    ctx["iso"], ctx["bound"] = analyse(ctx["ports"], ctx["jobs"], ctx["rate"], ctx["caps"])
    ctx["flows"] = True


def one_seed(weft, seed):
    """Two workloads a seed: one of this script's, one of `weft gen`'s."""
    rng = random.Random(seed)
    errs = []
    tmp = tempfile.mkdtemp(prefix=f"results-{seed}-")
    try:
        ports, jobs = own_workload(rng)
        path = os.path.join(tmp, f"own-{seed}.weft")
        with open(path, "w") as f:
            f.write("\n".join(write_weft(rng, ports, jobs)) + "\n")
        ctx = load(weft, tmp, path, f"own workload of seed {seed}")
        specs, opts, setting = options(rng, ctx["ports"], ctx["jobs"])
        prepare(ctx, setting)
        errs += run_case(weft, tmp, ctx, specs, opts)

        path = os.path.join(tmp, f"gen-{seed}.weft")
        gen = [weft, "gen", "--seed", str(seed), "--jobs", str(rng.randint(1, 8)),
               "--ports", str(rng.randint(2, 12)), "--max-depth", str(rng.randint(1, 4)),
               "--max-width", str(rng.randint(1, 3)), "--max-coflow-bytes", "2e8",
               "--load", str(rng.choice([0.3, 0.7, 1.5])), "-o", path]
        gen += rng.choice([[], ["--weights", "pareto"], ["--weights", "one"],
                           ["--compute-mean", "0.5"], ["--shape", "alibaba"],
                           ["--shape", "wfcommons", "--compute-mean", "0.1"]])
        subprocess.run(gen, check=True, capture_output=True)
        label = " ".join(a for a in gen[2:] if a not in ("-o", path))
        ctx = load(weft, tmp, path, f"weft gen {label}")
        specs, opts, setting = options(rng, ctx["ports"], ctx["jobs"])
        prepare(ctx, setting)
        errs += run_case(weft, tmp, ctx, specs, opts)
    except subprocess.CalledProcessError as ex:
        errs.append(f"seed {seed}: {' '.join(ex.cmd)} exited {ex.returncode}: "
                    f"{ex.stderr.decode(errors='replace').strip()}")
    finally:
        if not errs:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            errs.append(f"(files kept in {tmp})")
    return seed, errs


def data_case(weft, name, k):
    """A bundled WfCommons workflow (each well under a second), random policies."""
    rng = random.Random(k)
    tmp = tempfile.mkdtemp(prefix="results-data-")
    ctx = load(weft, tmp, os.path.join("data/wfcommons", name), name)
    specs, opts, setting = options(rng, ctx["ports"], ctx["jobs"], slow_rates=False)
    prepare(ctx, setting)
    errs = run_case(weft, tmp, ctx, specs, opts)
    if not errs:
        shutil.rmtree(tmp, ignore_errors=True)
    return errs


def fixed_cases(weft):
    """Standard input, --policy all, and a Facebook trace in the Varys setting."""
    errs = []
    tmp = tempfile.mkdtemp(prefix="results-fixed-")
    rng = random.Random(7)
    base = {"caps": [], "tick": 0, "seed": None, "check": True, "lp": False}
    ports, jobs = own_workload(rng)
    path = os.path.join(tmp, "own.weft")
    with open(path, "w") as f:
        f.write("\n".join(write_weft(rng, ports, jobs)) + "\n")
    # Standard input: the summary names the argument, the header <stdin>.
    ctx = load(weft, tmp, path, "own workload on standard input")
    ctx["workload_arg"], ctx["shown"], ctx["stdin"] = "-", "<stdin>", path
    prepare(ctx, dict(base, rate=GBPS))
    errs += run_case(weft, tmp, ctx, ["sebf", "fair"], ["--check"])
    # Every ordering, each with its own allocator, then all with greedy.
    ctx = load(weft, tmp, path, "own workload, --policy all")
    prepare(ctx, dict(base, rate=GBPS))
    errs += run_case(weft, tmp, ctx, ["all"], ["--check"])
    prepare(ctx, dict(base, rate=GBPS, check=False, lp=True))
    errs += run_case(weft, tmp, ctx, ["all"], ["--alloc", "greedy", "--lp-bound"])
    # Weights at both ends of what the format allows (0 < w <= 1e15), down to the least
    # double, where w * JCT rounds to 0 but the ratio to the bound is still about 1.
    for weights in ((5e-324, 1e-320, 3e-310), (1e15, 2.5e-300, 1.0)):
        wj = [dict(j, weight=w) for j, w in zip(jobs, weights * len(jobs))]
        wpath = os.path.join(tmp, "weights.weft")
        with open(wpath, "w") as f:
            f.write("\n".join(write_weft(rng, ports, wj)) + "\n")
        ctx = load(weft, tmp, wpath, f"own workload, weights {weights}")
        prepare(ctx, dict(base, rate=GBPS))
        errs += run_case(weft, tmp, ctx, ["sebf", "fifo", "jsebf-cp"], ["--check"])
    # A Facebook trace (ms, MB of 2^20 bytes split over the mappers) under --varys.
    fb = os.path.join(tmp, "small-fb.txt")
    with open(fb, "w") as f:
        f.write("5 3\n1 0 2 0 1 2 2:1.5 3:0.25\n2 10 1 4 1 4:2\n7 25 3 1 2 3 1 0:0.75\n")
    # Its bins: 5MB (--bin-length's default) and 2MB are MiB under --varys; coflow 2's
    # flow of exactly 2 MiB is long, coflow 7's 3 flows narrow at --bin-width 3.
    for opts, rate, bins in ((["--varys", "--bins"], 2.0 ** 30 / 8, (5 * 2.0 ** 20, 50)),
                             (["--bin-length", "2MB", "--bin-width", "3", "--varys",
                               "--port-rate", "4MB/s"], 4e6, (2.0 * 2 ** 20, 3))):
        ctx = load(weft, tmp, fb, "small FB trace " + " ".join(opts))
        prepare(ctx, dict(base, rate=rate, bins=bins))
        errs += run_case(weft, tmp, ctx, ["sebf", "fifo", "aalo:madd"],
                         opts + ["--format", "fb", "--check"])
    errs += clock_cases(weft, tmp)
    errs += rerun_case(weft, tmp, path)
    errs += plot_cases(weft, tmp, path)
    if not errs:
        shutil.rmtree(tmp, ignore_errors=True)
    return errs


def rerun_case(weft, tmp, path):
    """docs/usage.md: a run is deterministic, the same input giving the same results to the bit."""
    seen = []
    for k in range(2):
        out = os.path.join(tmp, f"rerun{k}")
        subprocess.run([weft, "sim", path, "--policy", "all", "--tick", "0.01", "--out", out,
                        "--flows"], check=True, capture_output=True)
        files = {}
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name)) as f:
                text = f.read()
            files[name] = re.sub(r'"wall_s": [^,\n}]*', "", text)
        seen.append(files)
    if seen[0] != seen[1]:
        diff = [n for n in seen[0] if seen[0][n] != seen[1].get(n)]
        return [f"{path}: two runs of --policy all differ in {diff or 'the files written'}"]
    return []


def plot_cases(weft, tmp, path):
    """docs/usage.md, "--plot and progress": --plot-metric jct (the default), cct or slowdown,
    each policy's points in <policy>-M-cdf.dat of --out: a comment line, the smallest value at
    share 0, then the k-th smallest of n at k/n; the values are the CSVs' jct_s, cct_s, or
    jct_s / lower_bound_s. Two metrics' files do not collide; plot.gp draws the last plot."""
    errs, seen = [], {}
    out = os.path.join(tmp, "plots")
    specs = ["sebf", "fifo", "wcp"]

    def run(metric):
        cmd = [weft, "sim", path, "--out", out, "--plot", os.path.join(out, "p.svg")]
        cmd += [a for s in specs for a in ("--policy", s)]
        cmd += ["--plot-metric", metric] if metric else []
        p = subprocess.run(cmd, capture_output=True, text=True)
        return [] if p.returncode == 0 else [f"plot: {' '.join(cmd)} exited {p.returncode}: "
                                             f"{p.stderr.strip()[:300]}"]

    def text(name):
        try:
            with open(name) as f:
                return f.read()
        except OSError as ex:
            return repr(ex)

    for metric in ("cct", "slowdown", "jct"):
        failed = run(metric)
        if failed:
            return failed
        for s in specs:
            jobs = read_csv(os.path.join(out, f"{s}-jobs.csv"))
            if metric == "cct":
                want = [float(c["cct_s"]) for c in read_csv(os.path.join(out, f"{s}-coflows.csv"))]
            elif metric == "jct":
                want = [float(j["jct_s"]) for j in jobs]
            else:
                want = [float(j["jct_s"]) / float(j["lower_bound_s"]) for j in jobs]
            want.sort()
            want = [(want[0], 0.0)] + [(v, (k + 1) / len(want)) for k, v in enumerate(want)]
            name = os.path.join(out, f"{s}-{metric}-cdf.dat")
            seen[name] = text(name)
            lines = seen[name].splitlines()
            try:
                got = [tuple(float(x) for x in ln.split()) for ln in lines[1:]]
            except ValueError:
                got = None
            if not lines or not lines[0].startswith("#") or got != want:
                errs.append(f"plot: --plot-metric {metric} {s}: {lines[:3]}... for {want[:2]}...")
        if f"{specs[-1]}-{metric}-cdf.dat" not in text(os.path.join(out, "plot.gp")):
            errs.append(f"plot: --plot-metric {metric}: plot.gp draws no {metric} CDF")
    errs += [f"plot: {n} changed by a later run of another metric" for n in seen
             if text(n) != seen[n]]
    # no --plot-metric: jct's files again, and only those
    for n in seen:
        if os.path.exists(n):
            os.remove(n)
    errs += run(None)
    errs += [f"plot: without --plot-metric, {n} is " +
             ("not --plot-metric jct's" if "-jct-" in n else "written") for n in seen
             if (text(n) == seen[n]) != ("-jct-" in n)]
    return errs


def clock_cases(weft, tmp):
    """docs/usage.md: a flow taking, alone at the slower of its ports, under 1000 steps of a double
    (2.2e-16 of the time) where its coflow is released at the earliest is refused."""
    errs = []
    eps = 2.0 ** -52
    for arrival, compute, cap in ((999000.0, 1000.0, "0=2Gbps"), (1e6, 0.0, "1=500Mbps")):
        rate = min(GBPS, rate_of(cap.split("=")[1])) if cap else GBPS
        edge = 1000 * eps * (arrival + compute) * rate  # bytes at the threshold
        for b in (math.floor(edge), math.floor(edge) + 1):
            path = os.path.join(tmp, "clock.weft")
            with open(path, "w") as f:
                f.write(f"weft-workload 1\nports 2\njob 0 {arrival!r} 1 0 1\n"
                        f"coflow 0 {compute!r} 1 -\n0 1 {b}\nend 1\n")
            cmd = [weft, "sim", path, "--policy", "sebf"] + (["--port-cap", cap] if cap else [])
            p = subprocess.run(cmd, capture_output=True, text=True)
            want = 1 if b < edge else 0
            if p.returncode != want or (want and "too coarse" not in p.stderr):
                errs.append(f"clock guard: {b} bytes at {arrival!r} s + {compute!r} s, "
                            f"cap {cap}: exit {p.returncode}, expected {want} "
                            f"(threshold {edge:.4g} bytes): {p.stderr.strip()[:200]}")
    return errs


def parse_seeds(s):
    lo, _, hi = s.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN", "build/weft"))
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--data", action="store_true")
    ap.add_argument("--keep-going", action="store_true")
    a = ap.parse_args()
    if not os.access(a.weft, os.X_OK):
        print(f"results_check: cannot run {a.weft}", file=sys.stderr)
        return 2
    weft = os.path.abspath(a.weft)
    seeds = parse_seeds(a.seeds)
    # the seeds, the fixed cases and the bundled workflows, all on the pool
    tasks = [(f"seed {s}", lambda s=s: one_seed(weft, s)[1]) for s in seeds]
    tasks.append(("fixed cases", lambda: fixed_cases(weft)))
    if a.data:
        names = sorted(n for n in os.listdir("data/wfcommons") if n.endswith(".json"))
        tasks += [(f"data/wfcommons/{n}", lambda n=n, k=k: data_case(weft, n, k))
                  for k, n in enumerate(names)]
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(a.j) as ex:
        for (what, _), errs in zip(tasks, ex.map(lambda t: t[1](), tasks)):
            if errs:
                failed += 1
                print(f"{what}: MISMATCH", file=sys.stderr)
                for e in errs[:20]:
                    print("  " + e, file=sys.stderr)
                if not a.keep_going:
                    ex.shutdown(cancel_futures=True)
                    return 1
    print(f"results_check: {len(seeds)} seeds{' and data/' if a.data else ''}, "
          f"{RUNS['sim']} runs of weft sim, {RUNS['policies']} policies' results: "
          f"{'all agree' if not failed else f'{failed} with mismatches'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
