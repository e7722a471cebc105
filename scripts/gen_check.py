#!/usr/bin/env python3
"""gen_check.py - a second reader of `weft gen` and `weft inspect`, from their documents alone.

Written from README.md ("A short tour") and docs/usage.md, `weft gen
--help`, `weft inspect --help`, the reference design's section 5 (docs/design.md),
docs/workload-format.md and data/README.md, without reading workload/ or
cli/, as scripts/format_check.py is written from the format document (whose
readers of the four formats this script borrows): where this script and weft
disagree, one of the two is wrong.

`weft inspect`: every number and histogram it prints is recomputed from the
file (this script's own reading of it) for the bundled data, in each format
`--format` accepts, at several --port-rate, and for every workload `weft gen`
makes here; `weft gen -o FILE`'s summary must be `weft inspect FILE`'s.

`weft gen`, on random options (shape, jobs, ports, load, rate, weights,
compute times, a coflow size cap, another pool) a seed:

  - every coflow's flows are one pool coflow's (the FB trace's by default),
    FB port p moved to floor(p * N / P) on N ports, on fewer ports than the
    pool's the flows folded onto one pair merged (`weft gen --help` said so
    only of the fold, not that two flows on one pair of a --fb workload stay
    two on as many ports or more); under --max-coflow-bytes B a pool coflow
    of at most B bytes;
  - each job's DAG (coflow ids and parents) is an Alibaba job's (its
    independent tasks left out) or a WfCommons workflow's stage graph, with
    the shape's compute times unless --no-shape-compute or --compute-mean;
    a random one has at most D waves and D x W coflows;
  - the offered load, bytes / (span x ports x rate), is the target exactly
    (to 1e-9) by default;
  - weights within [min, max], integers for uniform, 1 for `one`;
  - the same options and seed give the same bytes, another seed another file.

The distributions are tested on what all the seeds drew together, each
statistic against the distribution the documents name: the pool coflow
(uniform over the pool), the Alibaba and WfCommons shape (uniform over the
jobs / workflows: chi-square on DAG depth and on the workflow), the random
shapes' mean size ((D+1)/2 x (W+1)/2), uniform and Pareto weights, compute
times exponential of the given mean, the gaps between arrivals exponential
(KS on the gaps over their mean), and under --free-span the load: with the
gaps drawn at the rate that gives the target load on average over a span,
(n - 1) x L / load is Gamma(n - 1, 1). Every p-value is held to a family-wise
false-alarm rate of 1e-3 (Bonferroni: each test at 1e-3 / the number of
tests), so a correct weft fails a run about once in a thousand.

Fixed cases come with them: bad options refused with status 2 and a message
naming the option, limits (the memory guard, a load that would push an
arrival past 1e9 s, a size cap nothing meets), standard output and -o -,
the default options spelled out, --shapes and --fb files.

    python3 scripts/gen_check.py [--seeds 1-40] [--weft PATH] [-j 2] [--data] [--keep-going]
                               [--fixed all|refusals|none] [-v]

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds; on a
mismatch it prints the seed, the options and what differs, and exits 1 (2
if it cannot run at all).
"""
import collections
import glob
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import format_check as fc  # noqa: E402  (its readers of the four formats)

FB = "data/FB2010-1Hr-150-0.txt"
ALI = "data/alibaba/sample_tasks.csv"
WF = sorted(glob.glob("data/wfcommons/*.json"))
ALPHA = 1e-3  # family-wise false-alarm rate of the statistical tests
CAP = 17  # inspect's histograms: rows 1..16, then "17+"


class Mismatch(Exception):
    """weft and the documents disagree."""


# --------------------------------------------------------------------------
# Distributions (plain Python: no scipy in `make test`).

def gamma_p(a, x):
    """The regularized lower incomplete gamma P(a, x)."""
    if x <= 0:
        return 0.0
    lg = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # the series
        term = total = 1.0 / a
        k = a
        while abs(term) > 1e-16 * abs(total):
            k += 1
            term *= x / k
            total += term
        return min(1.0, math.exp(lg) * total)
    # Lentz's continued fraction for Q
    b = x + 1 - a
    c = 1e300
    d = 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(lg) * h)


def chi2_p(counts, probs):
    """p-value of Pearson's chi-square, bins of small expectation pooled."""
    n = sum(counts)
    bins, acc_c, acc_p = [], 0, 0.0
    for c, p in sorted(zip(counts, probs), key=lambda t: t[1]):
        acc_c += c
        acc_p += p
        if acc_p * n >= 5:
            bins.append((acc_c, acc_p))
            acc_c, acc_p = 0, 0.0
    if acc_p > 0 and bins:
        c, p = bins.pop()
        bins.append((c + acc_c, p + acc_p))
    if len(bins) < 2:
        return 1.0
    stat = sum((c - n * p) ** 2 / (n * p) for c, p in bins)
    return 1.0 - gamma_p((len(bins) - 1) / 2, stat / 2)


def ks_p(xs, cdf):
    """p-value of Kolmogorov-Smirnov against a continuous cdf (asymptotic form)."""
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return 1.0
    d = max(max((i + 1) / n - cdf(x), cdf(x) - i / n) for i, x in enumerate(xs))
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    if lam < 0.2:
        return 1.0
    return max(0.0, min(1.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam)
                                     for k in range(1, 101))))


def z_p(z):
    """Two-sided p-value of a standard normal z."""
    return math.erfc(abs(z) / math.sqrt(2))


