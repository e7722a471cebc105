#!/usr/bin/env python3
"""refsim.py - an independent reference of weft's flow-level emulator.

weft sim replays a workload with shortcuts (lazy pacing, port groups,
remembered keys; netsim/, coflow/). This file replays it again from the
definitions alone, with none of weft's code, as plainly as it can: every
decision recomputes every key and every rate from the flows' remaining
bytes. Each rule names where it is defined:

  DESIGN §N      the project's reference design (docs/design.md)
  usage.md       docs/usage.md: "Policies and allocators", "--check: the
                 physics verified" and the options of README.md's "Compare
                 policies on the emulator"; docs/testing.md: "Against an
                 independent reference"
  format         docs/workload-format.md §1 (weft's text format)
  policy doc     docs/adding-a-policy.md (what an ordering receives)
  --help         `weft sim --help`'s orderings and allocators
  coflow.h       the field comments of coflow/coflow.h (derived quantities)

and the papers: Varys (Chowdhury, Zhong, Stoica, SIGCOMM 2014), Aalo
(Chowdhury, Stoica, SIGCOMM 2015), Sincronia (Agarwal et al., SIGCOMM 2018).

scripts/refsim_check.py compares it with weft on random workloads. Two
limits: where two keys tie exactly in exact arithmetic (equal flows arriving
at the same instant) weft's choice follows its rounding and this file may
choose otherwise, so compare workloads without such ties; and it is slow
(every decision costs coflows x flows), meant for a few ports and tens of
flows.

    python3 scripts/refsim.py WORKLOAD.weft --policy ORDERING:ALLOCATOR
        [--port-rate BYTES_PER_S] [--port-cap PORT=BYTES_PER_S ...]
        [--tick S] [--jobs]

prints job,coflow,release_s,finish_s for every coflow in file order, as
`weft sim --out`'s ORDERING-ALLOCATOR-coflows.csv does (--jobs: job,finish_s
for every job), times with 17 significant digits.
"""
import argparse
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field

# DESIGN §2: every port is 1 Gbit/s each way unless told otherwise.
DEFAULT_PORT_RATE = 1e9 / 8

# usage.md, --check: a flow counts as finished when what is left of it is
# within its finish tolerance, a billionth of its bytes or 8 units in the
# last place of the clock; otherwise rounding in rate * dt would leave
# crumbs that take events of their own.
FINISH_REL_TOL = 1e-9
FINISH_CLOCK_ULPS = 8

# A port whose free capacity is below a billionth of its rate is full: the
# crumb is what rounding left when flows filled it exactly (usage.md, --check:
# capacities hold within 1e-9 of a port's rate).
FULL_REL_TOL = 1e-9

# usage.md, Policies: Aalo's queues split at 10 MiB x 10^k bytes sent.
AALO_FIRST_THRESHOLD = 10 * 1048576.0
AALO_THRESHOLD_FACTOR = 10.0
# A job's crossing of a threshold is itself an event, at now + (T - sent) /
# rate; the bytes then added can fall short of T by rounding, so a job
# within a billionth of T has crossed it.
AALO_REL_TOL = 1e-9

WAITING, ACTIVE, DONE = "waiting", "active", "done"

# --help: each ordering with the allocator of its paper
ORDERINGS = {"fifo": "greedy", "scf": "madd", "ncf": "madd", "lcf": "madd",
             "sebf": "madd", "aalo": "greedy", "sincronia": "greedy",
             "wcp": "madd", "jsebf": "madd", "jsebf-cp": "madd"}
ALLOCATORS = ("greedy", "madd", "fair", "srf")


# ---------------------------------------------------------------- workload

@dataclass
class Flow:
    src: int
    dst: int
    size: float          # bytes
    coflow: int          # index into Workload.coflows


@dataclass
class Coflow:
    id: int              # as in the file, unique within its job
    job: int             # index into Workload.jobs
    compute_s: float     # the sending stage's compute time before release
    parent_ids: list     # as in the file, resolved into `parents`
    parents: list = field(default_factory=list)   # coflow indices
    children: list = field(default_factory=list)  # coflow indices
    flows: list = field(default_factory=list)     # flow indices


