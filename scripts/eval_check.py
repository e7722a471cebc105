#!/usr/bin/env python3
"""eval_check.py - a second reader of `weft eval`'s statistics, from its documents alone.

Written from `weft eval --help`, docs/usage.md ("Sweeps: weft eval"),
docs/training.md ("Evaluation", the LP bound's passage) and the comments of
benchmarks/eval.sh and generalize.sh, without reading cli/cmd_eval.c or
train/ but where a disagreement had to be settled (the group of a file
name: README said nothing of the extension, the code's comment did; now
docs/usage.md and --help say it). Where this script and weft disagree, one of
the two is wrong.

For each seed it makes a set of small `weft gen` workloads (random, alibaba
and wfcommons shapes, several loads, one to five seeds a group, one group
or several, names with and without -s<seed>, with dots, commas, quotes and
blanks), runs `weft eval --csv FILE` on them under a drawn list of policies
(orderings, ORDERING:ALLOCATOR pairs, learned ones, sometimes --lp-bound
and --port-rate), and `weft sim W --policy P ... --out DIR` on every
workload with the same policies, then recomputes from the sim summaries:

  - every CSV row: policy, workload, group, avg_wjct_s (to the bit against
    the summary's avg_weighted_jct_s, and the LP row against lp_bound_s),
    ratio_to_best (over the per-workload best heuristic, to the bit),
    ratio_to_B and B (the heuristic with the lowest mean ratio to the
    per-workload best), in the documented order and quoting;
  - every number of the table: per policy the mean avg weighted JCT and its
    95% Student t half-width, the mean ratio to B and to the best with
    theirs, overall and per group (groups in order of first appearance,
    none when there is only one), "-" for one workload;
  - the sentences under it: each learned policy against B, and the LP
    bound's "no schedule vs B".

Fixed cases (--fixed, the ctest test_eval_check): the default policy list
with the LP row, --policy all, n = 1, 2 and 32 (31 degrees of freedom),
a workload copied under two names (exact ties), one heuristic (B and the
best everywhere), weights scaled to a few units of 5e-324 (the ratios
against the exact sums of w x JCT, as fractions, from the jobs CSVs), a
--plot, --threads 1 against 2 (the same bytes; some seeds too), an
earlier CSV replaced, and the refusals (a workload twice, by name or by
another path, a --csv that is a workload or any file but an earlier CSV,
bad options), each of which must exit non-zero with a message and leave
the --csv untouched. --files W... checks given workloads under the
default list and --lp-bound (benchmarks/eval.sh's, say).

The t quantile is computed in plain Python: for integer degrees of freedom
the two-sided Student t probability P(|T| < t) has a closed form in
theta = atan(t / sqrt(nu)) (Abramowitz and Stegun 26.7.3 and 26.7.4, a
finite series in cos(theta)), increasing in t, so t_{0.975, nu} is found by
bisection to the double's precision.

    python3 scripts/eval_check.py [--seeds 1-20] [--weft PATH] [--fixed] [--keep-going]
                                  [--files W...]

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds; on a
mismatch it prints the case, the field and both values, and exits 1.
"""
import argparse
import csv
from fractions import Fraction
import io
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_POLICIES = ["learned", "fifo", "scf", "ncf", "lcf", "sebf", "aalo", "sincronia",
                    "wcp", "jsebf", "jsebf-cp"]
ORDERINGS = DEFAULT_POLICIES[1:] + ["fair", "srf"]  # `weft sim --help`'s list
ALLOCATORS = ["greedy", "madd", "fair", "srf"]
DEFAULT_RATE = 1.25e8  # 1 Gbit/s in bytes/s

FAILURES = []
KEEP_GOING = False


class Mismatch(Exception):
    pass


def fail(case, what):
    msg = f"MISMATCH [{case}] {what}"
    FAILURES.append(msg)
    print(msg, file=sys.stderr)
    if not KEEP_GOING:
        raise Mismatch(msg)


# ---- Student t, 95% two-sided ------------------------------------------------