class Tally:
    """What all the seeds drew, for the statistical tests at the end."""

    def __init__(self):
        self.lock = threading.Lock()
        self.d = {}

    def add(self, key, values):
        with self.lock:
            self.d.setdefault(key, []).extend(values)


# --------------------------------------------------------------------------
# Running weft.

def run(weft, args, stdin=None):
    return subprocess.run([weft] + args, capture_output=True, text=True, timeout=600,
                          input=stdin)


def read_file(path):
    with open(path) as f:
        return fc.read_weft(f.read())


# --------------------------------------------------------------------------
# `weft inspect`: the numbers and histograms from a reading (ports, [job]).

def waves(c_list):
    """{coflow id: wave}: roots 1, else 1 + the latest parent's wave."""
    par = {c["id"]: c["parents"] for c in c_list}
    w = {}

    def wave(i):
        if i not in w:
            w[i] = 1 + max((wave(p) for p in par[i]), default=0)
        return w[i]
    for i in par:
        wave(i)
    return w


def depth_width(c_list):
    w = waves(c_list)
    per = {}
    for v in w.values():
        per[v] = per.get(v, 0) + 1
    return max(per), max(per.values())


def hist_rows(values):
    """The rows inspect prints for values >= 1: [(label, count)], rows 1..16
    and 17+ up to the largest value, runs of empty rows as one 'a-b'."""
    top = max(values)
    counts = [0] * (min(top, CAP) + 1)
    for v in values:
        counts[min(v, CAP)] += 1
    rows, i = [], 1
    while i < len(counts):
        if counts[i] == 0:
            j = i
            while j + 1 < len(counts) and counts[j + 1] == 0:
                j += 1
            rows.append((str(i) if i == j else f"{i}-{j}", 0))
            i = j + 1
        else:
            rows.append((f"{CAP}+" if i == CAP else str(i), counts[i]))
            i += 1
    return rows


HUMAN = {"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
         "EB": 1e18}


def near_shown(shown, exact, what):
    """`shown` (a printed decimal) is `exact` rounded to its own digits."""
    mant, _, exp = shown.partition("e")
    digits = len(mant.split(".")[1]) if "." in mant else 0
    unit = 10.0 ** ((int(exp) if exp else 0) - digits)
    if abs(float(shown) - exact) > 0.5 * unit * (1 + 1e-9) + 1e-12 * abs(exact):
        raise Mismatch(f"{what}: printed {shown}, the file gives {exact!r}")


def check_inspect(out, ports, jobs, rate, what):
    """inspect's stdout `out` against this reading of the workload."""
    lines = out.rstrip("\n").split("\n")
    kv, hists, cur = {}, {}, None
    for ln in lines[1:]:
        if not ln.strip():
            cur = None
            continue
        m = re.match(r"^  (depth|width)  \(", ln)
        if m:
            cur = hists.setdefault(m.group(1), [])
            continue
        if cur is not None:
            m = re.match(r"^ +(\d+|\d+-\d+|\d+\+) (#*) +(\d+) +([\d.]+)%$", ln)
            if not m:
                raise Mismatch(f"{what}: a histogram row not understood: {ln!r}")
            cur.append((m.group(1), len(m.group(2)), int(m.group(3)), m.group(4)))
            continue
        f = re.split(r"\s{2,}", ln.strip())
        kv[f[0]] = f[1:]
    cfs = [c for j in jobs for c in j["coflows"]]
    flows = [fl for c in cfs for fl in c["flows"]]
    total = math.fsum(b for _, _, b in flows)
    arr = [j["arrival"] for j in jobs]
    span = max(arr) - min(arr)
    dw = [depth_width(j["coflows"]) for j in jobs]

    def num(s):
        return int(s.replace(",", ""))

    def want(key, ok):
        if key not in kv:
            raise Mismatch(f"{what}: no line '{key}' in {out!r}")
        if not ok(kv[key]):
            raise Mismatch(f"{what}: line '{key}': {kv[key]}")
    want("jobs", lambda v: num(v[0]) == len(jobs))
    want("coflows", lambda v: num(v[0]) == len(cfs)
         and v[1] == f"{len(cfs) / len(jobs):.2f} per job")
    want("flows", lambda v: num(v[0]) == len(flows)
         and v[1] == f"{len(flows) / len(cfs):.1f} per coflow")
    want("DAG edges", lambda v: num(v[0]) == sum(len(c["parents"]) for c in cfs))
    used = {p for s, d, _ in flows for p in (s, d)}
    want("ports used", lambda v: num(v[0]) == len(used) and v[1] == f"of {ports} in the fabric")
    v = kv.get("bytes", [])
    m = re.fullmatch(r"([\d.]+) (\w+)", v[0]) if v else None
    # weft may add the flows in another order: n doubles summed in any order
    # are within (n - 1) * 2^-53 of the exact sum, relatively
    whole = v[1].replace(",", "").split(" ")[0] if len(v) > 1 else ""
    if not m or m.group(2) not in HUMAN or not whole.isdigit() or \
            abs(int(whole) - total) > 0.5 + (len(flows) + 4) * 2.0 ** -52 * total:
        raise Mismatch(f"{what}: bytes {v}, the file gives {total!r}")
    near_shown(m.group(1), total / HUMAN[m.group(2)], f"{what}: bytes")
    if not 1 <= float(m.group(1)) < 1000 and total >= 1:
        raise Mismatch(f"{what}: bytes shown as {v[0]}")
    for key, x in (("first arrival", min(arr)), ("last arrival", max(arr))):
        t = kv.get(key, ["?"])[0]
        if not t.endswith(" s") or abs(float(t[:-2]) - x) > 5e-6 * max(abs(x), 1e-300):
            raise Mismatch(f"{what}: {key} {t}, the file gives {x!r}")
    sp = kv["last arrival"][1]
    if not sp.startswith("span ") or abs(float(sp[5:-2]) - span) > 5e-6 * max(span, 1e-300):
        raise Mismatch(f"{what}: {sp}, the file gives {span!r}")
    load = kv["offered load"]
    if span == 0:
        if load != ["-", "every job arrives at once"]:
            raise Mismatch(f"{what}: offered load {load} for a span of 0")
    else:
        near_shown(load[0], total / (span * ports * rate), f"{what}: offered load")
        if f"x {ports} ports x" not in load[1]:
            raise Mismatch(f"{what}: offered load's legend {load[1]}")
    near_shown(kv["mean weight"][0], math.fsum(j["weight"] for j in jobs) / len(jobs),
               f"{what}: mean weight")
    want("max depth", lambda v: num(v[0]) == max(d for d, _ in dw) and v[1] == "waves")
    want("max width", lambda v: num(v[0]) == max(w for _, w in dw))
    for name, vals in (("depth", [d for d, _ in dw]), ("width", [w for _, w in dw])):
        rows = hist_rows(vals)
        got = hists.get(name)
        top = max(c for _, c in rows)
        exp = [(lab, math.ceil(40 * c / top), c, f"{100 * c / len(jobs):.1f}")
               for lab, c in rows]
        if got != exp:
            raise Mismatch(f"{what}: the {name} histogram\n  printed {got}\n  wanted  {exp}")


