#!/usr/bin/python3
"""lpbound_check.py - a second solver of weft's LP lower bound, from docs/lp-bound.md alone.

Written from docs/lp-bound.md (and the passages it points to) without
reading dag/lpbound.c or tests/, as scripts/refsim.py is written from the
emulator's definitions: where this solver and weft disagree, one of the two
is wrong. It builds the document's linear program itself:

  - release:     x_c >= head_c + iso_c
  - precedence:  x_c >= x_p + compute_c + iso_c, for each parent p
  - job end:     x_j >= x_c + final_compute_j for each sink c, x_j >= the
                 job's critical path, and x_j >= t + P + Q for each job,
                 port side and release threshold t (the job's own work)
  - ports:       on each side of each port, for EVERY set S of its coflows,
                 sum p_c C_c >= r(S) p(S) + (p(S)^2 + sum p_c^2) / 2

and solves it with scipy's HiGHS. The parallel inequalities are not left to
a heuristic: on a side with few coflows every subset is a row (--all-sets N,
default 10); on the others they are separated exactly (for each release
threshold t, sorting the coflows released at t or later by the LP's
completion times and checking every prefix, which is Queyranne's exact
separation of the inequalities shifted by t; a set's own earliest release is
one of the thresholds), round after round until no inequality of the family
is violated. Its optimum is therefore that of the whole family, which is at
least weft's (weft adds a chosen subset of the same rows): the check requires
weft's bound <= this one (within --rtol), and, where weft says "converged",
equal to it within --rtol (weft's separation visits the same thresholds and
prefixes, so a converged weft has no violated row of the family left). Each
policy's average weighted JCT (`weft sim W --policy all --lp-bound --out D`,
the summary JSONs) must be >= both bounds; the summaries must agree on the
bound and their slowdown_vs_lp_bound, the printed line with them, and
`weft eval --lp-bound`'s row (without --port-cap, which eval lacks) with
weft sim's bound bit for bit.

Run by hand, never by make test (python3-scipy is not a dependency of weft):

    apt-get install -y python3-scipy
    /usr/bin/python3 scripts/lpbound_check.py --seeds 1-50      # random `weft gen`
    /usr/bin/python3 scripts/lpbound_check.py --data            # the bundled data/
    /usr/bin/python3 scripts/lpbound_check.py FILE.weft [...] [--port-rate R]

from the repository root with build/weft built (WEFT_BIN to use another).
--seeds A-B makes, per seed, a `weft gen` workload of 1 to 8 jobs on 2 to 8
ports (random, alibaba and wfcommons shapes, loads 0.3 to 10, some with
compute times or Pareto weights) on ports of 10 Mbit/s, 1 or 10 Gbit/s, one
port of every other seed set apart with --port-cap; --data converts the five
WfCommons workflows and the FB trace (at 1 Gbit/s, and at 1 Gibit/s as
--varys does).
Exit status 0 when every instance agrees, 1 otherwise.
"""

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from format_check import read_weft as read_weft_text  # noqa: E402
from results_check import rate_of  # noqa: E402

WEFT = os.environ.get("WEFT_BIN", os.path.join(os.getcwd(), "build", "weft"))


# --- the workload -----------------------------------------------------------

def read_weft(path):
    """Reads weft's text format (docs/workload-format.md, section 1) with
    format_check.py's reader: (ports, jobs)."""
    with open(path) as f:
        return read_weft_text(f.read())


# --- the linear program ------------------------------------------------------

class RowSet:
    """Rows sum a_k x_k >= rhs, kept as scipy's A_ub x <= b_ub (negated)."""

    def __init__(self):
        self.r, self.c, self.v, self.b = [], [], [], []

    def add(self, coefs, rhs):
        i = len(self.b)
        for k, a in coefs.items():
            self.r.append(i)
            self.c.append(k)
            self.v.append(-a)
        self.b.append(-rhs)


