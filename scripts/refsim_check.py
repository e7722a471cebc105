#!/usr/bin/env python3
"""refsim_check.py - weft sim against the reference emulator, scripts/refsim.py.

For every seed: a random small workload (2-4 ports, 1-3 jobs of 1-3 coflows
in a random DAG, compute and final compute times, weights, some full
shuffles; some ports capped, some runs with a decision tick), replayed by
`weft sim --check --out` under every ordering x allocator pair at once and
by the reference; every coflow's release and finish time, and every job's
finish, must agree to 1e-6 relative.

Sizes, arrivals, compute times and weights are random reals, so no two
keys tie exactly: where they do, weft's choice follows its rounding and the
reference may choose otherwise (README, "A run is deterministic"). A tie a
documented rule breaks (equal release times, ties by coflow index) is kept.

    python3 scripts/refsim_check.py [--seeds A-B] [--weft PATH] [--jobs N]
        [--keep DIR]

WEFT_BIN, else build/weft, is the weft it runs. Prints a summary; on a
mismatch, or a failed weft sim, names the seed, the pair and the workload
(kept, with the two commands that replay it) and exits 1.
"""
import argparse
import concurrent.futures
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refsim  # noqa: E402

REL_TOL = 1e-6
PAIRS = [f"{o}:{a}" for o in refsim.ORDERINGS for a in refsim.ALLOCATORS]
MB = 1e6


def make_workload(seed):
    """The workload of a seed, and the fabric and tick to replay it on.
    Flows take milliseconds to a few tenths of a second on 1 Gbit/s ports,
    and jobs arrive within a few flows' time, so they contend; a job sends
    up to a few GB, across Aalo's queue thresholds (10 MiB, 100 MiB...)."""
    rng = random.Random(seed)
    n_ports = rng.randint(2, 4)
    port_rate = refsim.DEFAULT_PORT_RATE if rng.random() < 0.5 else rng.uniform(5e7, 2e8)
    caps = {}
    if rng.random() < 0.3:
        for port in rng.sample(range(n_ports), rng.randint(1, n_ports - 1)):
            caps[port] = port_rate * rng.uniform(0.2, 0.9)
    tick_s = rng.uniform(0.005, 0.05) if rng.random() < 0.25 else 0.0

    lines = ["weft-workload 1", f"ports {n_ports}"]
    n_jobs = rng.randint(1, 3)
    for job_id in rng.sample(range(100), n_jobs):
        n_coflows = rng.randint(1, 3)
        final_compute = rng.uniform(0, 0.1) if rng.random() < 0.5 else 0.0
        lines.append(f"job {job_id} {rng.uniform(0, 0.4)!r} {rng.uniform(0.5, 4)!r} "
                     f"{final_compute!r} {n_coflows}")
        ids = rng.sample(range(1, 100), n_coflows)
        blocks = []
        for k, coflow_id in enumerate(ids):
            # parents among the coflows before it: a DAG
            parents = [str(p) for p in ids[:k] if rng.random() < 0.5]
            if rng.random() < 0.3:  # a full shuffle, senders x receivers
                senders = rng.sample(range(n_ports), rng.randint(1, n_ports))
                receivers = rng.sample(range(n_ports), rng.randint(1, n_ports))
                pairs = [(s, d) for s in senders for d in receivers]
            else:
                pairs = [(rng.randrange(n_ports), rng.randrange(n_ports))
                         for _ in range(rng.randint(1, 4))]
            compute = rng.uniform(0, 0.05) if rng.random() < 0.5 else 0.0
            blocks.append([f"coflow {coflow_id} {compute!r} {len(pairs)} "
                           f"{','.join(parents) or '-'}"] +
                          [f"{s} {d} {rng.uniform(0.2 * MB, 40 * MB)!r}" for s, d in pairs])
        # in any order: a parent may come later in the file, and the file's
        # order (which breaks ties) need not be the DAG's
        rng.shuffle(blocks)
        lines += [line for block in blocks for line in block]
    lines.append(f"end {n_jobs}")
    return "\n".join(lines) + "\n", port_rate, caps, tick_s


def fabric_args(port_rate, caps, tick_s):
    """The options that give weft sim and refsim.py the same fabric."""
    args = ["--port-rate", repr(port_rate)]
    for port, rate in sorted(caps.items()):
        args += ["--port-cap", f"{port}={rate!r}"]
    return args + (["--tick", repr(tick_s)] if tick_s else [])


def run_weft(weft, path, out_dir, fabric):
    """Every pair in one weft sim; returns {pair: (coflow times, job
    finishes)} keyed by (job id, coflow id) and job id, or an error."""
    policies = [arg for pair in PAIRS for arg in ("--policy", pair)]
    run = subprocess.run([weft, "sim", path, "--check", "--out", out_dir] + policies + fabric,
                         capture_output=True, text=True)
    if run.returncode != 0:
        said = (run.stderr + run.stdout).strip()  # --check's violations, or why it failed
        return None, f"weft sim exited with {run.returncode}: {said[-800:]}"
    results = {}
    for name in os.listdir(out_dir):
        if not name.endswith("-summary.json"):
            continue
        prefix = os.path.join(out_dir, name[:-len("-summary.json")])
        with open(prefix + "-summary.json") as f:
            summary = json.load(f)
        with open(prefix + "-coflows.csv") as f:
            coflows = {(int(r["job"]), int(r["coflow"])):
                       (float(r["release_s"]), float(r["finish_s"])) for r in csv.DictReader(f)}
        with open(prefix + "-jobs.csv") as f:
            jobs = {int(r["job"]): float(r["finish_s"]) for r in csv.DictReader(f)}
        results[f"{summary['policy']}:{summary['allocator']}"] = (coflows, jobs)
    missing = [p for p in PAIRS if p not in results]
    return (results, None) if not missing else (None, f"no results for {', '.join(missing)}")