def inspect_case(weft, path, ports, jobs, args=(), rate=125e6, what=None):
    p = run(weft, ["inspect", path] + list(args))
    if p.returncode != 0:
        raise Mismatch(f"weft inspect {path} {args}: status {p.returncode}: {p.stderr}")
    if p.stdout.split("\n")[0] != path:
        raise Mismatch(f"weft inspect {path}: first line {p.stdout.split(chr(10))[0]!r}")
    check_inspect(p.stdout, ports, jobs, rate, what or f"inspect {path} {args}")
    return p.stdout


RATES = [("1Gbps", 125e6), ("10Gbps", 1.25e9), ("125000000", 125e6), ("1Kibps", 128.0),
         ("100MB/s", 1e8), ("3MiB/s", 3 * 1048576.0), ("2.5Tbps", 2.5e12 / 8),
         ("40Mbps", 5e6)]


def data_check(weft, tmp, tally):
    """inspect on the bundled data, every format's reader, by name, by --format
    and from standard input."""
    n = 0
    with open(FB) as f:
        fb = fc.fb_read(f.read())
    with open(ALI) as f:
        rows = [line.split(",") for line in f.read().splitlines()]
    readings = [(FB, "fb", fb), (ALI, "alibaba", (fc.ALI_PORTS, fc.alibaba_read(rows, False)[0]))]
    for path in WF:
        with open(path) as f:
            readings.append((path, "wfcommons", fc.wf_read(json.load(f), 16, 1)))
    for path, fmt, (ports, jobs) in readings:
        for i, (arg, rate) in enumerate(RATES[:3] if path in (FB, ALI) else RATES[:1]):
            inspect_case(weft, path, ports, jobs, ["--port-rate", arg], rate)
            n += 1
        inspect_case(weft, path, ports, jobs, ["--format", fmt])
        w = os.path.join(tmp, "data.weft")
        c = run(weft, ["convert", path, "-o", w])
        if c.returncode != 0:
            raise Mismatch(f"weft convert {path}: {c.stderr}")
        inspect_case(weft, w, ports, jobs, ["--format", "weft"])
        n += 2
    with open(FB) as f:
        p = run(weft, ["inspect", "-", "--format", "fb"], f.read())
    check_inspect(p.stdout, fb[0], fb[1], 125e6, "inspect - < the FB trace")
    if p.stdout.split("\n")[0] != "<stdin>" and p.stdout.split("\n")[0] != "-":
        raise Mismatch(f"inspect -: first line {p.stdout.split(chr(10))[0]!r}")
    # the counts data/README.md and docs/workload-format.md give
    flows = [fl for j in fb[1] for fl in j["coflows"][0]["flows"]]
    if (fb[0], len(fb[1]), len(flows)) != (150, 526, 706397) or \
            not 3629 <= max(j["arrival"] for j in fb[1]) < 3630:
        raise Mismatch("the FB trace is not what data/README.md says")
    if len(rows) != 67634 or len({r[1] for r in rows}) != 16749:
        raise Mismatch("the Alibaba sample is not what data/README.md says")
    return n + 1


def inspect_files(weft, tmp, rng, models, what):
    """inspect on files of the given readings, at a random --port-rate."""
    for i, (ports, jobs) in enumerate(models):
        path = os.path.join(tmp, f"i{i}.weft")
        with open(path, "w") as f:
            f.write("\n".join(fc.write_weft(rng, ports, jobs)) + "\n")
        arg, rate = rng.choice(RATES)
        inspect_case(weft, path, ports, jobs, ["--port-rate", arg], rate, f"{what} {i}")
    return len(models)


