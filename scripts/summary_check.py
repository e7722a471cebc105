#!/usr/bin/env python3
"""summary_check.py - weft sim's summaries recomputed from its CSVs and the workload.

An outsider's audit of `weft sim --out`: written from ../shared/DESIGN.md
sections 2-3 (docs/design.md), docs/usage.md's --out section and `weft sim --help`
alone, not from netsim/ or cli/. For each case it runs the real weft sim with
--out, reads the workload itself (weft's text format, or a Facebook trace;
a WfCommons workflow through `weft convert`, whose reader is not audited
here), and checks:

  - per coflow: one row each; release = its job's arrival (a root) or its
    parents' last finish, plus its compute time; CCT = finish - release;
    iso = max over ports and sides of bytes through it / its rate;
  - per job: one row each; arrival and weight as in the file; finish = its
    last coflow's plus the final compute; JCT = finish - arrival; lower
    bound = heaviest DAG path of compute + iso, plus the final compute;
  - the summary JSON: counts, bytes, rate and caps, average, nearest-rank
    p50/p95/p99 and max of CCT and JCT, average weighted JCT, weighted
    bound, slowdown (their ratio), makespan (last finish - first arrival),
    port utilization (bytes / (sum of send rates x makespan));
  - the printed table: every figure against the JSON at its 4 decimals, the
    bound line against weighted_bound_s, the workload line's counts;
  - with --bins (docs/usage.md, "Coflow bins"): each summary's "bins" (the
    thresholds; per bin SN, LN, SW, LW the coflows whose longest flow is
    under the length or not, with at most the width's flows or more, their
    bytes, the average of their CSV CCTs or null), and the printed bins
    table: the thresholds, the counts, each average and each ratio to the
    first policy's at 4 decimals, "-" for an empty bin.

Sums may be added in another order than weft's: they are held to 1e-12
relatively; copies and single subtractions to the bit. Percentiles and
counts are exact.

    python3 scripts/summary_check.py [--weft PATH] [--fb] [--keep DIR]

Without --fb it runs small cases (under a second); --fb adds the bundled Facebook
trace in the Varys setting under four policies (about 15 s more). WEFT_BIN, else
build/weft, is the weft it runs. Exits 0 when all holds, 1 naming each
mismatch (workload, policy, field, both values).
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REL = 1e-12
FAILS = []


def bad(case, msg):
    FAILS.append(f"{case}: {msg}")
    print(f"summary_check: MISMATCH {case}: {msg}", file=sys.stderr)


def near(a, b, rel=REL):
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


# --------------------------------------------------------------------------
# Workloads, read here (docs/workload-format.md sections 1 and 2).

def read_weft(path):
    """(ports, [job]) with job = dict(id, arrival, weight, final, coflows=
    {id: dict(compute, flows=[(src, dst, bytes)], parents=[ids])})."""
    lines = []
    for raw in open(path, encoding="utf-8"):
        s = raw.split(" #")[0].split("\t#")[0].strip()
        if s and not s.startswith("#"):
            lines.append(s.split())
    it = iter(lines)
    assert next(it)[:2] == ["weft-workload", "1"]
    ports = int(next(it)[1])
    jobs = []
    for t in it:
        if t[0] == "end":
            break
        assert t[0] == "job", t
        job = dict(id=t[1], arrival=float(t[2]), weight=float(t[3]), final=float(t[4]),
                   coflows={})
        for _ in range(int(t[5])):
            c = next(it)
            flows = [next(it) for _ in range(int(c[3]))]
            job["coflows"][c[1]] = dict(
                compute=float(c[2]), parents=[] if c[4] == "-" else c[4].split(","),
                flows=[(int(a), int(b), float(x)) for a, b, x in flows])
        jobs.append(job)
    return ports, jobs


def read_fb(path):
    """The Facebook benchmark: one job of weight 1 and one coflow a line,
    each reducer's MB (2^20 bytes) split evenly over the mappers."""
    with open(path) as f:
        ports, n = map(int, f.readline().split())
        jobs = []
        for line in f:
            t = line.split()
            if not t:
                continue
            nm = int(t[2])
            mappers = [int(x) for x in t[3:3 + nm]]
            reducers = [r.split(":") for r in t[4 + nm:4 + nm + int(t[3 + nm])]]
            flows = [(m, int(p), float(mb) * 1048576 / nm) for p, mb in reducers
                     for m in mappers]
            jobs.append(dict(id=t[0], arrival=int(t[1]) / 1000, weight=1.0, final=0.0,
                             coflows={t[0]: dict(compute=0.0, parents=[], flows=flows)}))
    assert len(jobs) == n
    return ports, jobs