@dataclass
class Job:
    id: int
    arrival_s: float
    weight: float
    final_compute_s: float
    coflows: list = field(default_factory=list)   # coflow indices


@dataclass
class Workload:
    n_ports: int
    jobs: list
    coflows: list
    flows: list


def read_weft(path):
    """Reads weft's text format (format §1). Trusts the file's ranges; weft
    sim refuses a bad file before the two are compared."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            tokens = line.split()
            # a comment is a line starting with '#', or '#...' after a blank
            for i, token in enumerate(tokens):
                if token.startswith("#"):
                    tokens = tokens[:i]
                    break
            if tokens:
                lines.append((number, tokens))
    pos = 0

    def take(keyword, n_fields):
        nonlocal pos
        if pos >= len(lines):
            raise ValueError(f"{path}: expected '{keyword}', found the end of the file")
        number, tokens = lines[pos]
        if (keyword and tokens[0] != keyword) or len(tokens) != n_fields:
            raise ValueError(f"{path}:{number}: expected {n_fields} fields"
                             f"{' starting ' + keyword if keyword else ''}")
        pos += 1
        return tokens

    if take("weft-workload", 2)[1] != "1":
        raise ValueError(f"{path}: only version 1 of the format is read")
    wl = Workload(int(take("ports", 2)[1]), [], [], [])
    while pos < len(lines) and lines[pos][1][0] == "job":
        _, job_id, arrival, weight, final_compute, n_coflows = take("job", 6)
        job = Job(int(job_id), float(arrival), float(weight), float(final_compute))
        j = len(wl.jobs)
        wl.jobs.append(job)
        for _ in range(int(n_coflows)):
            _, coflow_id, compute, n_flows, parents = take("coflow", 5)
            c = len(wl.coflows)
            ids = [] if parents == "-" else [int(p) for p in parents.split(",")]
            wl.coflows.append(Coflow(int(coflow_id), j, float(compute), ids))
            job.coflows.append(c)
            for _ in range(int(n_flows)):
                src, dst, size = take("", 3)
                wl.coflows[c].flows.append(len(wl.flows))
                wl.flows.append(Flow(int(src), int(dst), float(size), c))
        # format: a parent is a coflow id of the same job, maybe defined later
        index_of = {wl.coflows[c].id: c for c in job.coflows}
        for c in job.coflows:
            for parent_id in wl.coflows[c].parent_ids:
                wl.coflows[c].parents.append(index_of[parent_id])
                wl.coflows[index_of[parent_id]].children.append(c)
    if int(take("end", 2)[1]) != len(wl.jobs):
        raise ValueError(f"{path}: the trailer's job count is not the file's")
    return wl


# --------------------------------------------------------------- emulator

class PortRates(dict):
    """Each port's rate, each way: its own where capped, else the fabric's
    (a dict, so a fabric of a million ports costs only the capped ones)."""

    def __init__(self, port_rate, caps):
        super().__init__(caps)
        self.port_rate = port_rate

    def __missing__(self, port):
        self[port] = self.port_rate  # kept: the next look-up is a plain one
        return self.port_rate


class Emulator:
    """One replay of a workload under one ordering and one allocator."""

    def __init__(self, wl, ordering, allocator, cap_out, cap_in, tick_s=0.0):
        self.wl = wl
        self.ordering, self.allocator = ordering, allocator
        self.cap_out, self.cap_in = cap_out, cap_in
        self.tick_s = tick_s
        n_coflows = len(wl.coflows)
        self.remaining = [f.size for f in wl.flows]
        self.status = [WAITING] * n_coflows
        self.release_s = [None] * n_coflows
        self.finish_s = [None] * n_coflows
        self.job_finish_s = [None] * len(wl.jobs)
        self.job_sent = [0.0] * len(wl.jobs)
        self.parents_left = [len(c.parents) for c in wl.coflows]
        # coflow -> release time, from when its inputs are ready (its job's
        # arrival for a root, its last parent's finish otherwise) to then
        self.pending = {}
        self.now = min(j.arrival_s for j in wl.jobs)
        # the current decision: each flow's rate and, while it is being
        # made, how much of each port's capacity each way is taken (bytes/s)
        self.rate = [0.0] * len(wl.flows)
        self.used_out = defaultdict(float)
        self.used_in = defaultdict(float)
        self.iso = [self.bottleneck_time(c, lambda f: wl.flows[f].size)
                    for c in range(n_coflows)]
        self.below = [None] * n_coflows
        for c in range(n_coflows):
            self.path_below(c)

    # -- what the orderings read

    def bottleneck_time(self, c, bytes_of):
        """DESIGN §3: a coflow alone on the empty fabric needs, over every
        port and each direction, the bytes through it over its capacity."""
        out, inn = self.port_bytes(c, bytes_of)
        return max([b / self.cap_out[p] for p, b in out.items()] +
                   [b / self.cap_in[p] for p, b in inn.items()], default=0.0)

    def port_bytes(self, c, bytes_of):
        """The coflow's bytes_of(flow) summed per sending and per receiving
        port, over the flows that have any."""
        out, inn = {}, {}
        for f in self.wl.coflows[c].flows:
            if bytes_of(f) == 0:
                continue
            flow = self.wl.flows[f]
            out[flow.src] = out.get(flow.src, 0.0) + bytes_of(f)
            inn[flow.dst] = inn.get(flow.dst, 0.0) + bytes_of(f)
        return out, inn

    def remaining_iso(self, c):
        """SEBF's key (DESIGN §4): the bottleneck time of the bytes left."""
        return self.bottleneck_time(c, lambda f: self.remaining[f])

    def path_below(self, c):
        """coflow.h, cp_below_s: the heaviest path from the coflow's release
        to its job's end, of isolation and compute times: its iso, then the
        heaviest child's compute and path, or the job's final compute for a
        sink. It is the job's lower bound (DESIGN §3) from this coflow on."""
        if self.below[c] is None:
            coflow = self.wl.coflows[c]
            if coflow.children:
                after = max(self.wl.coflows[k].compute_s + self.path_below(k)
                            for k in coflow.children)
            else:
                after = self.wl.jobs[coflow.job].final_compute_s
            self.below[c] = self.iso[c] + after
        return self.below[c]

    def remaining_path(self, c):
        """usage.md (jsebf-cp): remaining bottleneck time plus the heaviest
        path below it."""
        return self.remaining_iso(c) + self.path_below(c) - self.iso[c]

    def aalo_queue(self, j):
        """usage.md, Policies: queue k holds the jobs that have sent at least
        10 MiB x 10^(k-1) bytes over the whole DAG, and less than 10^k."""
        queue, threshold = 0, AALO_FIRST_THRESHOLD
        while self.job_sent[j] >= threshold * (1 - AALO_REL_TOL):
            queue += 1
            threshold *= AALO_THRESHOLD_FACTOR
        return queue

    # -- orderings (DESIGN §4): the active coflows, highest priority first

    def order(self, active):
        wl = self.wl
        # policy doc: an ordering receives the active coflows by release
        # time; --help and usage.md: every sort below is ascending and breaks
        # its ties by release time, then by the coflow's place in the file.
        active = sorted(active, key=lambda c: (self.release_s[c], c))

        def by(key):
            return sorted(active, key=lambda c: (key(c), self.release_s[c], c))

        def job_of(c):
            return wl.coflows[c].job

        def flows_of(c):
            return [wl.flows[f] for f in wl.coflows[c].flows]

        if self.ordering == "fifo":
            # --help: by release time, ties by job arrival (then file order)
            return sorted(active, key=lambda c: (
                self.release_s[c], wl.jobs[job_of(c)].arrival_s, c))
        if self.ordering == "scf":
            # DESIGN §4, Varys: shortest first by length, its largest flow
            return by(lambda c: max(f.size for f in flows_of(c)))
        if self.ordering == "ncf":
            # DESIGN §4: narrowest first, the fewer of senders and receivers
            return by(lambda c: min(len({f.src for f in flows_of(c)}),
                                    len({f.dst for f in flows_of(c)})))
        if self.ordering == "lcf":
            # DESIGN §4: lightest first, fewest total bytes
            return by(lambda c: sum(f.size for f in flows_of(c)))
        if self.ordering == "sebf":
            # DESIGN §4, Varys: smallest bottleneck of the remaining bytes
            return by(self.remaining_iso)
        if self.ordering == "aalo":
            # DESIGN §4, Aalo §4 (D-CLAS): lower queue first, FIFO inside one
            return by(lambda c: self.aalo_queue(job_of(c)))
        if self.ordering == "sincronia":
            return self.order_bssi(active)
        # The DAG-aware orderings rank jobs (usage.md): wcp by the job's
        # weighted remaining critical path, jsebf and jsebf-cp by its
        # weighted remaining bottleneck work. Inside a job, jsebf keeps
        # release order; wcp and jsebf-cp put the coflow with the longest
        # remaining path first (usage.md, Policies).
        jobs = {job_of(c) for c in active}
        weight = self.scaled_weights(jobs)
        if self.ordering == "wcp":
            job_key = {j: self.job_critical_path(j) / weight[j] for j in jobs}
        else:
            job_key = {j: self.job_work(j) / weight[j] for j in jobs}
        if self.ordering == "jsebf":
            return by(lambda c: job_key[job_of(c)])
        return sorted(active, key=lambda c: (
            job_key[job_of(c)], -self.remaining_path(c), self.release_s[c], c))

    def scaled_weights(self, jobs):
        """usage.md, Policies: the weighted orderings read the weights of the
        jobs deciding against each other only, scaled together by the power
        of two that brings the largest to [1, 2) when it is below 1 (never
        down: that would put weights far below a large one among the
        subnormals)."""
        _, e = math.frexp(max((self.wl.jobs[j].weight for j in jobs), default=1.0))
        return {j: math.ldexp(self.wl.jobs[j].weight, max(1 - e, 0)) for j in jobs}

    def job_work(self, j):
        """jsebf's key (policy doc): the isolation times of the job's waiting
        coflows and the remaining bottleneck times of its active ones."""
        work = 0.0
        for c in self.wl.jobs[j].coflows:
            if self.status[c] == WAITING:
                work += self.iso[c]
            elif self.status[c] == ACTIVE:
                work += self.remaining_iso(c)
        return work

    def job_critical_path(self, j):
        """wcp's key before the weight: the longest of the job's remaining
        paths, from its active coflows and from the waiting coflows whose
        parents have all finished (wcp's frontier, policy doc), the latter
        still computing until their release. A coflow behind those is on a
        path from one of them."""
        longest = 0.0
        for c in self.wl.jobs[j].coflows:
            if self.status[c] == ACTIVE:
                longest = max(longest, self.remaining_path(c))
            elif c in self.pending:
                longest = max(longest, self.pending[c] - self.now + self.path_below(c))
        return longest

    def order_bssi(self, active):
        """Sincronia's Bottleneck-Select-Scale-Iterate (BSSI, the Sincronia
        paper's Algorithm 1), weighted by the jobs' weights (usage.md). Fills the order
        from its end: the most loaded port (remaining bytes over capacity,
        each direction a port of its own) takes last the coflow with the
        smallest weight over its load there; the other coflows on that
        port pay for it in weight, in proportion to their loads."""
        load = {}  # (coflow, (direction, port)) -> seconds of remaining bytes
        for c in active:
            out, inn = self.port_bytes(c, lambda f: self.remaining[f])
            for p, b in out.items():
                load[c, ("out", p)] = b / self.cap_out[p]
            for p, b in inn.items():
                load[c, ("in", p)] = b / self.cap_in[p]
        scaled = self.scaled_weights({self.wl.coflows[c].job for c in active})
        weight = {c: scaled[self.wl.coflows[c].job] for c in active}
        unplaced, last_first = list(active), []
        while unplaced:
            port_load = {}
            for (c, port), seconds in load.items():
                if c in unplaced:
                    port_load[port] = port_load.get(port, 0.0) + seconds
            # an exact tie between ports goes to the first in sorted order
            # (receivers, then senders, by port)
            bottleneck = max(sorted(port_load), key=lambda port: port_load[port])
            on_it = [c for c in unplaced if (c, bottleneck) in load]
            # an exact tie goes to the one released later (placed later)
            chosen = min(reversed(on_it),
                         key=lambda c: weight[c] / load[c, bottleneck])
            for c in on_it:
                if c != chosen:
                    weight[c] -= (weight[chosen] * load[c, bottleneck] /
                                  load[chosen, bottleneck])
            unplaced.remove(chosen)
            last_first.append(chosen)
        return last_first[::-1]

    # -- allocators (DESIGN §4): rates from zero at every decision

    def allocate(self, order):
        self.rate = [0.0] * len(self.wl.flows)
        # by port, so a decision costs the ports it uses, not the fabric's
        self.used_out = defaultdict(float)
        self.used_in = defaultdict(float)
        if self.allocator == "greedy":
            for c in order:
                self.greedy(c)
        elif self.allocator == "madd":
            self.madd(order)
        elif self.allocator == "fair":
            self.max_min_fair([f for c in order for f in self.open_flows(c)])
        else:
            # --help: per-flow shortest remaining first (pFabric), ties by
            # the lower flow index; each takes all its ports have left
            flows = [f for c in order for f in self.open_flows(c)]
            for f in sorted(flows, key=lambda f: (self.remaining[f], f)):
                self.give(f, self.free(f))
        return self.rate

    def open_flows(self, c):
        return [f for f in self.wl.coflows[c].flows if self.remaining[f] > 0]

    def free_out(self, p):
        free = self.cap_out[p] - self.used_out[p]
        return free if free > FULL_REL_TOL * self.cap_out[p] else 0.0

    def free_in(self, p):
        free = self.cap_in[p] - self.used_in[p]
        return free if free > FULL_REL_TOL * self.cap_in[p] else 0.0

    def free(self, f):
        """What a flow can still take: DESIGN §2, a flow from i to j uses
        i's send and j's receive capacity (both of one port's, if i = j)."""
        flow = self.wl.flows[f]
        return min(self.free_out(flow.src), self.free_in(flow.dst))

    def give(self, f, rate):
        if rate > 0:
            flow = self.wl.flows[f]
            self.rate[f] += rate
            self.used_out[flow.src] += rate
            self.used_in[flow.dst] += rate

    def greedy(self, c):
        """DESIGN §4 (Sincronia's greedy): each flow of the coflow takes
        min(free send, free receive) of its ports. usage.md: the flows go by
        sender, each sender's by receiver (and equal pairs in file order).
        usage.md also allows walking by receiver: the rates are the same,
        since two flows that share a port meet in the same order both ways,
        and only they affect each other's rates."""
        def by_ports(f):
            flow = self.wl.flows[f]
            return (flow.src, flow.dst, f)
        for f in sorted(self.open_flows(c), key=by_ports):
            self.give(f, self.free(f))

    def madd(self, order):
        """Varys' MADD (DESIGN §4; Varys §5, Pseudocode 1): in order, each coflow's flows are
        paced to finish together at its bottleneck time Γ on what the
        coflows before it left free; a coflow with a full port is not paced.
        Then the greedy walk hands out what is left, in the same order
        (Varys' work conservation; usage.md: MADD's backfill)."""
        for c in order:
            out, inn = self.port_bytes(c, lambda f: self.remaining[f])
            frees = ([(b, self.free_out(p)) for p, b in out.items()] +
                     [(b, self.free_in(p)) for p, b in inn.items()])
            if any(free == 0 for _, free in frees):
                continue
            gamma = max(b / free for b, free in frees)
            for f in self.open_flows(c):
                self.give(f, self.remaining[f] / gamma)
        for c in order:
            self.greedy(c)

    def max_min_fair(self, flows):
        """DESIGN §4: per-flow max-min fair sharing, by progressive filling
        (Bertsekas and Gallager, Data Networks, §6.5.2). A port direction's
        share is its capacity left over its flows not yet fixed; the one
        with the smallest share is those flows' bottleneck, so they are
        fixed at it, and the others go on filling. Every port direction
        whose share is exactly that smallest one saturates at the same
        level, so all of them are fixed in the same round (a thousand
        flows on ports of their own take one round, not a thousand)."""
        unfixed = set(flows)
        while unfixed:
            through_out, through_in = {}, {}  # port -> its unfixed flows, each way
            for f in unfixed:
                flow = self.wl.flows[f]
                through_out.setdefault(flow.src, []).append(f)
                through_in.setdefault(flow.dst, []).append(f)
            shares = ([((self.cap_out[p] - self.used_out[p]) / len(fs), fs)
                       for p, fs in through_out.items()] +
                      [((self.cap_in[p] - self.used_in[p]) / len(fs), fs)
                       for p, fs in through_in.items()])
            level = min(share for share, _ in shares)
            for share, fs in shares:
                if share == level:
                    for f in fs:
                        if f in unfixed:
                            self.give(f, level)
                            unfixed.discard(f)

    # -- events (DESIGN §4): job arrival, coflow release, flow finish, and
    #    for the orderings that ask for it a change of order or a tick

    def next_event(self, active):
        t = math.inf
        for job in self.wl.jobs:
            if job.arrival_s > self.now:
                t = min(t, job.arrival_s)
        t = min([t] + list(self.pending.values()))
        for f, rate in enumerate(self.rate):
            if rate > 0:
                t = min(t, self.now + self.remaining[f] / rate)
        if self.ordering == "aalo":
            # Aalo's order changes, between events, when a job's bytes sent
            # cross its queue's threshold (policy doc, next_change)
            job_rate = [0.0] * len(self.wl.jobs)
            for f, rate in enumerate(self.rate):
                job_rate[self.wl.coflows[self.wl.flows[f].coflow].job] += rate
            for j, rate in enumerate(job_rate):
                if rate > 0:
                    threshold = AALO_FIRST_THRESHOLD * AALO_THRESHOLD_FACTOR ** self.aalo_queue(j)
                    # A crossing closer than one step of the clock is
                    # taken a step later: at 1e17 bytes/s a job a byte
                    # short of 10 MiB (beyond AALO_REL_TOL) would cross
                    # at a time that rounds to now, and nothing would
                    # ever move (weft takes it 8 units in the last place of the clock later)
                    t = min(t, max(self.now + (threshold - self.job_sent[j]) / rate,
                                   math.nextafter(self.now, math.inf)))
        if self.tick_s > 0 and active:
            # --tick S: a decision every S seconds, on the grid from the
            # first arrival, where the emulator starts (docs/testing.md, "Against
            # an independent reference"); with no coflow active there is
            # nothing to decide
            start = min(job.arrival_s for job in self.wl.jobs)
            k = math.floor((self.now - start) / self.tick_s) + 1
            while start + k * self.tick_s <= self.now:
                k += 1
            t = min(t, start + k * self.tick_s)
        return t

    def advance(self, t):
        """Moves every flow at its rate to time t, then finishes what is
        done: flows, their coflows, the children these release (format:
        after their own compute time) and the jobs they end (DESIGN §3:
        after the final compute)."""
        dt = t - self.now
        self.now = t
        finished = []
        for f, rate in enumerate(self.rate):
            if rate == 0:
                continue
            sent = rate * dt
            left = self.remaining[f] - sent
            if (left <= FINISH_REL_TOL * self.wl.flows[f].size or
                    left / rate <= FINISH_CLOCK_ULPS * math.ulp(self.now)):
                sent, left = self.remaining[f], 0.0
                finished.append(f)
            self.remaining[f] = left
            self.job_sent[self.wl.coflows[self.wl.flows[f].coflow].job] += sent
        # each coflow once, however many of its flows finished
        for c in dict.fromkeys(self.wl.flows[f].coflow for f in finished):
            if self.status[c] == ACTIVE and not self.open_flows(c):
                self.finish_coflow(c)

    def finish_coflow(self, c):
        wl = self.wl
        self.status[c], self.finish_s[c] = DONE, self.now
        for k in wl.coflows[c].children:
            self.parents_left[k] -= 1
            if self.parents_left[k] == 0:
                self.pending[k] = self.now + wl.coflows[k].compute_s
        job = wl.jobs[wl.coflows[c].job]
        if all(self.status[k] == DONE for k in job.coflows):
            self.job_finish_s[wl.coflows[c].job] = self.now + job.final_compute_s

    def run(self):
        wl = self.wl
        arrived = set()
        while True:
            # DESIGN §3: a job's roots are ready at its arrival, and released
            # after their compute time (format)
            for j, job in enumerate(wl.jobs):
                if j not in arrived and job.arrival_s <= self.now:
                    arrived.add(j)
                    for c in job.coflows:
                        if not wl.coflows[c].parents:
                            self.pending[c] = job.arrival_s + wl.coflows[c].compute_s
            for c, t in list(self.pending.items()):
                if t <= self.now:
                    del self.pending[c]
                    self.status[c], self.release_s[c] = ACTIVE, t
            active = [c for c, s in enumerate(self.status) if s == ACTIVE]
            if all(s == DONE for s in self.status):
                return self.release_s, self.finish_s, self.job_finish_s
            self.allocate(self.order(active))
            t = self.next_event(active)
            if t == math.inf:
                raise RuntimeError(f"stalled at t={self.now!r}: no rate, no event")
            self.advance(t)


