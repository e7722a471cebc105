#!/usr/bin/env python3
"""refsim_check.py - weft sim against the reference emulator, scripts/refsim.py.

For every seed: a random small workload (2-4 ports, 1-3 jobs of 1-3 coflows
in a random DAG, compute and final compute times, weights, some full
shuffles; some ports capped, some runs with a decision tick; about a
quarter of the seeds also take one of VARIANTS, which reach the shortcuts
a few ports and flows never do), replayed by
`weft sim --check --out` under every ordering x allocator pair at once and
by the reference; every coflow's release and finish time, and every job's
finish, must agree to 1e-6 relative.

Sizes, arrivals, compute times and weights are random reals, so no two
keys tie exactly: where they do, weft's choice follows its rounding and the
reference may choose otherwise (docs/usage.md, "Determinism and ties"). A tie a
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
    up to a few GB, across Aalo's queue thresholds (10 MiB, 100 MiB...).
    Some seeds then get one of the variants of add_variant, drawn from a
    random stream of their own, so a seed's first part stays what it was."""
    rng = random.Random(seed)
    n_ports = rng.randint(2, 4)
    port_rate = refsim.DEFAULT_PORT_RATE if rng.random() < 0.5 else rng.uniform(5e7, 2e8)
    caps = {}
    if rng.random() < 0.3:
        for port in rng.sample(range(n_ports), rng.randint(1, n_ports - 1)):
            caps[port] = port_rate * rng.uniform(0.2, 0.9)
    tick_s = rng.uniform(0.005, 0.05) if rng.random() < 0.25 else 0.0

    jobs = []  # (id, arrival, weight, final compute, [(coflow id, compute, parents, flows)])
    for job_id in rng.sample(range(100), rng.randint(1, 3)):
        n_coflows = rng.randint(1, 3)
        final_compute = rng.uniform(0, 0.1) if rng.random() < 0.5 else 0.0
        job = (job_id, rng.uniform(0, 0.4), rng.uniform(0.5, 4), final_compute, [])
        ids = rng.sample(range(1, 100), n_coflows)
        for k, coflow_id in enumerate(ids):
            # parents among the coflows before it: a DAG
            parents = [p for p in ids[:k] if rng.random() < 0.5]
            if rng.random() < 0.3:  # a full shuffle, senders x receivers
                senders = rng.sample(range(n_ports), rng.randint(1, n_ports))
                receivers = rng.sample(range(n_ports), rng.randint(1, n_ports))
                pairs = [(s, d) for s in senders for d in receivers]
            else:
                pairs = [(rng.randrange(n_ports), rng.randrange(n_ports))
                         for _ in range(rng.randint(1, 4))]
            compute = rng.uniform(0, 0.05) if rng.random() < 0.5 else 0.0
            flows = [(s, d, rng.uniform(0.2 * MB, 40 * MB)) for s, d in pairs]
            job[4].append((coflow_id, compute, parents, flows))
        # in any order: a parent may come later in the file, and the file's
        # order (which breaks ties) need not be the DAG's
        rng.shuffle(job[4])
        jobs.append(job)
    fabric = {"n_ports": n_ports, "port_rate": port_rate, "caps": caps, "tick_s": tick_s}
    add_variant(variant_stream(seed), jobs, fabric)
    return (write_workload(jobs, fabric["n_ports"]), fabric["port_rate"], fabric["caps"],
            fabric["tick_s"])


# The variants: what weft's shortcuts switch on that 2-4 ports and a few
# flows never reach (measured with a --coverage build of weft). Each names
# the gate it opens.
VARIANTS = (
    # (share of seeds, name)
    (0.06, "spread"),   # the ports spread over a larger fabric
    (0.01, "sparse"),   # coflows spanning a fabric of 48,000 ports and more
    (0.05, "pow2"),     # every capacity a power of two
    (0.06, "hub"),      # a coflow of many flows through one port
    (0.05, "shuffle"),  # full shuffles listed as the Facebook reader does
    (0.01, "wide"),     # a coflow of over a thousand flows on their own ports
    (0.03, "huge"),     # bytes and rates a million times more and up
    (0.03, "tiny"),     # weights of a few units of the least double
    (0.03, "far"),      # weights near 1e-300 beside one of 1e15
)


def variant_stream(seed):
    """A seed's own random stream for its variant, apart from its workload's."""
    return random.Random(f"refsim variant {seed}")