def iso(flows, rates):
    """DESIGN 3: max over ports of bytes through it / its capacity, sending
    and receiving apart; a flow to its own port loads both sides."""
    out, inn = {}, {}
    for s, d, b in flows:
        out[s] = out.get(s, 0.0) + b
        inn[d] = inn.get(d, 0.0) + b
    return max(max(b / rates[p] for p, b in out.items()),
               max(b / rates[p] for p, b in inn.items()))


def bound(job, isos):
    """Heaviest path of compute + iso through the job's DAG, plus final compute."""
    memo = {}

    def longest(cid):  # heaviest path ending at (and including) cid
        if cid not in memo:
            c = job["coflows"][cid]
            memo[cid] = c["compute"] + isos[cid] + max(
                (longest(p) for p in c["parents"]), default=0.0)
        return memo[cid]
    return max(longest(c) for c in job["coflows"]) + job["final"]


def nearest_rank(values, p):
    s = sorted(values)
    return s[max(1, math.ceil(p * len(s) / 100)) - 1]


# --------------------------------------------------------------------------
# One run of weft sim, audited.

def audit_bins(case, jobs, out, policies, printed, length, width):
    """--bins: the summaries' "bins" recomputed from the workload's flows and
    the coflows CSV, and the printed bins table against them."""
    names = ["SN", "LN", "SW", "LW"]
    avgs = {}
    for pol in policies:
        pc = f"{case} {pol}"
        stem = pol.replace(":", "-")
        s = json.load(open(os.path.join(out, f"{stem}-summary.json")))
        if list(s)[-2:] != ["wall_s", "bins"]:
            bad(pc, f"summary keys end {list(s)[-2:]}, expected wall_s then bins")
            continue
        b = s["bins"]
        if b.get("length_bytes") != length or b.get("width_flows") != width:
            bad(pc, f"bins thresholds {b.get('length_bytes')!r} {b.get('width_flows')!r}, "
                f"expected {length!r} {width!r}")
        rows = {(r["job"], r["coflow"]): float(r["cct_s"])
                for r in csv.DictReader(open(os.path.join(out, f"{stem}-coflows.csv"),
                                             newline=""))}
        cct = {n: [] for n in names}
        size = {n: [] for n in names}
        for j in jobs:
            for cid, c in j["coflows"].items():
                longest = max((f[2] for f in c["flows"]), default=0.0)
                n = ("S" if longest < length else "L") + \
                    ("N" if len(c["flows"]) <= width else "W")
                cct[n].append(rows[(j["id"], cid)])
                size[n] += [f[2] for f in c["flows"]]
        avgs[pol] = {}
        for n in names:
            got = b.get(n, {})
            want = math.fsum(cct[n]) / len(cct[n]) if cct[n] else None
            avgs[pol][n] = want
            if got.get("count") != len(cct[n]) or not near(got.get("bytes", -1),
                                                            math.fsum(size[n])):
                bad(pc, f"bin {n}: {got}, expected {len(cct[n])} coflows of "
                    f"{math.fsum(size[n])!r} bytes")
            a = got.get("avg_cct_s")
            if (a is None) != (want is None) or (a is not None and not near(a, want)):
                bad(pc, f"bin {n} avg_cct_s {a!r}, recomputed {want!r}")
    lines = printed.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.startswith("coflow bins: ")), None)
    if at is None or len(lines) < at + 3 + len(policies):
        bad(case, "no bins table printed")
        return
    head = (f"coflow bins: short = longest flow < {length:.15g} bytes, narrow = at most "
            f"{width} flow{'' if width == 1 else 's'}")
    if lines[at] != head:
        bad(case, f"bins line {lines[at]!r}, expected {head!r}")
    ref = policies[0].split(":")[0]
    counts = {n: sum(1 for j in jobs for c in j["coflows"].values()
                     if ("S" if max((f[2] for f in c["flows"]), default=0.0) < length else "L") +
                     ("N" if len(c["flows"]) <= width else "W") == n) for n in names}
    want = "coflows: " + ", ".join(f"{n} {counts[n]}" for n in names)
    if not lines[at + 1].startswith(want + "; ") or f"first policy's: {ref} (" not in \
            lines[at + 1]:
        bad(case, f"bins counts {lines[at + 1]!r}, expected {want!r} and {ref} as reference")
    heads = lines[at + 2].split()
    if heads != ["policy", "alloc"] + [f"{n}(s)" for n in names] + [f"{n}/{ref}" for n in names]:
        bad(case, f"bins header {lines[at + 2]!r}")
    for pol, row in zip(policies, lines[at + 3:]):
        cells = row.split()
        if cells[0] != pol.split(":")[0] or len(cells) != 10 or pol not in avgs:
            bad(case, f"bins row {row!r} for {pol}")
            continue
        for k, n in enumerate(names):
            a, r = avgs[pol][n], avgs[policies[0]].get(n) if policies[0] in avgs else None
            ratio = a / r if a is not None and r else None
            for text, v, what in ((cells[2 + k], a, "avg"), (cells[6 + k], ratio, "ratio")):
                if (v is None and text != "-") or (v is not None and not printed_as(text, v)):
                    bad(case, f"{pol} bin {n} {what} printed {text}, recomputed {v!r}")