def t_two_sided(t, nu):
    """P(|T| < t) for Student's t with nu degrees of freedom (A&S 26.7.3-4)."""
    th = math.atan(t / math.sqrt(nu))
    c2 = math.cos(th) ** 2
    if nu % 2 == 1:
        s, term = 0.0, 1.0
        if nu > 1:
            s = 1.0
            for k in range(1, (nu - 3) // 2 + 1):  # term k: (2k)!!/(2k+1)!! cos^2k
                term *= c2 * (2 * k) / (2 * k + 1)
                s += term
            s *= math.sin(th) * math.cos(th)
        return 2.0 / math.pi * (th + s)
    s, term = 1.0, 1.0
    for k in range(1, (nu - 2) // 2 + 1):  # term k: (2k-1)!!/(2k)!! cos^2k
        term *= c2 * (2 * k - 1) / (2 * k)
        s += term
    return math.sin(th) * s


T95 = {}


def t95(nu):
    if nu not in T95:
        lo, hi = 0.0, 20.0
        for _ in range(200):
            mid = (lo + hi) / 2
            if t_two_sided(mid, nu) < 0.95:
                lo = mid
            else:
                hi = mid
        T95[nu] = (lo + hi) / 2
    return T95[nu]


def mean_half(xs):
    n = len(xs)
    m = math.fsum(xs) / n
    if n < 2:
        return m, None
    ss = math.fsum((x - m) ** 2 for x in xs)
    return m, t95(n - 1) * math.sqrt(ss / (n - 1)) / math.sqrt(n)


# ---- running weft ------------------------------------------------------------

def run(cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if check and p.returncode != 0:
        raise Mismatch(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def group_of(path):
    """docs/usage.md: the file name without its extension (a last dot after the
    last dash, then a letter) and a trailing -s<digits>."""
    b = os.path.basename(path)
    dot, dash = b.rfind("."), b.rfind("-")
    if dot >= 0 and dot > dash and dot + 1 < len(b) and b[dot + 1].isalpha():
        b = b[:dot]
    return re.sub(r"-s[0-9]+$", "", b)


def spec_key(spec):
    """(ordering, allocator or None): ORDERING:ALLOCATOR, or an allocator alone (fifo)."""
    o, _, a = spec.partition(":")
    if not a and o in ("fair", "srf"):
        return o, None
    return o, a or None


def sim_values(weft, tmp, wl, specs, rate, lp, model):
    """avg_weighted_jct_s per spec (and lp_bound_s) from `weft sim --out`."""
    out = os.path.join(tmp, "sim")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [weft, "sim", wl, "--out", out]
    for s in specs:
        cmd += ["--policy", s]
    if rate:
        cmd += ["--port-rate", rate]
    if lp:
        cmd += ["--lp-bound"]
    if model:
        cmd += ["--model", model]
    run(cmd)
    vals, lpv = {}, None
    for s in specs:
        with open(os.path.join(out, s.replace(":", "-") + "-summary.json")) as f:
            j = json.load(f)
        vals[s] = j["avg_weighted_jct_s"]
        lpv = j["lp_bound_s"]
    return vals, lpv


# ---- what weft eval must print -------------------------------------------------

def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def expected(wls, specs, v, lpv):
    """The numbers of the table, the CSV rows and the sentences, recomputed."""
    heur = [s for s in specs if spec_key(s)[0] != "learned"]
    best = {w: min(v[h][w] for h in heur) for w in wls}
    rbest = {s: {w: v[s][w] / best[w] for w in wls} for s in specs}
    means = {h: math.fsum(rbest[h][w] for w in wls) / len(wls) for h in heur}
    low = min(means.values())
    B = next(h for h in heur if means[h] == low)
    near = [h for h in heur if abs(means[h] - low) <= 1e-12 * low]
    rows = list(specs) + (["lp-bound"] if lpv else [])
    vv = dict(v)
    if lpv:
        vv["lp-bound"] = lpv
        rbest["lp-bound"] = {w: lpv[w] / best[w] for w in wls}
    return B, near, best, rows, vv, rbest


def table_expect(wls, rows, vv, rbest, B):
    rB = {s: {w: vv[s][w] / vv[B][w] for w in wls} for s in rows}
    sets = [("all workloads", wls)]
    groups = []
    for w in wls:
        if group_of(w) not in groups:
            groups.append(group_of(w))
    if len(groups) > 1:
        sets += [(g, [w for w in wls if group_of(w) == g]) for g in groups]
    tab = []
    for name, ws in sets:
        cells = {}
        for s in rows:
            cells[s] = (mean_half([vv[s][w] for w in ws]), mean_half([rB[s][w] for w in ws]),
                        mean_half([rbest[s][w] for w in ws]))
        tab.append((name, len(ws), cells))
    return tab, rB


def parse_table(text):
    """{set name: (n, B, {policy: [6 fields]})} and the lines after the tables."""
    sets, order, cur, tail = {}, [], None, []
    for line in text.splitlines():
        m = re.match(r"^(.*) \((\d+) workloads?\); B = (\S+)$", line)
        if m:
            cur = m.group(1)
            order.append(cur)
            sets[cur] = (int(m.group(2)), m.group(3), {})
            continue
        if cur is not None and line.startswith("policy "):
            continue
        f = line.split()
        if cur is not None and len(f) >= 7 and all(re.match(r"^(-|[0-9.]+)$", x) for x in f[-6:]):
            sets[cur][2][" ".join(f[:-6])] = f[-6:]
            continue
        if cur is not None and not line.strip():
            continue
        if cur is not None:
            tail.append(line)
    return order, sets, tail


def close(printed, x, decimals=4):
    return abs(float(printed) - x) <= 0.5 * 10 ** -decimals * (1 + 1e-9) + 1e-9 * abs(x)


def sentence(label, B, n, m, h, lp_best=None):
    d = 100 * (1 - m)
    if lp_best is not None:
        head = f"no schedule vs {B}: at most {d:.1f}% lower on average over {plural(n, 'workload')}"
        ci = (f"(the LP bound's mean ratio {m:.4f} ± {h:.4f}" if h is not None else
              f"(the LP bound's mean ratio {m:.4f}; one workload, so no interval")
        return [f"{head} {ci}; to each workload's best heuristic {lp_best:.4f})"]
    how = []
    for dd in (d, d - 1e-9, d + 1e-9):  # either side of a rounding boundary
        if f"{abs(dd):.1f}" == "0.0":
            how.append("the same within 0.05%")
        else:
            how.append(f"{abs(dd):.1f}% {'lower' if dd > 0 else 'higher'}")
    out = []
    for hw in dict.fromkeys(how):
        ci = (f"(95% CI of the ratio {m:.4f} ± {h:.4f})" if h is not None else
              f"(the ratio {m:.4f}; one workload, so no interval)")
        out.append(f"{label} vs {B}: avg weighted JCT {hw} on average over "
                   f"{plural(n, 'workload')} {ci}")
    return out


def check_eval(case, weft, tmp, wls, specs, lp=False, rate=None, model=None, given=None,
               sim_specs=None, extra=(), one_thread=False):
    """Run weft eval on wls and check everything against weft sim's numbers."""
    csvf = os.path.join(tmp, "eval.csv")
    if os.path.exists(csvf):
        os.remove(csvf)
    cmd = [weft, "eval", "--csv", csvf, "--threads", "2"] + list(wls)
    for s in (given if given is not None else specs):
        cmd += ["--policy", s]
    if lp:
        cmd += ["--lp-bound"]
    if rate:
        cmd += ["--port-rate", rate]
    if model:
        cmd += ["--model", model]
    p = run(cmd + list(extra))
    if one_thread:  # one thread writes the same, to the bit
        with open(csvf, "rb") as f:
            two = f.read()
        p1 = run(cmd + ["--threads", "1"])
        with open(csvf, "rb") as f:
            if f.read() != two or p1.stdout != p.stdout:
                fail(case, "--threads 1 gives another table or CSV than --threads 2")
    v = {s: {} for s in specs}
    lpv = {} if lp else None
    for w in wls:
        vals, lb = sim_values(weft, tmp, w, sim_specs or specs, rate, lp, model)
        for s, s2 in zip(specs, sim_specs or specs):
            v[s][w] = vals[s2]
        if lp:
            lpv[w] = lb
    B, near, best, rows, vv, rbest = expected(wls, specs, v, lpv)
    # the header
    hdr = [ln for ln in p.stdout.splitlines() if " each way" in ln]
    r = float(rate.rstrip("B/s")) if rate else DEFAULT_RATE
    pols = "1 policy" if len(specs) == 1 else f"{len(specs)} policies"
    want = f"{plural(len(wls), 'workload')}, {pols}, ports at {r:g} bytes/s each way"
    if hdr != [want]:
        fail(case, f"header {hdr} != {want!r}")
    order, sets, tail = parse_table(p.stdout)
    pb = sets.get("all workloads", (0, None, {}))[1]
    if pb not in near:
        fail(case, f"B = {pb}, expected {B} (mean ratios to best: lowest {B})")
        return
    B = pb  # a near tie (within 1e-12) may go either way
    tab, rB = table_expect(wls, rows, vv, rbest, B)
    if order != [t[0] for t in tab]:
        fail(case, f"sets {order} != {[t[0] for t in tab]}")
        return
    for name, n, cells in tab:
        pn, pB, pc = sets[name]
        if pn != n or pB != B:
            fail(case, f"set {name}: n {pn} B {pB}, expected {n} {B}")
        if list(pc) != rows:
            fail(case, f"set {name}: rows {list(pc)} != {rows}")
            continue
        for s in rows:
            got = pc[s]
            for k, (m, h) in enumerate(cells[s]):
                dec = 4
                if not close(got[2 * k], m, dec):
                    fail(case, f"{name}/{s} col {2 * k}: {got[2 * k]} vs {m!r}")
                if h is None:
                    if got[2 * k + 1] != "-":
                        fail(case, f"{name}/{s} col {2 * k + 1}: {got[2 * k + 1]} for one workload")
                elif not close(got[2 * k + 1], h, dec):
                    fail(case, f"{name}/{s} col {2 * k + 1}: {got[2 * k + 1]} vs {h!r}")
    # the sentences
    n = len(wls)
    want_lines = []
    for s in specs:
        if spec_key(s)[0] == "learned":
            m, h = mean_half([rB[s][w] for w in wls])
            want_lines.append(sentence(s, B, n, m, h))
    if lp:
        m, h = mean_half([rB["lp-bound"][w] for w in wls])
        mb = math.fsum(rbest["lp-bound"][w] for w in wls) / n
        want_lines.append(sentence(None, B, n, m, h, lp_best=mb))
    if len(tail) != len(want_lines):
        fail(case, f"lines after the tables {tail} != {want_lines}")
    for got, alts in zip(tail, want_lines):
        if got not in alts:
            fail(case, f"sentence {got!r} != {alts[0]!r}")
    # the CSV, field by field
    with open(csvf, newline="") as f:
        raw = f.read()
    lines = list(csv.reader(io.StringIO(raw)))
    if lines[0] != ["policy", "workload", "group", "avg_wjct_s", "ratio_to_B",
                    "ratio_to_best", "B"]:
        fail(case, f"CSV header {lines[0]}")
    want_rows = [(s, w) for s in rows for w in wls]
    if [(r_[0], r_[1]) for r_ in lines[1:]] != want_rows:
        fail(case, f"CSV rows {[(r_[0], r_[1]) for r_ in lines[1:]][:5]}... != {want_rows[:5]}")
        return
    for r_ in lines[1:]:
        s, w = r_[0], r_[1]
        exp = [group_of(w), vv[s][w], rB[s][w], rbest[s][w], B]
        got = [r_[2], float(r_[3]), float(r_[4]), float(r_[5]), r_[6]]
        for name, a, b in zip(["group", "avg_wjct_s", "ratio_to_B", "ratio_to_best", "B"],
                              got, exp):
            if a != b:
                fail(case, f"CSV {s} {w} {name}: {a!r} != {b!r}")
    for ln in raw.splitlines():
        for fld in re.findall(r'"((?:[^"]|"")*)"', ln):
            if "," not in fld and '"' not in fld:
                fail(case, f"CSV quotes a field without a comma or quote: {fld!r}")
    return p


# ---- the sets of workloads -----------------------------------------------------

def gen(weft, path, shape, jobs, ports, load, seed):
    run([weft, "gen", "--shape", shape, "--jobs", str(jobs), "--ports", str(ports),
         "--load", str(load), "--seed", str(seed), "-o", path])


NAMES = ["{shape}-l{load}-s{seed}.weft", "{shape}-l{load}-s{seed}",
         "run.{shape},p{ports}-s{seed}.weft", "{shape} x-s{seed}.wl",
         "q\"{shape}\"-s{seed}.weft", "{shape}.v2-s{seed}.weft.gz"]


def random_case(weft, tmp, seed):
    rng = random.Random(seed)
    d = os.path.join(tmp, f"seed{seed}")
    os.makedirs(d, exist_ok=True)
    wls = []
    ngroups = rng.choice([1, 1, 2, 3])
    for g in range(ngroups):
        shape = rng.choice(["random", "alibaba", "wfcommons"])
        load = rng.choice([0.3, 0.5, 0.9])
        ports = rng.randint(3, 7)
        pattern = rng.choice(NAMES)
        for s in range(rng.choice([1, 2, 2, 3, 5])):
            name = pattern.format(shape=shape, load=load, seed=seed * 10 + s, ports=ports)
            path = os.path.join(d, f"g{g}", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            gen(weft, path, shape, rng.randint(3, 7), ports, load, seed * 10 + s)
            wls.append(path)
    if rng.random() < 0.3:  # one without -s<seed>, a group of its own
        path = os.path.join(d, f"odd{seed}.weft")
        gen(weft, path, "random", 4, 4, 0.7, seed + 7)
        wls.append(path)
    rng.shuffle(wls)
    pool = ORDERINGS + [f"{o}:{a}" for o in ["sebf", "fifo", "sincronia", "jsebf-cp"]
                        for a in ALLOCATORS] + ["learned", "learned:greedy"]
    specs = []
    for s in rng.sample(pool, rng.randint(1, 6)):
        if s.split(":")[0] not in [x.split(":")[0] for x in specs] or ":" in s:
            specs.append(s)
    specs = list(dict.fromkeys(x if x != "sebf:madd" else "sebf" for x in specs))
    if all(spec_key(s)[0] == "learned" for s in specs):
        specs.append("sebf")
    # a spec that means the same as another (sebf and sebf:madd) is refused: leave those out
    seen, uniq = set(), []
    for s in specs:
        o, a = spec_key(s)
        k = (o, a or {"fifo": "greedy", "aalo": "greedy", "sincronia": "greedy", "fair": "fair",
                      "srf": "srf"}.get(o, "madd"))
        if k not in seen:
            seen.add(k)
            uniq.append(s)
    rate = rng.choice([None, None, "2e8B/s"])
    lp = rng.random() < 0.5
    return check_eval(f"seed {seed}", weft, tmp, wls, uniq, lp=lp, rate=rate,
                      one_thread=rng.random() < 0.3)


def check_tiny_weights(weft, tmp, srcs, specs):
    """Weights scaled down to a few units of the least double (5e-324), which the
    format accepts: the averages round to a few units of it, but the ratios must
    be those of the exact sums of w x JCT (from the jobs CSVs, as fractions)."""
    case = "weights near 5e-324"
    wls = []
    for k, src in enumerate(srcs):
        dst = os.path.join(tmp, f"tiny-w{k}.weft")
        with open(src) as f, open(dst, "w") as g:
            for line in f:
                fl = line.split()
                if fl and fl[0] == "job":  # job ID ARRIVAL WEIGHT ...
                    fl[3] = repr(max(float(fl[3]) * 2.0 ** -1071, 5e-324))
                    line = " ".join(fl) + "\n"
                g.write(line)
        wls.append(dst)
    csvf = os.path.join(tmp, "tiny.csv")
    cmd = [weft, "eval", "--csv", csvf] + wls
    for s in specs:
        cmd += ["--policy", s]
    run(cmd)
    exact = {}
    for w in wls:
        out = os.path.join(tmp, "simtiny")
        shutil.rmtree(out, ignore_errors=True)
        run([weft, "sim", w, "--out", out] + [a for s in specs for a in ("--policy", s)])
        for s in specs:
            with open(os.path.join(out, s.replace(":", "-") + "-jobs.csv")) as f:
                exact[s, w] = sum(Fraction(float(r["weight"])) * Fraction(float(r["jct_s"]))
                                  for r in csv.DictReader(f))
    best = {w: min(exact[s, w] for s in specs if spec_key(s)[0] != "learned") for w in wls}
    means = {s: sum(exact[s, w] / best[w] for w in wls) / len(wls) for s in specs
             if spec_key(s)[0] != "learned"}
    B = min(means, key=lambda s: (means[s], specs.index(s)))
    with open(csvf, newline="") as f:
        for r in csv.DictReader(f):
            if r["policy"] not in specs:
                continue
            s, w = r["policy"], r["workload"]
            for field, want in (("ratio_to_B", exact[s, w] / exact[B, w]),
                                ("ratio_to_best", exact[s, w] / best[w])):
                if abs(float(r[field]) - float(want)) > 1e-12 * float(want):
                    fail(case, f"{s} {w} {field} {r[field]}, exactly {float(want)!r}")
            if r["B"] != B:
                fail(case, f"B {r['B']}, exactly {B}")


def refused(case, weft, tmp, args, csvf=None, what=""):
    before = open(csvf, "rb").read() if csvf and os.path.exists(csvf) else None
    p = run([weft, "eval"] + args, check=False)
    if p.returncode == 0:
        fail(case, f"accepted {args}: {what}")
    if not p.stderr.strip():
        fail(case, f"refused {args} without a message")
    if csvf:
        after = open(csvf, "rb").read() if os.path.exists(csvf) else None
        if after != before:
            fail(case, f"{csvf} changed by a refused run")


def fixed_cases(weft, tmp):
    d = os.path.join(tmp, "fixed")
    os.makedirs(d, exist_ok=True)
    wl = []
    for s in (1, 2, 3):
        p = os.path.join(d, f"dag-s{s}.weft")  # random shapes: alibaba's take 0.5 s to make
        gen(weft, p, "random", 6, 5, 0.7, s)
        wl.append(p)
    # the default list, n = 3, with the LP row
    check_eval("default list", weft, tmp, wl, DEFAULT_POLICIES, lp=True, given=[],
               one_thread=True)
    # --policy all: every ordering with its own allocator
    check_eval("all", weft, tmp, wl[:2], ORDERINGS + ["learned"], given=["all"],
               sim_specs=ORDERINGS + ["learned"])
    # n = 1 and n = 2
    check_eval("n=1", weft, tmp, wl[:1], ["learned", "sebf", "fifo"], lp=True)
    plot = os.path.join(d, "bars.svg")
    check_eval("n=2", weft, tmp, wl[1:], ["sincronia", "learned", "wcp"], lp=True,
               extra=["--plot", plot])
    with open(plot) as f:
        svg = f.read()
    if not svg.lstrip().startswith("<?xml") or any(s not in svg for s in ["sincronia", "wcp"]):
        fail("plot", f"{plot} is no SVG naming the policies")
    # a copy under another name: exact ties between workloads, scf and lcf alike
    cp = os.path.join(d, "copy,of-s1.weft")
    shutil.copy(wl[0], cp)
    check_eval("copies", weft, tmp, [wl[0], cp], ["scf", "lcf", "learned", "jsebf-cp"])
    # one heuristic: it is B and the best everywhere
    check_eval("one heuristic", weft, tmp, wl, ["learned", "fifo"])
    # many workloads (the t quantile for 31 degrees of freedom, past the 30 of a
    # table): two jobs on one link each, written here, weft gen taking 0.2 s each
    many, rng = [], random.Random(41)
    for s in range(1, 33):
        p = os.path.join(d, f"tiny-s{s}.weft")
        with open(p, "w") as f:
            f.write("weft-workload 1\nports 2\n")
            for j in range(2):
                f.write(f"job {j} {rng.randint(0, 3)} {rng.randint(1, 9)} 0 1\n"
                        f"coflow 0 0 1 -\n0 1 {rng.randint(1, 1000) * 1000000}\n")
            f.write("end 2\n")
        many.append(p)
    check_eval("n=32", weft, tmp, many, ["sebf", "fifo"])
    check_tiny_weights(weft, tmp, wl, ["fifo", "scf", "sebf", "learned"])
    # refusals
    csvf = os.path.join(d, "res.csv")
    run([weft, "eval", "--policy", "fifo", "--csv", csvf, wl[0]])  # an earlier CSV
    base = ["--policy", "fifo", "--csv", csvf]
    refused("twice", weft, tmp, base + [wl[0], wl[1], wl[0]], csvf, "a workload twice")
    refused("twice ./", weft, tmp, base + [wl[0], os.path.join(d, ".", os.path.basename(wl[0]))],
            csvf, "a workload twice by another path")
    refused("csv is a workload", weft, tmp, ["--policy", "fifo", "--csv", wl[2], wl[0]], wl[2])
    other = os.path.join(d, "notes.txt")
    with open(other, "w") as f:
        f.write("my notes, not results\n")
    refused("csv is another file", weft, tmp, ["--policy", "fifo", "--csv", other, wl[0]], other)
    for bad in (["--threads", "0"], ["--threads", "x"], ["--policy", "nope"],
                ["--policy", "sebf:nope"], ["--port-rate", "0"], ["--port-rate", "fast"],
                ["--bogus"], ["--policy", "learned"], ["--policy", "sebf", "--policy", "sebf"],
                ["--model", os.path.join(d, "missing.msgpack")]):
        refused(f"bad {bad}", weft, tmp, bad + ["--csv", csvf, wl[0]], csvf)
    refused("no workload", weft, tmp, ["--policy", "fifo"])
    # an earlier CSV of results is replaced
    check_eval("csv replaced", weft, tmp, wl[:2], ["fifo", "sebf"])
    p = run([weft, "eval", "--policy", "fifo", "--csv", csvf, wl[1]])
    with open(csvf) as f:
        rows = list(csv.reader(f))
    if len(rows) != 2 or rows[1][1] != wl[1]:
        fail("csv replaced", f"earlier CSV not replaced: {rows}")


def main():
    global KEEP_GOING
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN", "build/weft"))
    ap.add_argument("--seeds", help="A-B or N (default 1-6, none with --fixed or --files)")
    ap.add_argument("--fixed", action="store_true", help="the fixed cases too")
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("--files", nargs="+", default=[],
                    help="workloads to check under the default policies and --lp-bound too")
    a = ap.parse_args()
    KEEP_GOING = a.keep_going
    if a.seeds is None:
        a.seeds = "" if a.fixed or a.files else "1-6"
    lo, _, hi = a.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1) if a.seeds else []
    tmp = tempfile.mkdtemp(prefix="eval_check.")
    try:
        if a.files:
            check_eval("files", a.weft, tmp, a.files, DEFAULT_POLICIES, lp=True, given=[])
        if a.fixed:
            fixed_cases(a.weft, tmp)
        for s in seeds:
            random_case(a.weft, tmp, s)
    except Mismatch as e:
        if str(e) not in FAILURES:
            FAILURES.append(str(e))
            print(e, file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print(f"eval_check: {len(FAILURES)} mismatches", file=sys.stderr)
        return 1
    what = [f"seeds {a.seeds}"] if a.seeds else []
    what += ["the fixed cases"] if a.fixed else []
    what += [f"{len(a.files)} files"] if a.files else []
    print(f"eval_check: {' and '.join(what)}: all agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