def variant_of(vr):
    """The variant of a seed (None for most), the first draw of its stream."""
    x = vr.random()
    for share, name in VARIANTS:
        if x < share:
            return name
        x -= share
    return None


def add_variant(vr, jobs, fabric):
    """Changes a seed's jobs and fabric (in place) into its variant, if it
    has one. vr is the seed's own stream."""
    kind = variant_of(vr)
    if kind == "spread":
        # Port bitsets are words of 64 ports: past 64 a coflow spans
        # several; past 4,096 ports a decision lists the ports it used
        # rather than clearing all (COFLOW_CLEAR_ALL_PORTS).
        spread_ports(vr, jobs, fabric, vr.choice([vr.randint(65, 400), vr.randint(4097, 6000)]))
    elif kind == "sparse":
        # Coflows whose senders and receivers each sit at both ends of a
        # fabric of 48,000 ports and more would make the port bitsets cost
        # more words than a few per flow (6 x 750 words each, over 65,536
        # for sixteen), so none are built and every walk scans port lists.
        # (weft's time here is its arrays of ports: the fewer, the faster.)
        n_fabric = vr.randint(48000, 52000)
        spread_ports(vr, jobs, fabric, n_fabric)

        def both_ends():
            return [vr.randrange(64), n_fabric - 1 - vr.randrange(64)]
        # two flows each, low end to one end and high end to the other: a
        # coflow's words are as many as a 2 x 2 shuffle's, its events half
        add_job(vr, jobs, [[(s, d, vr.uniform(0.2 * MB, 20 * MB))
                            for s, d in zip(both_ends(), vr.sample(both_ends(), 2))]
                           for _ in range(vr.randint(16, 18))], chain=False)
    elif kind == "pow2":
        # Sincronia refreshes its loads by a multiply when every capacity
        # is a power of two (the Varys setting, 2^27 B/s), by a division
        # otherwise
        fabric["port_rate"] = 2.0 ** 27
        fabric["caps"] = {p: 2.0 ** vr.randint(24, 26) for p in fabric["caps"]}
    elif kind == "hub":
        # Many pairs through one port: srf's list of pair heads there is
        # long enough to move a head past 8 others, a group of one port
        # closes flows in its middle and packs its members, and flows of
        # equal size tie on bytes left (broken by flow index in both).
        hub, n = vr.randrange(fabric["n_ports"]), vr.randint(10, 30)
        n_fabric = max(fabric["n_ports"], n + 1)
        others = vr.sample([p for p in range(n_fabric) if p != hub], n)
        sizes = [vr.uniform(0.2 * MB, 20 * MB) for _ in range(3)]
        flows = [(hub, o, vr.choice(sizes)) for o in others]
        if vr.random() < 0.5:  # into the hub instead
            flows = [(d, s, size) for s, d, size in flows]
        flows += flows[:vr.randint(0, 3)]  # some pairs twice
        fabric["n_ports"] = n_fabric
        add_job(vr, jobs, [flows])
    elif kind == "shuffle":
        # A full shuffle listed receiver by receiver, each one's senders in
        # port order (as the Facebook reader lists a coflow): its flows
        # follow from its ports' ranks (COFLOW_SHUFFLE_SETS)
        for job in jobs:
            for c, (coflow_id, compute, parents, flows) in enumerate(job[4]):
                senders = {s for s, _, _ in flows}
                receivers = {d for _, d, _ in flows}
                if len(flows) == len(senders) * len(receivers):
                    flows = sorted(flows, key=lambda flow: (flow[1], flow[0]))
                    job[4][c] = (coflow_id, compute, parents, flows)
    elif kind == "wide":
        # Over 1,024 senders and receivers busy at once: max-min fair
        # finds each round's port by a heap (from 2,048 port sides on),
        # and Sincronia its bottleneck by blocks of 64 ports (from 1,024).
        # Its flows come in three sizes, so they finish in a few events
        # each (the reference's decisions cost all the flows); ties
        # between them are of flows of one coflow, which both break by
        # index, and of loads of ports no other coflow uses (Sincronia
        # picks this coflow on any of them).
        width = vr.randint(1025, 1040)
        n_fabric = width + vr.randint(0, 20)
        fabric["tick_s"] = 0.0  # a tick's decisions would each cost them all too
        spread_ports(vr, jobs, fabric, n_fabric)
        senders = vr.sample(range(n_fabric), width)
        receivers = vr.sample(range(n_fabric), width)
        sizes = [vr.uniform(0.2 * MB, 10 * MB) for _ in range(3)]
        # beside two small coflows of its job, released with it: three
        # active at once make Sincronia remove a placed one's loads by block
        small = [[(vr.randrange(n_fabric), vr.randrange(n_fabric), vr.uniform(0.2 * MB, 20 * MB))
                  for _ in range(vr.randint(1, 4))] for _ in range(2)]
        add_job(vr, jobs, [[(s, d, vr.choice(sizes)) for s, d in zip(senders, receivers)]] +
                small, chain=False)
    elif kind == "huge":
        # Every size and rate times 10^6 to 10^9: the same times, but
        # flows of up to 4e16 bytes (weft takes up to 2^60 a job) and jobs
        # through ten of Aalo's queues, at rates where a step of the clock
        # moves bytes; every tolerance on bytes must be relative.
        scale = 10.0 ** vr.randint(6, 9)
        for job in jobs:
            for c, (coflow_id, compute, parents, flows) in enumerate(job[4]):
                job[4][c] = (coflow_id, compute, parents,
                             [(s, d, size * scale) for s, d, size in flows])
        fabric["port_rate"] *= scale
        fabric["caps"] = {p: rate * scale for p, rate in fabric["caps"].items()}
    elif kind == "tiny":
        # Weights of 1 to 7 units of 2^-1074, which the format accepts: the
        # weighted orderings compare them only against each other (docs/usage.md,
        # Policies), where a key over them once read inf and tied every job.
        jobs[:] = [(job_id, arrival, vr.randint(1, 7) * 2.0 ** -1074, final, coflows)
                   for job_id, arrival, _, final, coflows in jobs]
    elif kind == "far":
        # Weights of 1 to 7 times 1e-300 beside one job's 1e15, the format's
        # cap: scaled down together to bring 1e15 to [1, 2), the others
        # were subnormal and their keys inf, every one of them tied.
        big = vr.randrange(len(jobs))
        jobs[:] = [(job_id, arrival, 1e15 if i == big else vr.randint(1, 7) * 1e-300, final,
                    coflows) for i, (job_id, arrival, _, final, coflows) in enumerate(jobs)]
    return kind