def audit(case, wl, ports, jobs, rates, out, policies, printed):
    base_rate = rates["base"]
    rate = [rates.get(p, base_rate) for p in range(ports)]
    isos = {j["id"]: {c: iso(cf["flows"], rate) for c, cf in j["coflows"].items()}
            for j in jobs}
    bounds = {j["id"]: bound(j, isos[j["id"]]) for j in jobs}
    table = parse_table(printed)
    n_coflows = sum(len(j["coflows"]) for j in jobs)
    n_flows = sum(len(c["flows"]) for j in jobs for c in j["coflows"].values())
    total = math.fsum(b for j in jobs for c in j["coflows"].values() for _, _, b in c["flows"])
    m = re.search(r"^workload .*?: (\d+) jobs?, (\d+) coflows?, (\d+) flows?, (\S+) bytes on "
                  r"(\d+) ports at (\S+) bytes/s(?: \(\d+ ports? set to another rate by "
                  r"--port-cap\))?$", printed, re.M | re.S)
    if not m:
        bad(case, f"no workload line in {printed[:200]!r}")
    elif (int(m[1]), int(m[2]), int(m[3]), int(m[5])) != (len(jobs), n_coflows, n_flows,
                                                          ports) or \
            not near(float(m[4]), total, 1e-5) or not near(float(m[6]), base_rate, 1e-5):
        bad(case, f"workload line {m[0]!r}: {len(jobs)} jobs, {n_coflows} coflows, "
            f"{n_flows} flows, {total:g} bytes, {ports} ports at {base_rate:g}")
    lps = set()
    for pol in policies:
        name = pol.replace(":", "-")
        pc = f"{case} {pol}"
        s = json.load(open(os.path.join(out, f"{name}-summary.json")))
        cf = list(csv.DictReader(open(os.path.join(out, f"{name}-coflows.csv"), newline="")))
        jb = list(csv.DictReader(open(os.path.join(out, f"{name}-jobs.csv"), newline="")))
        for k, want in (("workload", wl), ("n_ports", ports), ("n_jobs", len(jobs)),
                        ("n_coflows", n_coflows), ("n_flows", n_flows),
                        ("port_rate_bytes_per_s", base_rate)):
            if s[k] != want:
                bad(pc, f"summary {k} {s[k]}, expected {want}")
        if not near(s["total_bytes"], total):
            bad(pc, f"total_bytes {s['total_bytes']}, expected {total}")
        caps = sorted([p, r] for p, r in rates.items() if p != "base" and r != base_rate)
        if s["port_caps"] != caps:
            bad(pc, f"port_caps {s['port_caps']}, expected {caps}")
        rows = {(r["job"], r["coflow"]): r for r in cf}
        if len(rows) != len(cf) or len(cf) != n_coflows:
            bad(pc, f"{len(cf)} coflow rows ({len(rows)} distinct), {n_coflows} coflows")
        jrows = {r["job"]: r for r in jb}
        if len(jrows) != len(jb) or len(jb) != len(jobs):
            bad(pc, f"{len(jb)} job rows ({len(jrows)} distinct), {len(jobs)} jobs")
        ccts, jcts, wj, wb = [], [], [], []
        for j in jobs:
            jid = j["id"]
            fin = {}
            for cid, c in j["coflows"].items():
                r = rows.get((jid, cid))
                if r is None:
                    bad(pc, f"job {jid} coflow {cid}: no row")
                    continue
                fin[cid] = float(r["finish_s"])
            for cid, c in j["coflows"].items():
                r = rows.get((jid, cid))
                if r is None:
                    continue
                ready = max((fin[p] for p in c["parents"]), default=j["arrival"])
                rel, f, cct = float(r["release_s"]), fin[cid], float(r["cct_s"])
                if not near(rel, ready + c["compute"], 4 * 2.0 ** -52):
                    bad(pc, f"job {jid} coflow {cid}: release {rel!r}, expected "
                        f"{ready + c['compute']!r}")
                if cct != f - rel:
                    bad(pc, f"job {jid} coflow {cid}: cct {cct!r}, finish - release {f - rel!r}")
                if not near(float(r["iso_s"]), isos[jid][cid]):
                    bad(pc, f"job {jid} coflow {cid}: iso {r['iso_s']}, expected "
                        f"{isos[jid][cid]!r}")
                ccts.append(cct)
            r = jrows.get(jid)
            if r is None:
                bad(pc, f"job {jid}: no row")
                continue
            arr, f, jct, w = (float(r[k]) for k in ("arrival_s", "finish_s", "jct_s", "weight"))
            want_f = max(fin.values(), default=0.0) + j["final"]
            if arr != j["arrival"] or w != j["weight"]:
                bad(pc, f"job {jid}: arrival {arr!r} weight {w!r}, file {j['arrival']!r} "
                    f"{j['weight']!r}")
            if not near(f, want_f, 4 * 2.0 ** -52):
                bad(pc, f"job {jid}: finish {f!r}, last coflow + final compute {want_f!r}")
            if jct != f - arr:
                bad(pc, f"job {jid}: jct {jct!r}, finish - arrival {f - arr!r}")
            if not near(float(r["lower_bound_s"]), bounds[jid]):
                bad(pc, f"job {jid}: lower bound {r['lower_bound_s']}, expected "
                    f"{bounds[jid]!r}")
            jcts.append(jct)
            wj.append(Fraction(w) * Fraction(jct))
            wb.append(Fraction(w) * Fraction(bounds[jid]))
        if len(ccts) != n_coflows or len(jcts) != len(jobs):
            continue
        want = {}
        for key, vals in (("cct_s", ccts), ("jct_s", jcts)):
            want[key] = {"avg": math.fsum(vals) / len(vals), "max": max(vals),
                         **{f"p{p}": nearest_rank(vals, p) for p in (50, 95, 99)}}
            for k, v in want[key].items():
                got = s[key][k]
                if not (near(got, v) if k == "avg" else got == v):
                    bad(pc, f"summary {key}.{k} {got!r}, recomputed {v!r}")
        n = len(jobs)
        # sums of w*JCT exactly, then rounded: subnormal products stay apart
        figs = {"avg_weighted_jct_s": float(sum(wj) / n), "weighted_bound_s": float(sum(wb) / n),
                "slowdown_vs_bound": float(sum(wj) / sum(wb)) if sum(wb) else None}
        first = min(j["arrival"] for j in jobs)
        last = max(float(r["finish_s"]) for r in jb)
        figs["makespan_s"] = last - first
        figs["port_utilization"] = total / (math.fsum(rate) * figs["makespan_s"]) \
            if figs["makespan_s"] > 0 else None
        for k, v in figs.items():
            got = s[k]
            # an average of products near the least double is its nearest
            # multiple of 2^-1074 at best: allow a few of those units
            ok = got is v if v is None or got is None else (
                near(got, v) or abs(got - v) <= 4 * 5e-324 * max(1, n))
            if not ok:
                bad(pc, f"summary {k} {got!r}, recomputed {v!r}")
        lp = s["lp_bound_s"]
        if lp is not None:
            # the LP holds every critical-path constraint, and no schedule beats it
            if lp < s["weighted_bound_s"] * (1 - 1e-9) or \
                    s["avg_weighted_jct_s"] < lp * (1 - 1e-6):
                bad(pc, f"lp_bound_s {lp!r} against weighted bound {s['weighted_bound_s']!r}"
                    f" and avg wJCT {s['avg_weighted_jct_s']!r}")
            if lp > 1e-300 and not near(s["slowdown_vs_lp_bound"],
                                        s["avg_weighted_jct_s"] / lp, 1e-12):
                bad(pc, f"slowdown_vs_lp_bound {s['slowdown_vs_lp_bound']!r}, avg wJCT / LP "
                    f"{s['avg_weighted_jct_s'] / lp!r}")
            lps.add(lp)
        elif s["slowdown_vs_lp_bound"] is not None:
            bad(pc, f"slowdown_vs_lp_bound {s['slowdown_vs_lp_bound']!r} without an LP bound")
        row = table.get((pol.split(":")[0], s["allocator"]))
        if row is None:
            bad(pc, f"no row in the printed table: {sorted(table)}")
            continue
        cols = {"avgCCT(s)": s["cct_s"]["avg"], "p95CCT(s)": s["cct_s"]["p95"],
                "avgJCT(s)": s["jct_s"]["avg"], "p95JCT(s)": s["jct_s"]["p95"],
                "p99JCT(s)": s["jct_s"]["p99"], "avgwJCT(s)": s["avg_weighted_jct_s"],
                "vs bound": s["slowdown_vs_bound"]}
        if lp is not None:
            cols["vs LP"] = s["slowdown_vs_lp_bound"]
        for col, v in cols.items():
            if col not in row:
                bad(pc, f"printed table has no {col}")
            elif not printed_as(row[col], v):
                bad(pc, f"printed {col} {row[col]}, summary {v!r}")
    m = re.search(r"^LP bound: no schedule's average weighted JCT is below (\S+) s ", printed,
                  re.M)
    if len(lps) > 1 or bool(lps) != bool(m) or (m and not near(float(m[1]), lps.pop(), 1e-5)):
        bad(case, f"LP bound line {m and m[0]!r}, summaries {lps}")
    m = re.search(r"^bound: average weighted lower bound of JCT (\S+) s$", printed, re.M)
    wb = float(sum(Fraction(j["weight"]) * Fraction(bounds[j["id"]]) for j in jobs) / len(jobs))
    if not m or not near(float(m[1]), wb, 1e-5):
        bad(case, f"bound line {m and m[0]!r}, expected {wb:g} s")