def edge_models():
    """Workloads at inspect's edges: units' boundaries, bytes below 1, tiny and
    huge spans, weights far apart, histograms past 16 waves and coflows."""
    def one(jobs, ports=4):
        return ports, [fc.job(i, a, w, 0.0, [fc.coflow(1, 0.0, [], [(0, 1, b)])])
                       for i, (a, w, b) in enumerate(jobs)]
    out = [one([(0.0, 1.0, 999499999.0), (1.0, 1.0, 1.0)]),
           one([(0.0, 1.0, 999.6), (0.0, 1.0, 0.2)]),
           one([(0.0, 1.0, 0.4), (1e-300, 1.0, 1e-200)]),
           one([(0.0, 1e15, 2.0 ** 60), (1e9, 1e-3, 2.0 ** 60)]),
           one([(5.0, 2.5, 999999.0), (5.0, 1.0, 1.0)]),
           one([(0.0, 1.0, 123456789012.0), (3600.0, 3.0, 1e15)], 1 << 20)]
    jobs = []
    for n in (1, 5, 16, 17, 20, 40):  # chains of n waves, then n parallel roots
        chain = [fc.coflow(i, 0.0, [i - 1] if i else [], [(0, 1, 1.0)]) for i in range(n)]
        roots = [fc.coflow(i, 0.0, [], [(i % 4, 0, 1.0)]) for i in range(n)]
        jobs += [fc.job(2 * n, float(n), 1.0, 0.0, chain),
                 fc.job(2 * n + 1, float(n), 1.0, 0.0, roots)]
    out.append((4, jobs))
    return out


# --------------------------------------------------------------------------
# The pools and shapes `weft gen` draws from, as this script reads them.