def spread_ports(vr, jobs, fabric, n_fabric):
    """Moves the workload's ports to distinct random ones of n_fabric."""
    to = vr.sample(range(n_fabric), fabric["n_ports"])
    for job in jobs:
        for c, (coflow_id, compute, parents, flows) in enumerate(job[4]):
            job[4][c] = (coflow_id, compute, parents,
                         [(to[s], to[d], size) for s, d, size in flows])
    fabric["caps"] = {to[p]: rate for p, rate in fabric["caps"].items()}
    fabric["n_ports"] = n_fabric


def add_job(vr, jobs, coflows_flows, chain=True):
    """A job of its own for the given coflows (each one's flows), arriving
    among the others: a chain in that order, or all of them roots."""
    taken = {job[0] for job in jobs}
    job_id = vr.choice([i for i in range(100, 200) if i not in taken])
    coflows = [(k + 1, vr.uniform(0, 0.05), [k] if chain and k else [], flows)
               for k, flows in enumerate(coflows_flows)]
    jobs.append((job_id, vr.uniform(0, 0.4), vr.uniform(0.5, 4), 0.0, coflows))


def write_workload(jobs, n_ports):
    """weft's text format (docs/workload-format.md) of jobs as make_workload
    builds them."""
    lines = ["weft-workload 1", f"ports {n_ports}"]
    for job_id, arrival, weight, final_compute, coflows in jobs:
        lines.append(f"job {job_id} {arrival!r} {weight!r} {final_compute!r} {len(coflows)}")
        for coflow_id, compute, parents, flows in coflows:
            lines.append(f"coflow {coflow_id} {compute!r} {len(flows)} "
                         f"{','.join(map(str, parents)) or '-'}")
            lines += [f"{s} {d} {size!r}" for s, d, size in flows]
    lines.append(f"end {len(jobs)}")
    return "\n".join(lines) + "\n"


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
                variant = variant_of(variant_stream(seed)) or "plain"
                for pair, why in failures:
                    print(f"MISMATCH seed {seed} ({variant}) {pair or 'weft sim'}: {why}\n"
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