def rel_diff(a, b):
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def check_seed(seed, weft, work_dir):
    """Replays one seed's workload both ways. Returns (seed, path, number of
    times compared, the largest relative difference and where, failures)."""
    text, port_rate, caps, tick_s = make_workload(seed)
    path = os.path.join(work_dir, f"seed-{seed}.weft")
    with open(path, "w") as f:
        f.write(text)
    fabric = fabric_args(port_rate, caps, tick_s)
    # weft sim --out writes 120 files here: in memory where there is a
    # tmpfs, which halves weft's time
    out_dir = tempfile.mkdtemp(prefix=f"weft-refsim-{seed}-",
                               dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else work_dir)
    try:
        weft_results, error = run_weft(weft, path, out_dir, fabric)
    finally:
        shutil.rmtree(out_dir)
    if error:
        return seed, path, 0, (0.0, None), [(None, error)]
    wl = refsim.read_weft(path)
    compared, worst, failures = 0, (0.0, None), []
    for pair in PAIRS:
        try:
            release, finish, job_finish = refsim.simulate(wl, pair, port_rate, caps, tick_s)
        except (ArithmeticError, RuntimeError) as e:
            failures.append((pair, f"the reference failed: {e!r}"))
            continue
        weft_coflows, weft_jobs = weft_results[pair]
        times = []
        for c, coflow in enumerate(wl.coflows):
            job_id = wl.jobs[coflow.job].id
            w_release, w_finish = weft_coflows[job_id, coflow.id]
            where = f"job {job_id} coflow {coflow.id}"
            times += [(where + " release", w_release, release[c]),
                      (where + " finish", w_finish, finish[c])]
        times += [(f"job {job.id} finish", weft_jobs[job.id], job_finish[j])
                  for j, job in enumerate(wl.jobs)]
        bad = []
        for what, w, r in times:
            d = rel_diff(w, r)
            if d > worst[0]:
                worst = (d, f"seed {seed} {pair} {what}")
            if d > REL_TOL:
                bad.append(f"{what}: weft {w!r}, reference {r!r} ({d:.2g} apart)")
        compared += len(times)
        if bad:
            failures.append((pair, "; ".join(bad[:4]) + (" ..." if len(bad) > 4 else "")))
    return seed, path, compared, worst, failures


def parse_seeds(text):
    first, _, last = text.partition("-")
    first, last = int(first), int(last or first)
    if first > last:
        raise argparse.ArgumentTypeError(f"seeds '{text}': expected A-B with A <= B")
    return range(first, last + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("1-100"),
                        help="a seed or a range A-B (default 1-100)")
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--weft", default=os.environ.get("WEFT_BIN") or
                        os.path.join(here, "..", "build", "weft"),
                        help="the weft to check (default $WEFT_BIN, else build/weft)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds checked at once")
    parser.add_argument("--keep", metavar="DIR",
                        help="write every workload into DIR and keep them all")
    args = parser.parse_args()
    if not os.access(args.weft, os.X_OK):
        sys.exit(f"refsim_check: {args.weft}: no weft program there (build it first)")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    work_dir = args.keep or tempfile.mkdtemp(prefix="weft-refsim-")

    start = time.monotonic()
    compared, worst, failed_seeds = 0, (0.0, None), 0
    try:
        with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = pool.map(check_seed, args.seeds, [args.weft] * len(args.seeds),
                            [work_dir] * len(args.seeds))
            for seed, path, n, seed_worst, failures in runs:
                compared += n
                worst = max(worst, seed_worst, key=lambda w: w[0])
                if not failures:
                    if not args.keep:
                        os.remove(path)
                    continue
                failed_seeds += 1
                fabric = " ".join(fabric_args(*make_workload(seed)[1:]))
                for pair, why in failures:
                    print(f"MISMATCH seed {seed} {pair or 'weft sim'}: {why}\n"
                          f"  workload {path}; replay with")
                    policies = f"--policy {pair}" if pair else " ".join(
                        f"--policy {p}" for p in PAIRS)
                    print(f"  {args.weft} sim {path} --check --out DIR {policies} {fabric}")
                    if pair:
                        print(f"  python3 {os.path.join(here, 'refsim.py')} {path} "
                              f"--policy {pair} {fabric}")
    finally:
        # an interrupted run leaves nothing behind; a failed one its workloads
        if not args.keep and not failed_seeds:
            shutil.rmtree(work_dir, ignore_errors=True)
    seconds = time.monotonic() - start
    n = len(args.seeds)
    print(f"refsim_check: seeds {args.seeds.start}-{args.seeds.stop - 1}: {n} workloads x "
          f"{len(PAIRS)} pairs = {n * len(PAIRS)} runs, {compared} times compared; "
          f"{failed_seeds} workloads failed; largest difference {worst[0]:.2g}"
          f"{' (' + worst[1] + ')' if worst[1] else ''}; {seconds:.1f} s")
    if failed_seeds:
        print(f"refsim_check: the failing workloads are kept in {work_dir}")
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