class Model:
    """The instance: coflows with their work on each machine (port side)."""

    def __init__(self, n_ports, jobs, rate, caps):
        self.jobs = jobs
        self.nj = len(jobs)
        cap = [rate] * n_ports
        for p, r in caps.items():
            cap[p] = r
        cfs = []                      # (job index, coflow dict)
        for j, job in enumerate(jobs):
            for cf in job["coflows"]:
                cfs.append((j, cf))
        self.nc = len(cfs)
        self.job_of = [j for j, _ in cfs]
        self.arr = np.array([jobs[j]["arrival"] for j, _ in cfs])
        # machines: ("s", port) and ("r", port); work[c] = {machine: seconds}
        self.work = []
        for _, cf in cfs:
            w = {}
            for s, d, b in cf["flows"]:
                w[("s", s)] = w.get(("s", s), 0.0) + b
                w[("r", d)] = w.get(("r", d), 0.0) + b
            self.work.append({m: b / cap[m[1]] for m, b in w.items()})
        self.iso = np.array([max(w.values()) for w in self.work])
        index = {}
        for k, (j, cf) in enumerate(cfs):
            index[(j, cf["id"])] = k
        self.parents = [[index[(j, p)] for p in cf["parents"]] for j, cf in cfs]
        self.children = [[] for _ in range(self.nc)]
        for k, ps in enumerate(self.parents):
            for p in ps:
                self.children[p].append(k)
        self.compute = np.array([cf["compute"] for _, cf in cfs])
        order = self._topo()
        self.head = np.zeros(self.nc)
        for k in order:
            self.head[k] = self.compute[k] + max(
                [self.head[p] + self.iso[p] for p in self.parents[k]], default=0.0)
        self.tail = np.zeros(self.nc)
        for k in reversed(order):
            if self.children[k]:
                self.tail[k] = max(self.compute[ch] + self.iso[ch] + self.tail[ch]
                                   for ch in self.children[k])
            else:
                self.tail[k] = jobs[self.job_of[k]]["final"]
        self.release = self.arr + self.head           # absolute
        self.machines = {}
        for k, w in enumerate(self.work):
            for m, p in w.items():
                self.machines.setdefault(m, []).append((k, p))
        # x_j's lower bound: the critical path and each job's own work
        self.xj_low = np.zeros(self.nj)
        for k in range(self.nc):
            j = self.job_of[k]
            self.xj_low[j] = max(self.xj_low[j], self.head[k] + self.iso[k] + self.tail[k])
        self.cp_avg = float(np.sum([jobs[j]["weight"] * self.xj_low[j]
                                    for j in range(self.nj)]) / self.nj)
        for m, lst in self.machines.items():
            byjob = {}
            for k, p in lst:
                byjob.setdefault(self.job_of[k], []).append(k)
            for j, ks in byjob.items():
                for t in {self.head[k] for k in ks}:
                    later = [k for k in ks if self.head[k] >= t]
                    P = sum(self.work[k][m] for k in later)
                    Q = min(self.tail[k] for k in later)
                    self.xj_low[j] = max(self.xj_low[j], t + P + Q)

    def _topo(self):
        indeg = [len(p) for p in self.parents]
        order = [k for k in range(self.nc) if indeg[k] == 0]
        for k in order:
            for ch in self.children[k]:
                indeg[ch] -= 1
                if indeg[ch] == 0:
                    order.append(ch)
        assert len(order) == self.nc, "cycle"
        return order

    def cut(self, m, ks):
        """The parallel inequality of set ks on machine m, divided by p(S), as
        (coefficients {k: a}, right-hand side) of sum a_k x_k >= rhs."""
        p = np.array([self.work[k][m] for k in ks])
        P = p.sum()
        r = min(self.release[k] for k in ks)
        rhs = (P * P + np.dot(p, p)) / 2 / P
        # sum p C >= r P + g  with C = a + x:  sum p x >= sum p (r - a) + g
        rhs += float(np.dot(p, r - self.arr[ks])) / P
        return {k: pk / P for k, pk in zip(ks, p)}, rhs

    def base_rows(self):
        """Precedence and job ends (the bounds of the columns are in solve)."""
        rows = RowSet()
        nc = self.nc
        for k in range(nc):
            for p in self.parents[k]:
                rows.add({k: 1.0, p: -1.0}, self.compute[k] + self.iso[k])
            if not self.children[k]:
                j = self.job_of[k]
                rows.add({nc + j: 1.0, k: -1.0}, self.jobs[j]["final"])
        return rows

    def solve(self, rows):
        """Minimises the objective under rows (a RowSet); (value, x)."""
        nv = self.nc + self.nj
        obj = np.zeros(nv)
        for j in range(self.nj):
            obj[self.nc + j] = self.jobs[j]["weight"] / self.nj
        A = sp.csr_matrix((rows.v, (rows.r, rows.c)), shape=(len(rows.b), nv))
        lb = np.concatenate([self.head + self.iso, self.xj_low])
        res = linprog(obj, A_ub=A, b_ub=np.array(rows.b), bounds=list(zip(lb, [None] * nv)),
                      method="highs", options={"primal_feasibility_tolerance": 1e-9,
                                               "dual_feasibility_tolerance": 1e-9})
        assert res.status == 0, res.message
        return res.fun, res.x

    def separate(self, x, tol, have):
        """Exact separation: per machine and release threshold, the most
        violated prefixes (two) of the coflows released then or later, ordered
        by C; the round ends the cuts when none is violated."""
        C = self.arr + x[:self.nc]
        new = []
        for m, lst in self.machines.items():
            ks = np.array([k for k, _ in sorted(lst, key=lambda e: C[e[0]])])
            p = np.array([self.work[k][m] for k in ks])
            r = self.release[ks]
            for t in np.unique(r):
                sel = r >= t
                kt, pt = ks[sel], p[sel]
                P = np.cumsum(pt)
                lhs = np.cumsum(pt * (C[kt] - t))
                g = (P * P + np.cumsum(pt * pt)) / 2
                viol = (g - lhs) / P
                for i in np.argsort(-viol)[:2]:
                    scale = max(1.0, abs(t), float(C[kt[i]]))
                    if viol[i] <= tol * scale:
                        break
                    key = (m, tuple(sorted(kt[:i + 1].tolist())))
                    if key not in have:
                        have.add(key)
                        new.append(self.cut(m, list(key[1])))
        return new

    def bound(self, all_sets=10, tol=1e-9, max_rounds=1000):
        """The LP's optimum over the whole family of parallel inequalities;
        returns (value, rounds, rows of cuts, first round's value)."""
        rows = self.base_rows()
        have = set()
        n_cuts = 0
        for m, lst in self.machines.items():
            ks = [k for k, _ in lst]
            if len(ks) <= all_sets:
                for n in range(1, len(ks) + 1):
                    for s in itertools.combinations(sorted(ks), n):
                        have.add((m, s))
                        rows.add(*self.cut(m, list(s)))
                        n_cuts += 1
        first, _ = self.solve(self.base_rows())
        for rnd in range(1, max_rounds + 1):
            val, x = self.solve(rows)
            new = self.separate(x, tol, have)
            if not new:
                return val, rnd, n_cuts, first
            for cut in new:
                rows.add(*cut)
            n_cuts += len(new)
        raise RuntimeError("no convergence in %d rounds" % max_rounds)