def printed_as(text, v):
    """The table's text is v at 4 decimals (or %g where fixed would not read)."""
    if v is None:
        return text in ("-", "n/a", "null")
    try:
        t = float(text)
    except ValueError:
        return False
    return t == v or abs(t - v) <= 0.5e-4 * (1 + 1e-9) or near(t, v, 1e-4)


def parse_table(out):
    """{policy: {column: text}} of the side-by-side table."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("policy "):
            rows = {}
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                cells = row.split()
                rows[cells[0], cells[1]] = dict(zip(fix_heads(line), cells))
            return rows
    return {}


def fix_heads(line):
    """The header's column names, "vs bound" and "vs LP" kept whole."""
    words = line.split()
    heads, i = [], 0
    while i < len(words):
        if words[i] == "vs" and i + 1 < len(words):
            heads.append("vs " + words[i + 1])
            i += 2
        else:
            heads.append(words[i])
            i += 1
    return heads


def run_case(weft, work, case, wl, ports, jobs, policies, extra=(), rates=None, bins=None):
    """bins: (length in bytes, width in flows) the extra options ask for."""
    rates = rates or {"base": 125e6}
    out = os.path.join(work, re.sub(r"\W", "_", case))
    args = [weft, "sim", wl, "--out", out, *extra]
    for p in policies:
        args += ["--policy", p]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        bad(case, f"weft sim exited {r.returncode}: {r.stderr.strip()}")
        return
    audit(case, wl, ports, jobs, rates, out, policies, r.stdout)
    if bins:
        audit_bins(case, jobs, out, policies, r.stdout, *bins)