def simulate(wl, policy, port_rate=DEFAULT_PORT_RATE, port_caps=None, tick_s=0.0):
    """Replays wl under policy: "ordering:allocator", an ordering alone
    (with its own allocator) or an allocator alone (--help: fair and srf
    run under fifo). port_caps maps a port to its own rate, each way.
    Returns per coflow its release and finish times and per job its finish
    time, in file order (seconds)."""
    ordering, _, allocator = policy.partition(":")
    if not allocator and ordering in ALLOCATORS:
        ordering, allocator = "fifo", ordering
    allocator = allocator or ORDERINGS.get(ordering)
    if ordering not in ORDERINGS or allocator not in ALLOCATORS:
        raise ValueError(f"policy '{policy}': expected ORDERING[:ALLOCATOR], orderings "
                         f"{', '.join(ORDERINGS)}; allocators {', '.join(ALLOCATORS)}")
    caps = PortRates(port_rate, port_caps or {})
    return Emulator(wl, ordering, allocator, caps, caps, tick_s).run()


def main():
    parser = argparse.ArgumentParser(
        description="Replays a weft workload from the documented definitions "
                    "and prints every coflow's release and finish time.")
    parser.add_argument("workload", help="a file in weft's text format")
    parser.add_argument("--policy", required=True,
                        help="ORDERING:ALLOCATOR (sebf:greedy), or one of them as in weft sim")
    parser.add_argument("--port-rate", type=float, default=DEFAULT_PORT_RATE,
                        help="every port's rate each way, bytes/s (default 1.25e8)")
    parser.add_argument("--port-cap", action="append", default=[], metavar="PORT=RATE",
                        help="one port's rate each way, bytes/s (repeatable)")
    parser.add_argument("--tick", type=float, default=0.0, help="a decision every S seconds")
    parser.add_argument("--jobs", action="store_true", help="print job,finish_s instead")
    args = parser.parse_args()
    caps = {}
    for cap in args.port_cap:
        port, _, rate = cap.partition("=")
        caps[int(port)] = float(rate)
    wl = read_weft(args.workload)
    release, finish, job_finish = simulate(wl, args.policy, args.port_rate, caps, args.tick)
    if args.jobs:
        print("job,finish_s")
        for j, job in enumerate(wl.jobs):
            print(f"{job.id},{job_finish[j]:.17g}")
    else:
        print("job,coflow,release_s,finish_s")
        for c, coflow in enumerate(wl.coflows):
            print(f"{wl.jobs[coflow.job].id},{coflow.id},{release[c]:.17g},{finish[c]:.17g}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as e:
        sys.exit(f"refsim: {e}")