# --- weft's side ----------------------------------------------------------------

LP_LINE = re.compile(r"LP bound: no schedule's average weighted JCT is below (\S+) s "
                     r"\((\d+) cuts in (\d+) rounds?, ([^,]+),")


def run_weft_sim(path, rate_opt, cap_opts, outdir):
    """weft sim --policy all --lp-bound: (the bound of the summary JSONs, the
    printed status, {policy: avg wJCT}, what is inconsistent in its output)."""
    cmd = [WEFT, "sim", path, "--policy", "all", "--lp-bound", "--out", outdir]
    if rate_opt:
        cmd += ["--port-rate", rate_opt]
    for c in cap_opts:
        cmd += ["--port-cap", c]
    pr = subprocess.run(cmd, capture_output=True, text=True)
    if pr.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), pr.stderr.strip()))
    m = LP_LINE.search(pr.stdout)
    if not m:
        raise RuntimeError("no LP bound line in:\n" + pr.stdout)
    sums, lps, odd = {}, set(), []
    for fn in os.listdir(outdir):
        if fn.endswith("-summary.json"):
            with open(os.path.join(outdir, fn)) as f:
                s = json.load(f)
            v = s["avg_weighted_jct_s"]
            sums[fn[:-len("-summary.json")]] = v
            lps.add(s["lp_bound_s"])
            if abs(s["slowdown_vs_lp_bound"] - v / s["lp_bound_s"]) > 1e-12 * v / s["lp_bound_s"]:
                odd.append("%s: slowdown_vs_lp_bound %r, avg wJCT / lp_bound_s %r"
                           % (fn, s["slowdown_vs_lp_bound"], v / s["lp_bound_s"]))
    if len(lps) != 1:
        odd.append("the summaries give %d bounds: %s" % (len(lps), sorted(lps)))
    lp = min(lps)
    if abs(float(m.group(1)) - lp) > 5e-6 * lp:
        odd.append("printed %s, lp_bound_s %r" % (m.group(1), lp))
    if not cap_opts:                    # weft eval has no --port-cap
        csv = os.path.join(outdir, "eval.csv")
        cmd = [WEFT, "eval", "--policy", "fifo", "--lp-bound", "--threads", "1",
               "--csv", csv, path] + (["--port-rate", rate_opt] if rate_opt else [])
        pr = subprocess.run(cmd, capture_output=True, text=True)
        rows = [r.split(",") for r in open(csv).read().splitlines() if r.startswith("lp-bound,")]
        if pr.returncode != 0 or len(rows) != 1 or float(rows[0][3]) != lp:
            odd.append("weft eval's lp-bound row %s (exit %d), weft sim's %r"
                       % (rows, pr.returncode, lp))
    return lp, m.group(4), sums, odd