def write_weft(path, ports, jobs):
    with open(path, "w") as f:
        f.write(f"weft-workload 1\nports {ports}\n")
        for j in jobs:
            f.write(f"job {j['id']} {j['arrival']!r} {j['weight']!r} {j['final']!r} "
                    f"{len(j['coflows'])}\n")
            for cid, c in j["coflows"].items():
                f.write(f"coflow {cid} {c['compute']!r} {len(c['flows'])} "
                        f"{','.join(c['parents']) or '-'}\n")
                for s, d, b in c["flows"]:
                    f.write(f"{s} {d} {b!r}\n")
        f.write(f"end {len(jobs)}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN",
                                                     os.path.join(ROOT, "build", "weft")))
    ap.add_argument("--fb", action="store_true", help="also the Facebook trace (~30 s)")
    ap.add_argument("--keep", help="work in DIR and keep it")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="summary_check.")
    os.makedirs(work, exist_ok=True)
    try:
        cases(a.weft, work, a.fb)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    if FAILS:
        print(f"summary_check: {len(FAILS)} mismatches", file=sys.stderr)
        return 1
    print("summary_check: ok")
    return 0


def cases(weft, work, fb):
    def gen(name, *args):
        wl = os.path.join(work, name + ".weft")
        subprocess.run([weft, "gen", *args, "-o", wl], check=True, capture_output=True)
        return wl

    # a weft gen DAG workload with weights and compute times
    wl = gen("gen", "--shape", "alibaba", "--jobs", "30", "--ports", "16", "--load", "0.8",
             "--seed", "7", "--compute-mean", "5")
    ports, jobs = read_weft(wl)
    run_case(weft, work, "gen", wl, ports, jobs, ["sebf", "fifo", "sincronia", "jsebf-cp",
                                                 "fair", "wcp:greedy"], ["--bins"],
             bins=(5e6, 50))
    # the same under other rates: a slower fabric with two ports capped
    run_case(weft, work, "gen capped", wl, ports, jobs, ["sebf", "aalo"],
             ["--port-rate", "100Mbps", "--port-cap", "3=1Gbps", "--port-cap", "0=2MB/s",
              "--bin-length", "3MiB", "--bin-width", "2"],
             {"base": 12.5e6, 3: 125e6, 0: 2e6}, bins=(3 * 2.0 ** 20, 2))
    run_case(weft, work, "gen lp", wl, ports, jobs, ["wcp", "fifo:madd"], ["--lp-bound"])
    # a WfCommons workflow, converted by weft (its reader is another audit's)
    wf = os.path.join(work, "wf.weft")
    subprocess.run([weft, "convert", os.path.join(ROOT, "data", "wfcommons",
                                                  "srasearch-chameleon-10a-001.json"),
                    "-o", wf], check=True, capture_output=True)
    ports, jobs = read_weft(wf)
    run_case(weft, work, "wfcommons", wf, ports, jobs, ["sebf", "jsebf", "fifo"])
    # one job; weights near both ends; identical arrivals; a job of one byte
    # named as JSON must escape, and a CSV would quote
    one = os.path.join(work, 'edge, "q"\\\t\n\x01\x7f\u00e9.weft')
    edge = [dict(id="5", arrival=2.0, weight=1e15, final=1.5, coflows={
        "1": dict(compute=0.5, parents=[], flows=[(0, 1, 1e6), (1, 1, 3e6)]),
        "2": dict(compute=0.0, parents=["1"], flows=[(2, 0, 1.0)])})]
    write_weft(one, 3, edge)
    run_case(weft, work, "one job", one, 3, edge, ["sebf", "fifo"], ["--bin-length", "3e6"],
             bins=(3e6, 50))
    edge += [dict(id="6", arrival=2.0, weight=5e-324, final=0.0, coflows={
        "1": dict(compute=0.0, parents=[], flows=[(0, 2, 5e6)])}),
        dict(id="7", arrival=2.0, weight=1e-300, final=0.0, coflows={
            "9": dict(compute=0.0, parents=["3"], flows=[(1, 2, 2e6)]),
            "3": dict(compute=1.0, parents=[], flows=[(1, 0, 1e3)])})]
    write_weft(one, 3, edge)
    run_case(weft, work, "same arrivals", one, 3, edge, ["sebf", "sincronia", "fifo", "srf"])
    tiny = [dict(id=str(i), arrival=1.0, weight=5e-324, final=0.0, coflows={
        "1": dict(compute=0.0, parents=[], flows=[(i % 2, 1 - i % 2, 1e6 * (i + 1))])})
        for i in range(4)]
    write_weft(one, 2, tiny)
    run_case(weft, work, "least weights", one, 2, tiny, ["sebf", "sincronia"], ["--lp-bound"])
    if fb:
        trace = os.path.join(ROOT, "data", "FB2010-1Hr-150-0.txt")
        ports, jobs = read_fb(trace)
        run_case(weft, work, "FB varys", trace, ports, jobs, ["sebf", "fifo", "scf", "fair"],
                 ["--format", "fb", "--varys", "--bins"], {"base": 2.0 ** 30 / 8},
                 bins=(5 * 2.0 ** 20, 50))


if __name__ == "__main__":
    sys.exit(main())