class Pools:
    def __init__(self):
        self.lock = threading.Lock()
        self.fold_cache = {}
        with open(FB) as f:
            self.fb = fc.fb_read(f.read())
        self._ali = None
        self.wf = []
        for path in WF:
            with open(path) as f:
                self.wf.append(fc.wf_read(json.load(f), 16, 1)[1][0])
        self.wf_index = self.index(self.wf)

    def alibaba(self):
        """The Alibaba sample's jobs (independent tasks left out) and their index,
        read on first use (1.5 s)."""
        with self.lock:
            if self._ali is None:
                with open(ALI) as f:
                    rows = [line.split(",") for line in f.read().splitlines()]
                jobs = fc.alibaba_read(rows, True)[0]
                self._ali = (jobs, self.index(jobs))
            return self._ali

    @staticmethod
    def shape_key(job):
        return tuple(sorted((c["id"], tuple(sorted(c["parents"]))) for c in job["coflows"]))

    def index(self, jobs):
        out = {}
        for i, j in enumerate(jobs):
            out.setdefault(self.shape_key(j), []).append(i)
        return out

    def folded(self, pool_key, pool, n_ports):
        """{sorted pairs: [(index, bytes by pair)]} of the pool's coflows on n_ports."""
        with self.lock:
            if (pool_key, n_ports) in self.fold_cache:
                return self.fold_cache[(pool_key, n_ports)]
        p_ports, jobs = pool
        out, sizes = {}, []
        for c in (c for j in jobs for c in j["coflows"]):
            moved = [(s * n_ports // p_ports, d * n_ports // p_ports, b)
                     for s, d, b in c["flows"]]
            flows = sorted(moved) if n_ports >= p_ports else merge(moved)
            out.setdefault(tuple((s, d) for s, d, _ in flows), []).append(
                (len(sizes), [b for _, _, b in flows]))
            sizes.append(math.fsum(b for _, _, b in c["flows"]))
        with self.lock:
            self.fold_cache[(pool_key, n_ports)] = (out, sizes)
        return out, sizes


def merge(flows):
    """Flows on one pair merged: sorted [(src, dst, bytes)]."""
    merged = {}
    for s, d, b in flows:
        merged[(s, d)] = merged.get((s, d), 0.0) + b
    return sorted((s, d, b) for (s, d), b in merged.items())


def match_coflow(c, folded, fold):
    """The pool coflows whose flows, moved onto the fabric, are c's. Folded
    onto fewer ports (`fold`), the flows on one pair are merged (their bytes
    added in any order: to 1e-12 relatively); on as many or more, the pool's
    flows are kept as they are, two on one pair included."""
    flows = sorted(c["flows"])
    pairs = tuple((s, d) for s, d, _ in flows)
    if fold and len(set(pairs)) < len(pairs):
        raise Mismatch(f"coflow {c['id']} has two flows on one pair: folded flows not merged")
    got = [b for _, _, b in flows]
    return [i for i, want in folded.get(pairs, [])
            if all(abs(a - b) <= 1e-12 * b for a, b in zip(got, want))]


# --------------------------------------------------------------------------
# One seed: random options, the file weft makes, every promise checked.

def draw_options(rng):
    o = {"shape": rng.choice(["random", "random", "alibaba", "wfcommons"]),
         "jobs": rng.choice([1, 2, 3, rng.randint(4, 30), rng.randint(30, 80)]),
         "ports": rng.choice([150, 150, 1, 2, 7, 32, 149, 151, 300]),
         "load": rng.choice([0.7, 0.1, 1.0, 5.0, round(rng.uniform(0.05, 3), 3)]),
         "rate": rng.choice(RATES),
         "seed": rng.randint(0, 2 ** 64 - 1) if rng.random() < 0.2 else rng.randint(0, 10 ** 6),
         "weights": rng.choice(["uniform", "uniform", "one", "pareto"]),
         "wmin": 1, "wmax": 5, "depth": 5, "width": 4, "compute": 0.0,
         "no_shape_compute": rng.random() < 0.2, "cap": 0, "free": rng.random() < 0.25}
    if o["shape"] == "random" and rng.random() < 0.6:
        o["depth"], o["width"] = rng.randint(1, 8), rng.randint(1, 6)
    if rng.random() < 0.4:
        o["wmin"] = rng.choice([1, 2, 0.5, 3])
        o["wmax"] = o["wmin"] + rng.choice([0, 1, 4, 9])
        if o["weights"] == "uniform":
            o["wmin"] = int(math.ceil(o["wmin"]))
            o["wmax"] = max(o["wmin"], int(o["wmax"]))
    if rng.random() < 0.3:
        o["compute"] = rng.choice([0.5, 3.0, 100.0])
    if rng.random() < 0.2:
        o["cap"] = rng.choice([2 ** 20, 10 ** 8, 10 ** 10])
    return o


def gen_args(o):
    a = ["gen", "--shape", o["shape"], "--jobs", str(o["jobs"]), "--ports", str(o["ports"]),
         "--load", str(o["load"]), "--port-rate", o["rate"][0], "--seed", str(o["seed"]),
         "--weights", o["weights"], "--weight-min", str(o["wmin"]),
         "--weight-max", str(o["wmax"]), "--max-depth", str(o["depth"]),
         "--max-width", str(o["width"]), "--compute-mean", str(o["compute"]),
         "--max-coflow-bytes", str(o["cap"])]
    if o["no_shape_compute"]:
        a.append("--no-shape-compute")
    if o["free"]:
        a.append("--free-span")
    return a


def check_gen(weft, tmp, pools, tally, o, pool=None):
    """Runs weft gen with options o, checks the file; returns its reading."""
    path = os.path.join(tmp, "g.weft")
    args = gen_args(o) + (["--fb", pool[0]] if pool else [])
    p = run(weft, args + ["-o", path])
    m = re.search(r"the arrival time of job (\d+) is ([\d.e+]+) s, beyond the 1e\+09 s", p.stderr)
    if p.returncode == 1 and m and int(m.group(1)) < o["jobs"] and float(m.group(2)) > 1e9 \
            and not os.path.exists(path):
        return None  # the documented refusal (slow ports, a low load)
    if p.returncode != 0:
        raise Mismatch(f"weft {' '.join(args)}: status {p.returncode}: {p.stderr}")
    ports, jobs = read_file(path)
    what = f"weft {' '.join(args)}"
    if ports != o["ports"] or len(jobs) != o["jobs"]:
        raise Mismatch(f"{what}: {len(jobs)} jobs on {ports} ports")
    # the summary on stderr is inspect's, and inspect's numbers are the file's
    summary = p.stderr.split("\n", 1)
    shown = inspect_case(weft, path, ports, jobs, ["--port-rate", o["rate"][0]], o["rate"][1],
                         what + " | inspect")
    if summary[0] != f"weft gen: wrote {path}" or summary[1] != shown.split("\n", 1)[1]:
        raise Mismatch(f"{what}: the summary on stderr is not inspect's:\n{p.stderr}")
    if o["rate"][1] == 125e6 and shown != run(weft, ["inspect", path]).stdout:
        raise Mismatch(f"{what}: inspect at 1Gbps and by default differ")
    # arrivals: sorted, the load exact (or a Poisson draw), gaps exponential
    arr = [j["arrival"] for j in jobs]
    if arr != sorted(arr):
        raise Mismatch(f"{what}: jobs not in arrival order")
    total = math.fsum(b for j in jobs for c in j["coflows"] for _, _, b in c["flows"])
    span = arr[-1] - arr[0]
    if len(jobs) >= 2:
        load = total / (span * ports * o["rate"][1])
        if not o["free"] and abs(load / o["load"] - 1) > 1e-9:
            raise Mismatch(f"{what}: offered load {load!r}, target {o['load']}")
        if o["free"]:
            k = len(jobs) - 1
            tally.add("free_span", [(k, k * o["load"] / load)])
        gaps = [b - a for a, b in zip(arr, arr[1:])]
        mean = sum(gaps) / len(gaps)
        if len(gaps) >= 5 and mean > 0:
            tally.add("gaps", [g / mean for g in gaps])
    # weights
    ws = [j["weight"] for j in jobs]
    if o["weights"] == "one":
        if set(ws) != {1.0}:
            raise Mismatch(f"{what}: weights {sorted(set(ws))} under 'one'")
    elif any(not o["wmin"] <= w <= o["wmax"] for w in ws):
        raise Mismatch(f"{what}: a weight outside [{o['wmin']}, {o['wmax']}]: {ws}")
    elif o["weights"] == "uniform":
        if any(w != int(w) for w in ws):
            raise Mismatch(f"{what}: a uniform weight not an integer: {ws}")
        tally.add(("uniform", o["wmin"], o["wmax"]), [int(w) for w in ws])
    else:
        tally.add(("pareto", o["wmin"], o["wmax"]), ws)
    # the pool: every coflow one of its coflows, folded onto the fabric
    pkey, pread = (pool[0], pool[1]) if pool else ("fb", pools.fb)
    folded, sizes = pools.folded(pkey, pread, ports)
    drawn = []
    for j in jobs:
        for c in j["coflows"]:
            cand = match_coflow(c, folded, ports < pread[0])
            if o["cap"]:
                cand = [i for i in cand if sizes[i] <= o["cap"]]
            if not cand:
                raise Mismatch(f"{what}: job {j['id']} coflow {c['id']} ({len(c['flows'])} "
                               f"flows) is no coflow of the pool"
                               + (f" of at most {o['cap']} bytes" if o["cap"] else ""))
            drawn.append(min(cand))
    if not pool:
        tally.add(("pool", ports, o["cap"]), drawn)
    # shapes and compute times
    computes = []
    for j in jobs:
        cfs = j["coflows"]
        if o["compute"] > 0:
            computes += [c["compute"] for c in cfs] + [j["final"]]
        if o["shape"] == "random":
            d, w = depth_width(cfs)
            if d > o["depth"] or len(cfs) > o["depth"] * o["width"]:
                raise Mismatch(f"{what}: job {j['id']}: {d} waves, {len(cfs)} coflows, "
                               f"over --max-depth {o['depth']} x --max-width {o['width']}")
            if o["compute"] == 0 and (any(c["compute"] for c in cfs) or j["final"]):
                raise Mismatch(f"{what}: job {j['id']}: compute times without --compute-mean")
            tally.add(("random", o["depth"], o["width"]), [len(cfs)])
            continue
        shapes, index = pools.alibaba() if o["shape"] == "alibaba" \
            else (pools.wf, pools.wf_index)
        cand = index.get(Pools.shape_key(j), [])
        if not cand:
            raise Mismatch(f"{what}: job {j['id']}'s DAG is no {o['shape']} shape")
        if o["compute"] == 0:
            own = not o["no_shape_compute"]

            def times(s):
                return (sorted((c["id"], c["compute"] if own else 0.0) for c in s["coflows"]),
                        s["final"] if own else 0.0)
            got = (sorted((c["id"], c["compute"]) for c in cfs), j["final"])
            if all(times(shapes[i]) != got for i in cand):
                raise Mismatch(f"{what}: job {j['id']}'s compute times are not its shape's"
                               + ("" if own else " (0 under --no-shape-compute)"))
        if o["shape"] == "alibaba":
            tally.add("ali_depth", [depth_width(cfs)[0]])
        else:
            tally.add("wf", [cand[0]])
    if computes:
        tally.add(("compute", o["compute"]), computes)
    return path


def one_seed(weft, tmp, pools, tally, seed):
    rng = random.Random(seed)
    o = draw_options(rng)
    path = check_gen(weft, tmp, pools, tally, o)
    if path is None:
        return 1
    with open(path, "rb") as f:
        first = f.read()
    again = run(weft, gen_args(o) + ["-o", "-"])
    if again.stdout.encode() != first or again.stderr:
        raise Mismatch(f"weft {' '.join(gen_args(o))}: -o - differs from -o FILE, or a "
                       f"summary on stderr: {again.stderr!r}")
    inspect_files(weft, tmp, rng, [fc.gen_weft_model(rng) for _ in range(2)],
                  f"seed {seed}: inspect on a random file")
    other = dict(o, seed=o["seed"] + 1)
    if run(weft, gen_args(other)).stdout.encode() == first:
        raise Mismatch(f"weft {' '.join(gen_args(o))}: seed {o['seed'] + 1} gives the same file")
    return 5


# --------------------------------------------------------------------------
# Fixed cases: options spelled out, files of shapes and pools, refusals.

BAD = [(["--jobs", "0"], "--jobs"), (["--jobs", "1000001"], "--jobs"),
       (["--jobs", "x"], "--jobs"), (["--ports", "0"], "--ports"),
       (["--ports", "1048577"], "--ports"), (["--load", "0"], "--load"),
       (["--load", "-1"], "--load"), (["--load", "nan"], "--load"), (["--load", "inf"], "--load"),
       (["--max-depth", "0"], "--max-depth"), (["--max-depth", "10001"], "--max-depth"),
       (["--max-width", "0"], "--max-width"), (["--max-width", "10001"], "--max-width"),
       (["--weights", "zipf"], "--weights"), (["--weight-min", "0"], "--weight-min"),
       (["--weight-max", "-2"], "--weight-max"), (["--weight-min", "6"], "--weight-min"),
       (["--port-rate", "fast"], "--port-rate"), (["--port-rate", "0"], "--port-rate"),
       (["--compute-mean", "-1"], "--compute-mean"),
       (["--max-coflow-bytes", "-5"], "--max-coflow-bytes"), (["--shape", "tree"], "--shape"),
       (["--seed", "-1"], "--seed"), (["--seed", "1.5"], "--seed"), (["--frobnicate"], "--frob"),
       (["--jobs"], "--jobs")]


def memory_jobs(factor):
    """--jobs of random 5 x 4 shapes on the FB trace expected to hold `factor`
    times a 128th of this machine's memory in flows."""
    with open("/proc/meminfo") as f:
        kib = int(next(x for x in f if x.startswith("MemTotal:")).split()[1])
    per_job = 3 * 2.5 * 706397 / 526  # (D+1)/2 x (W+1)/2 coflows of the trace's mean width
    return min(10 ** 6, math.ceil(factor * kib * 1024 / 128 / per_job))


def fixed_refusals(weft, tmp, pools, tally):
    n = inspect_files(weft, tmp, random.Random(1), edge_models(), "inspect at an edge")
    for args, name in BAD:
        p = run(weft, ["gen"] + args + ["-o", os.path.join(tmp, "bad.weft")])
        if p.returncode != 2 or name not in p.stderr or p.stdout:
            raise Mismatch(f"weft gen {' '.join(args)}: status {p.returncode}, {p.stderr!r} "
                           f"(wanted status 2 naming {name})")
        if os.path.exists(os.path.join(tmp, "bad.weft")):
            raise Mismatch(f"weft gen {' '.join(args)}: wrote its output")
        n += 1
    for args, words in ((["--max-coflow-bytes", "1"], ["1 bytes"]),
                        (["--load", "1e-12", "--jobs", "3"], ["job", "1e+09"]),
                        (["--jobs", "1000000", "--max-depth", "10000", "--max-width", "10000"],
                         ["memory"]),
                        (["--jobs", str(memory_jobs(1.02))], ["memory"])):
        p = run(weft, ["gen"] + args)
        if p.returncode != 1 or p.stdout or any(w not in p.stderr for w in words):
            raise Mismatch(f"weft gen {' '.join(args)}: status {p.returncode}, {p.stderr!r}")
        n += 1
    return n


def fixed_files(weft, tmp, pools, tally):
    tally = Tally()  # one seed's options again and again: no sample for the statistics
    n = 0
    # the defaults, spelled out
    spelled = ["--shape", "random", "--jobs", "100", "--ports", "150", "--load", "0.7",
               "--seed", "1", "--max-depth", "5", "--max-width", "4", "--weights", "uniform",
               "--weight-min", "1", "--weight-max", "5", "--compute-mean", "0",
               "--max-coflow-bytes", "0", "--port-rate", "1Gbps", "--fb", FB]
    a, b = run(weft, ["gen"]), run(weft, ["gen"] + spelled)
    if a.returncode or a.stdout != b.stdout or a.stderr:
        raise Mismatch("weft gen and its defaults spelled out differ")
    # the default files are found from another directory too (the source tree)
    c = subprocess.run([os.path.abspath(weft), "gen"], capture_output=True, text=True, cwd=tmp)
    if c.stdout != a.stdout:
        raise Mismatch(f"weft gen run in {tmp} differs from the repository's: {c.stderr}")
    n += 2
    # --shapes: one workflow's file, then two given as further arguments
    o = dict(draw_options(random.Random(7)), shape="wfcommons", jobs=12, compute=0.0, cap=0,
             no_shape_compute=False)
    for files, how in (([WF[1]], ["--shapes", WF[1]]), ([WF[0], WF[2]], ["--shapes"] + WF[:3:2]),
                       ([WF[3], WF[4]], ["--shapes", WF[3], "--shapes", WF[4]])):
        p = run(weft, gen_args(o) + how)
        _, jobs = fc.read_weft(p.stdout)
        allowed = {pools.wf_index[Pools.shape_key(pools.wf[WF.index(f)])][0] for f in files}
        got = {pools.wf_index.get(Pools.shape_key(j), [None])[0] for j in jobs}
        if not got <= allowed:
            raise Mismatch(f"--shapes {files}: jobs of other shapes")
        n += 1
    ali = os.path.join(tmp, "few.csv")
    with open(ALI) as f, open(ali, "w") as g:
        g.write("".join(f.readlines()[:400]))
    o2 = dict(o, shape="alibaba", jobs=20)
    p = run(weft, gen_args(o2) + ["--shapes", ali])
    rows = [line.split(",") for line in open(ali).read().splitlines()]
    few = {Pools.shape_key(j) for j in fc.alibaba_read(rows, True)[0]}
    if p.returncode or any(Pools.shape_key(j) not in few for j in fc.read_weft(p.stdout)[1]):
        raise Mismatch(f"--shapes {ali}: a job that is no shape of it ({p.stderr})")
    n += 1
    # --fb: a workload of weft's own as the pool, folded from its own ports
    pool = os.path.join(tmp, "pool.weft")
    run(weft, ["gen", "--jobs", "3", "--ports", "12", "--seed", "5", "-o", pool])
    for ports in (12, 5, 40):
        o3 = dict(o, shape="random", jobs=10, ports=ports, free=False)
        check_gen(weft, tmp, pools, tally, o3, (pool, read_file(pool)))
        n += 1
    with open(WF[0]) as f:  # a WfCommons workflow as the pool, on its 16 ports
        wf_pool = (WF[0], fc.wf_read(json.load(f), 16, 1))
    check_gen(weft, tmp, pools, tally, dict(o3, ports=16), wf_pool)
    check_gen(weft, tmp, pools, tally, dict(o3, ports=3), wf_pool)
    check_gen(weft, tmp, pools, tally, dict(o3, ports=40), wf_pool)
    n += 3
    return n


# --------------------------------------------------------------------------
# The statistics over all seeds.

def statistics(pools, tally):
    """[(test, p-value)] of what the seeds drew."""
    tests = []
    for key, vals in sorted(tally.d.items(), key=str):
        if key == "gaps" and len(vals) >= 20:
            tests.append(("gaps / their mean ~ Exp(1)",
                          ks_p(vals, lambda x: 1 - math.exp(-x))))
        elif key == "free_span":
            # (n-1) L / load ~ Gamma(n-1, 1): its cdf, then uniform
            us = [gamma_p(k, u) for k, u in vals]
            tests.append(("--free-span: (n-1) L / load ~ Gamma(n-1)", ks_p(us, lambda x: x)))
        elif key == "wf":
            tests.append(("WfCommons shapes uniform",
                          chi2_p([vals.count(i) for i in range(len(pools.wf))],
                                 [1 / len(pools.wf)] * len(pools.wf))))
        elif key == "ali_depth":
            ds = [depth_width(j["coflows"])[0] for j in pools.alibaba()[0]]
            top = min(8, max(ds))
            tests.append(("Alibaba shapes uniform (by depth)",
                          chi2_p([sum(1 for v in vals if min(v, top) == d)
                                  for d in range(1, top + 1)],
                                 [sum(1 for v in ds if min(v, top) == d) / len(ds)
                                  for d in range(1, top + 1)])))
        elif key[0] == "uniform" and key[2] > key[1]:
            k = key[2] - key[1] + 1
            tests.append((f"uniform weights {key[1]}..{key[2]}",
                          chi2_p([vals.count(key[1] + i) for i in range(k)], [1 / k] * k)))
        elif key[0] == "pareto" and key[2] > key[1]:
            lo, hi = key[1], key[2]
            top = (lo / hi) ** 2
            at_top = sum(1 for v in vals if v == hi)
            n = len(vals)
            tests.append((f"pareto weights {lo}..{hi}: share at the cap",
                          z_p((at_top - n * top) / math.sqrt(n * top * (1 - top)))))
            tests.append((f"pareto weights {lo}..{hi} below the cap",
                          ks_p([v for v in vals if v < hi],
                               lambda x: (1 - (lo / x) ** 2) / (1 - top))))
        elif key[0] == "compute":
            tests.append((f"compute times ~ Exp(mean {key[1]})",
                          ks_p(vals, lambda x, m=key[1]: 1 - math.exp(-x / m))))
        elif key[0] == "random":
            d, w = key[1], key[2]
            mw, vw = (w + 1) / 2, (w * w - 1) / 12
            md, vd = (d + 1) / 2, (d * d - 1) / 12
            var = md * vw + vd * mw * mw
            n = len(vals)
            z = 0.0 if var == 0 else (sum(vals) / n - md * mw) / math.sqrt(var / n)
            if var == 0 and any(v != d * w for v in vals):
                z = math.inf
            tests.append((f"random shapes D={d} W={w}: mean coflows (D+1)/2 x (W+1)/2",
                          z_p(z)))
        elif key[0] == "pool":
            folded, sizes = pools.folded("fb", pools.fb, key[1])
            # coflows the same once folded are one category, named as drawn: the least index
            cats = {}
            for by_pairs in folded.values():
                for i, want in by_pairs:
                    if key[2] and sizes[i] > key[2]:
                        continue
                    same = [k for k, b in by_pairs if (not key[2] or sizes[k] <= key[2])
                            and all(abs(x - y) <= 1e-12 * y for x, y in zip(want, b))]
                    cats.setdefault(min(same), []).append(i)
            m = sum(len(g) for g in cats.values())
            seen = collections.Counter(vals)
            tests.append((f"pool coflows uniform ({key[1]} ports, cap {key[2]})",
                          chi2_p([seen[r] for r in cats], [len(g) / m for g in cats.values()])))
    return tests


def main():
    ap = fc.common_args(__doc__, "also inspect on the bundled data")
    ap.add_argument("--fixed", choices=["all", "refusals", "none"], default="all",
                    help="which fixed cases: all, only the refused options, none")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every test's p-value")
    a = ap.parse_args()
    if not os.access(a.weft, os.X_OK):
        print(f"gen_check: no weft at {a.weft} (set WEFT_BIN)", file=sys.stderr)
        return 2
    pools, tally = Pools(), Tally()

    def one(seed):
        fixed = callable(seed)
        tmp = tempfile.mkdtemp(prefix=f"gen_check.{seed.__name__ if fixed else seed}.")
        try:
            if fixed:
                n = seed(a.weft, tmp, tally) if seed is data_check \
                    else seed(a.weft, tmp, pools, tally)
            else:
                n = one_seed(a.weft, tmp, pools, tally, seed)
            shutil.rmtree(tmp)
            return n, None
        except Mismatch as e:
            what = seed.__name__ if fixed else f"seed {seed}"
            return 0, f"gen_check: {what}: {e}\n  (files kept in {tmp})"
    todo = {"all": [fixed_refusals, fixed_files], "refusals": [fixed_refusals],
            "none": []}[a.fixed] + fc.parse_seeds(a.seeds)
    if a.data:
        todo.insert(0, data_check)
    total, bad = fc.run_cases(todo, one, a.jobs, a.keep_going)
    if bad and not a.keep_going:
        return 1
    tests = statistics(pools, tally)
    for name, p in tests:
        if a.verbose:
            print(f"  p = {p:<10.3g} {name}")
        if p < ALPHA / len(tests):
            bad += 1
            print(f"gen_check: {name}: p = {p:.3g}, below {ALPHA} / {len(tests)} tests")
    print(f"gen_check: {total} checks, {len(tests)} statistical tests "
          f"(smallest p {min((p for _, p in tests), default=1):.3g}), {bad} failing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