def check(path, rate_opt, cap_opts, args, stats):
    n_ports, jobs = read_weft(path)
    rate = rate_of(rate_opt) if rate_opt else 1.25e8
    caps = {}
    for c in cap_opts:
        p, r = c.split("=")
        caps[int(p)] = rate_of(r)
    model = Model(n_ports, jobs, rate, caps)
    mine, rounds, n_cuts, first = model.bound(args.all_sets)
    with tempfile.TemporaryDirectory(dir=args.tmp) as out:
        lp, status, sums, odd = run_weft_sim(path, rate_opt, cap_opts, out)
    rel = (mine - lp) / max(abs(mine), 1e-300)
    stats["n"] += 1
    stats["max_rel"] = max(stats["max_rel"], abs(rel))
    bad = list(odd)
    if lp > mine * (1 + args.rtol):
        bad.append("weft's bound %.12g is above the LP's optimum %.12g" % (lp, mine))
    if status == "converged" and abs(rel) > args.rtol:
        bad.append("weft converged at %.12g, the whole family gives %.12g" % (lp, mine))
    if status != "converged":
        stats["not_converged"] += 1
    for pol, v in sorted(sums.items()):
        stats["runs"] += 1
        if v < max(lp, mine) * (1 - args.rtol):
            bad.append("%s's avg wJCT %.12g is below the bound (weft %.12g, here %.12g)"
                       % (pol, v, lp, mine))
    opts = (" --port-rate " + rate_opt if rate_opt else "") + \
        "".join(" --port-cap " + c for c in cap_opts)
    msg = "%s%s: %d coflows, weft %.10g [%s], here %.10g (%d rounds, %d cuts, first %.8g), " \
          "rel %.2e" % (path, opts, model.nc, lp, status, mine, rounds, n_cuts, first, rel)
    if bad:
        stats["bad"] += 1
        print("DISAGREE " + msg)
        if path in args.made:
            print("    made by: weft " + args.made[path])
        for b in bad:
            print("    " + b)
    elif args.verbose or status != "converged":
        print("ok " + msg)                  # weft's bound not converged: shown anyway
    return not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="weft workloads (.weft) to check")
    ap.add_argument("--seeds", help="A-B: random `weft gen` workloads of these seeds")
    ap.add_argument("--data", action="store_true", help="the small bundled files in data/")
    ap.add_argument("--port-rate", help="as weft sim's")
    ap.add_argument("--port-cap", action="append", default=[], help="as weft sim's")
    ap.add_argument("--all-sets", type=int, default=10,
                    help="every subset as a row on sides of at most N coflows (default 10)")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--tmp-dir", help="where to write the workloads (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep them (their directory is printed)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    stats = {"n": 0, "bad": 0, "max_rel": 0.0, "runs": 0, "not_converged": 0}
    args.made = {}                      # workload -> the weft command that made it
    args.tmp = tempfile.mkdtemp(prefix="lpbound_check.", dir=args.tmp_dir)
    work = [(f, args.port_rate, args.port_cap) for f in args.files]
    if args.seeds:
        a, b = (int(x) for x in args.seeds.split("-"))
        for s in range(a, b + 1):
            # small workloads of several shapes, port rates and capacities
            rs = np.random.default_rng(s)
            ports = int(rs.integers(2, 9))
            shape = ["random", "random", "alibaba", "wfcommons"][s % 4]
            gen = [WEFT, "gen", "--seed", str(s), "--jobs", str(int(rs.integers(1, 9))),
                   "--ports", str(ports), "--shape", shape,
                   "--max-depth", str(int(rs.integers(1, 5))),
                   "--max-width", str(int(rs.integers(1, 4))),
                   "--load", str([0.3, 0.7, 2.0, 10.0][int(rs.integers(0, 4))])]
            if s % 3 == 0:
                gen += ["--compute-mean", "5"]
            if s % 5 == 0:
                gen += ["--weights", "pareto", "--weight-max", "20"]
            path = os.path.join(args.tmp, "s%d.weft" % s)
            pr = subprocess.run(gen + ["-o", path], capture_output=True, text=True)
            if pr.returncode != 0:
                print("weft gen failed: %s: %s" % (" ".join(gen), pr.stderr.strip()))
                stats["bad"] += 1
                continue
            rate = ["1Gbps", "10Gbps", "1250000"][s % 3]
            caps = []
            if s % 2 == 1:
                caps = ["%d=%dMbps" % (int(rs.integers(0, ports)), int(rs.integers(100, 4000)))]
            args.made[path] = " ".join(gen[1:] + ["-o", path])
            work.append((path, rate, caps))
    if args.data:
        for src, fmt in [("data/wfcommons/srasearch-chameleon-10a-001.json", None),
                         ("data/wfcommons/blast-chameleon-small-001.json", None),
                         ("data/wfcommons/epigenomics-chameleon-ilmn-1seq-100k-001.json",
                          None),
                         ("data/wfcommons/soykb-chameleon-10fastq-10ch-001.json", None),
                         ("data/wfcommons/1000genome-chameleon-2ch-100k-001.json", None),
                         ("data/FB2010-1Hr-150-0.txt", "1Gibps"),
                         ("data/FB2010-1Hr-150-0.txt", None)]:
            path = os.path.join(args.tmp, os.path.basename(src) + ".weft")
            subprocess.run([WEFT, "convert", src, "-o", path], check=True,
                           capture_output=True)
            work.append((path, fmt, []))
    ok = True
    for path, rate, caps in work:
        try:
            ok &= check(path, rate, caps, args, stats)
        except Exception as e:          # a failure of either side is a finding
            print("ERROR %s: %s" % (path, e))
            stats["bad"] += 1
            ok = False
    print("%d instances, %d policy runs, %d disagreements, %d not converged in weft; "
          "largest relative difference between the optima %.3g"
          % (stats["n"], stats["runs"], stats["bad"], stats["not_converged"],
             stats["max_rel"]))
    if args.keep:
        print("workloads kept in " + args.tmp)
    else:
        shutil.rmtree(args.tmp)
    return 0 if ok and stats["bad"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
