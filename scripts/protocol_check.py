#!/usr/bin/env python3
"""protocol_check.py - a second client of `weft serve`, from docs/protocol.md alone.

Written from docs/protocol.md and README's "The live gateway" (its
detail now docs/gateway.md) without reading rpc/, cli/ or tests/,
as scripts/refsim.py is written from the definitions: where this client and
the gateway disagree, one of the two is wrong. It speaks the protocol itself,
with Python's msgpack (Debian's python3-msgpack, scripts/install-deps.sh),
over plain TCP sockets to a real
`weft serve` (a free port, a token, a journal in a temporary directory):

  - two clients: hello, welcome, status, register (and its duplicate, in
    another encoding, and a conflicting one), bad jobs, watch, job_status;
  - an agent per port: hello, peers, schedule, progress (and the bad ones),
    done, driving a job of three coflows in a DAG on three ports to its
    job_done with simulated transfers at the rates pushed;
  - a second job cancelled mid-transfer, with an agent replaced and one away
    at the cancel that re-reports its flow and is told to drop it;
  - hostile frames and messages, each on a connection of its own: a frame
    over the cap, bad msgpack maps, an unknown type, a wrong token, a stray
    message before hello, a slow-loris, one connection past --max-conns;
  - a restart from the journal under --keep-finished 1: the job remembered
    with its JCT and bytes, the one forgotten answered as such, flow ids
    never given out twice;
  - a second gateway whose agents and clients have secrets of their own:
    an agent's register, watch and cancel are forbidden; another with a
    secret per agent's port, whose refusals and SIGHUP drops say why
    (port-no-agent, secret-rotated), as a hello's id past the ports does
    (id-range), each checked by a checker that refuses a malformed why;
  - a third gateway: a schedule of 9000 flows to one agent, and its
    cancel's drops, in messages of at most 8192; 16 jobs finished after
    it, so the table is compacted, and the jobs compacted away are still
    answered (job_status, watch, register and cancel as duplicates, a late
    progress with a drop, a late done with its ack);
  - a fourth, with --idle-timeout 0.3: a silent client closed (not before),
    one that pings every third of it kept; a client that asks for 29 MB of
    job_status answers and does not read them gets, past 16 MiB queued,
    the error slow-reader after them, and the close.

Every field the document promises in each answer is checked. The gateway
runs with --hello-timeout and --frame-timeout of 1 s, which the slow-loris
and an incomplete frame wait out, and the idle timeout: about 2.2 s in all.

With --crowd N, instead, N agents (N above 4096, the entries a peers
message holds) on one gateway started with a login shell's soft limit of
1024 open files, over raw sockets read through epoll: every hello sent at
once, then each agent must be told of every other exactly once (a full
list on arrival, then only the newcomers), with the host, data port and
acks it said; a last newcomer told all N in ceil(N / 4096) messages and
the others of it alone; an agent restarted on another data port, told to
all; then the same with --max-frame 4096 (more, smaller messages). It
prints how long the hellos took to be answered and the gateway's RSS, and
exits 77 (skipped) when the hard limit of open files is below N + 64.
First, a gateway whose hard limit is short of --max-conns must say so.

    python3 scripts/protocol_check.py [--weft PATH] [--keep DIR] [-v] [--crowd N]

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds, 1
with a line naming the step that failed (2 if it cannot run at all). The
gateway is killed at the end whatever happens.
"""
import argparse
import math
import os
import resource
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from weft_msgpack import msgpack  # noqa: E402
from tied_child import tied  # noqa: E402 (its weft children end with it, even SIGKILLed)

TOKEN = "protocol-check secret"
PORTS = 3
PORT_RATE = 20e6      # bytes/s each way, --port-rate
CAP2 = 10e6           # port 2's own rate, --port-cap 2=...
MAX_FRAME = 1048576   # the default frame cap
MAX_OBJECTS = 524288  # the gateway's object cap at that frame cap
MAX_CONNS = 24
HELLO_TIMEOUT = 1.0   # s: the slow-loris is closed after it
FRAME_TIMEOUT = 1.0   # s: and a client's frame left incomplete
ANSWER_S = 10.0       # s to wait for any answer (a loaded machine)
REPORT_S = 0.01       # s between an agent's progress reports, as weft agent's
RATE_TOL = 1.002      # rates are pushed again only past 0.1% of change
VERBOSE = False

STEP = ["start"]


class CheckFailed(Exception):
    pass


def step(name):
    STEP[0] = name
    if VERBOSE:
        print(f"  {name}", file=sys.stderr)


def fail(why):
    raise CheckFailed(f"step '{STEP[0]}': {why}")


def check(cond, why):
    if not cond:
        fail(why)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def is_num(x):
    return is_int(x) or isinstance(x, float)


def cap_of(port):
    return CAP2 if port == 2 else PORT_RATE


def frame(payload):
    """A frame: the payload's length in 4 bytes, big-endian, then it."""
    return struct.pack(">I", len(payload)) + payload


def pack(msg):
    return msgpack.packb(msg, use_bin_type=True)


class Conn:
    """One TCP connection to the gateway: frames out, frames in. Messages a
    subclass does not take go to inbox, in order."""
    live = []  # every connection not yet closed by either side

    def __init__(self, port, name):
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.inbox = []
        self.eof = False
        self.sent_frames = 0
        Conn.live.append(self)

    def fileno(self):
        return self.sock.fileno()

    def send(self, msg):
        self.send_bytes(frame(pack(msg)))
        self.sent_frames += 1

    def send_bytes(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            fail(f"{self.name}: cannot send: {e}")

    def close(self):
        if self in Conn.live:
            Conn.live.remove(self)
        self.sock.close()

    def read_some(self):
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError:
            data = b""
        if not data:  # the gateway's end: ours too, so it frees the connection
            self.eof = True
            self.close()
            return
        self.buf += data
        while len(self.buf) >= 4:
            (n,) = struct.unpack(">I", self.buf[:4])
            check(n <= MAX_FRAME, f"{self.name}: the gateway sent a frame of {n} bytes, "
                  f"over its own max_frame {MAX_FRAME}")
            if len(self.buf) < 4 + n:
                break
            payload = bytes(self.buf[4:4 + n])
            del self.buf[:4 + n]
            try:
                msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
            except Exception as e:  # noqa: BLE001 (any decoding fault is the finding)
                fail(f"{self.name}: a frame that is not exactly one msgpack object: {e}")
            check(isinstance(msg, dict), f"{self.name}: a frame that is not a map: {msg!r}")
            check(isinstance(msg.get("type"), str), f"{self.name}: a map without a str "
                  f"type: {msg!r}")
            if VERBOSE:
                print(f"    {self.name} <- {str(msg)[:300]}", file=sys.stderr)
            self.take(msg)

    def take(self, msg):
        self.inbox.append(msg)

    def next(self, what="an answer"):
        """The next message of the inbox, waiting for it (every connection
        is served meanwhile)."""
        pump(lambda: self.inbox or self.eof, f"{what} on {self.name}")
        check(self.inbox, f"{self.name} closed by the gateway while waiting for {what}")
        return self.inbox.pop(0)

    def expect(self, mtype, what=None):
        msg = self.next(what or mtype)
        check(msg["type"] == mtype, f"{self.name}: expected {mtype}, got {msg!r}")
        return msg

    def expect_error(self, code, contains=(), closes=False, why=None):
        """An error of that code whose message holds every string of contains,
        and whose why is why (a str, or (str, lo, hi)) or absent (None);
        then the close, if closes, else the connection must still answer."""
        msg = self.expect("error", f"error {code}")
        check_keys(msg, {"type", "code", "message"}, {"job", "why", "lo", "hi"}, "error")
        check_error_why(msg, f"{self.name}: error {code}")
        said = (msg.get("why"), msg.get("lo"), msg.get("hi"))
        want = why if isinstance(why, tuple) else (why, None, None)
        check(said == want, f"{self.name}: error {code} says why, lo, hi {said!r}, expected "
              f"{want!r}: {msg!r}")
        check(msg["code"] == code, f"{self.name}: error code {msg['code']!r} "
              f"({msg['message']!r}), expected {code!r}")
        check(isinstance(msg["message"], str) and msg["message"],
              f"{self.name}: an error without a message: {msg!r}")
        for s in contains:
            check(s in msg["message"], f"{self.name}: error {code} says {msg['message']!r}, "
                  f"which does not name {s!r}")
        if closes:
            self.expect_close(f"the close after error {code}")
        return msg

    def expect_close(self, what):
        pump(lambda: self.eof or self.inbox, f"{what} on {self.name}")
        if self.inbox:
            fail(f"{self.name}: {self.inbox[0]!r} where {what} was due")

    def ping(self, seq):
        """A barrier: everything sent before the ping has been handled once
        the pong arrives. Returns the messages before the pong."""
        self.send({"type": "ping", "seq": seq})
        before = []
        while True:
            msg = self.next("pong")
            if msg["type"] == "pong":
                check(msg.get("seq") == seq, f"{self.name}: pong {msg!r} for ping {seq}")
                return before
            before.append(msg)

    def quiet(self, seq):
        """A barrier after which nothing was answered."""
        before = self.ping(seq)
        check(not before, f"{self.name}: unexpected answers {before!r}")


class Client(Conn):
    """A client connection: job_done messages are kept apart, by job."""

    def __init__(self, port, name):
        super().__init__(port, name)
        self.job_done = {}
        self.job_done_count = {}

    def take(self, msg):
        if msg["type"] == "job_done":
            check_job_done(self.name, msg)
            check(msg["job"] not in self.job_done or self.job_done[msg["job"]] == msg,
                  f"{self.name}: a second job_done for job {msg['job']} that differs: {msg!r}")
            self.job_done[msg["job"]] = msg
            self.job_done_count[msg["job"]] = self.job_done_count.get(msg["job"], 0) + 1
        else:
            self.inbox.append(msg)


JOBS = {}  # job id -> (first flow id, [(src, dst, bytes, coflow id), ...]) as acknowledged


def flow_of(fid):
    """(job id, src, dst, bytes, coflow id) of a flow id given out, or None."""
    for job_id, (first, flows) in JOBS.items():
        if first <= fid < first + len(flows):
            return (job_id,) + flows[fid - first]
    return None


class Agent(Conn):
    """An agent: applies peers and schedule as weft agent would, and when
    running moves its flows at the rates pushed, reporting progress totals
    and done as the document says."""

    def __init__(self, port, name, port_id, data_port):
        super().__init__(port, name)
        self.id = port_id
        self.data_port = data_port
        self.peers = {}        # agent id -> (host, data port, acks)
        self.flows = {}        # fid -> {"dst","bytes","sent","rate","cls","reported"}
        self.told = set()      # flows this connection was told of in schedule.new
        self.new_at = {}       # fid -> when its schedule.new arrived
        self.dropped = set()
        self.drop_only = []    # schedules that were a drop alone
        self.done_seq = {}     # seq -> [fid] sent, not yet acknowledged
        self.done_sent_at = {}  # fid -> when its done was sent
        self.done_acked = set()
        self.seq = 1000
        self.running = False
        self.no_seq = False    # send done without seq: applied, never acknowledged
        self.done_unacked = set()
        self.last_move = None
        self.last_report = 0.0
        self.schedules = 0
        self.entries = 0       # flow entries received in schedule messages
        self.held = []

    def hello(self, token=TOKEN, **extra):
        msg = {"type": "hello", "v": 1, "token": token, "role": "agent", "id": self.id,
               "port": self.data_port}
        msg.update(extra)
        self.send(msg)

    hold = False  # while a registration's ack is awaited: its flow ids are not known yet

    def take(self, msg):
        if Agent.hold:
            self.held.append(msg)
        elif msg["type"] == "peers":
            self.take_peers(msg)
        elif msg["type"] == "schedule":
            self.take_schedule(msg)
        elif msg["type"] == "ack" and msg.get("seq") in self.done_seq:
            check_keys(msg, {"type", "seq"}, set(), f"{self.name}: done's ack")
            for fid in self.done_seq.pop(msg["seq"]):
                self.flows.pop(fid, None)
                self.done_acked.add(fid)
        else:
            self.inbox.append(msg)

    def take_peers(self, msg):
        check_keys(msg, {"type", "peers", "acks"}, set(), f"{self.name}: peers")
        peers, acks = msg["peers"], msg["acks"]
        check(isinstance(peers, list) and isinstance(acks, list) and len(peers) == len(acks)
              and 0 < len(peers) <= 4096, f"{self.name}: peers and acks do not pair: {msg!r}")
        for entry, ack in zip(peers, acks):
            check(isinstance(entry, list) and len(entry) == 3 and is_int(entry[0])
                  and 0 <= entry[0] < PORTS and isinstance(entry[1], str) and is_int(entry[2])
                  and 0 < entry[2] < 65536 and is_int(ack) and ack >= 0,
                  f"{self.name}: a bad peers entry {entry!r} (acks {ack!r})")
            self.peers[entry[0]] = (entry[1], entry[2], ack)

    def take_schedule(self, msg):
        name = f"{self.name}: schedule"
        check_keys(msg, {"type", "new", "flows"}, {"drop"}, name)
        new, flows, drop = msg["new"], msg["flows"], msg.get("drop", [])
        check(isinstance(new, list) and isinstance(flows, list) and isinstance(drop, list),
              f"{name}: new, flows and drop must be arrays: {msg!r}")
        check(len(new) + len(flows) <= 2 * 8192, f"{name}: over 8192 flows in one message")
        self.schedules += 1
        self.entries += len(flows)
        now = time.monotonic()
        if drop and not new and not flows:
            self.drop_only.append(drop)
        rated = {f[0] for f in flows if isinstance(f, list) and f}
        for entry in new:
            check(isinstance(entry, list) and len(entry) == 4 and is_int(entry[0])
                  and is_int(entry[1]) and is_num(entry[2]) and is_num(entry[3]),
                  f"{name}: a bad new entry {entry!r}")
            fid, dst, size, sent = entry
            known = flow_of(fid)
            check(known is not None, f"{name}: new flow {fid} is no flow registered")
            _, src, kdst, ksize, _ = known
            check(src == self.id, f"{name}: new flow {fid} is port {src}'s, not {self.id}'s")
            check(dst == kdst and size == ksize, f"{name}: new flow {fid} is {dst} {size}, "
                  f"registered as {kdst} {ksize}")
            check(0 <= sent <= size, f"{name}: new flow {fid} sent {sent} of {size}")
            check(fid not in self.told, f"{name}: flow {fid} told in new twice to one "
                  f"connection")
            check(fid in rated, f"{name}: new flow {fid} is not in flows")
            self.told.add(fid)
            self.new_at[fid] = now
            own = self.flows.get(fid, {}).get("sent", 0)
            self.flows[fid] = {"dst": dst, "bytes": size, "sent": max(own, sent),
                               "gw_sent": sent, "rate": 0.0, "cls": None,
                               "reported": max(own, sent)}
        for entry in flows:
            check(isinstance(entry, list) and len(entry) == 3 and is_int(entry[0])
                  and is_num(entry[1]) and is_int(entry[2]),
                  f"{name}: a bad flows entry {entry!r}")
            fid, rate, cls = entry
            # (a flow done without seq is forgotten at once: the gateway may
            # not have read that done yet)
            check(fid in self.flows or fid in drop or fid in self.done_unacked,
                  f"{name}: a rate for flow {fid}, which this agent does not hold")
            check(0 <= rate <= cap_of(self.id) * RATE_TOL and cls >= 0,
                  f"{name}: flow {fid} at rate {rate} class {cls} (port rate "
                  f"{cap_of(self.id)})")
            if fid in self.flows:
                self.flows[fid]["rate"] = float(rate)
                self.flows[fid]["cls"] = cls
        for fid in drop:
            check(is_int(fid), f"{name}: a bad drop entry {fid!r}")
            if fid in self.flows:  # a drop of a flow not held is ignored
                del self.flows[fid]
                self.dropped.add(fid)
        busy = [f for fid, f in self.flows.items() if fid not in self.done_sent_at]
        total = sum(f["rate"] for f in busy)
        check(total <= cap_of(self.id) * RATE_TOL,
              f"{name}: port {self.id} sends at {total} B/s in all, over its {cap_of(self.id)}")
        for dst in range(PORTS):
            if dst not in self.peers and any(f["dst"] == dst and f["rate"] > 0 for f in busy):
                fail(f"{name}: a flow to port {dst}, which has no agent, at a rate above 0")

    def next_seq(self):
        self.seq += 1
        return self.seq

    def move(self, now):
        """Advances the running flows by their rates and reports them."""
        if self.eof or not self.running:
            self.last_move = None
            return
        if self.last_move is not None:
            dt = now - self.last_move
            for f in self.flows.values():
                f["sent"] = min(f["bytes"], f["sent"] + f["rate"] * dt)
        self.last_move = now
        finished = [fid for fid, f in self.flows.items()
                    if f["sent"] >= f["bytes"] and fid not in self.done_sent_at]
        if finished and self.no_seq:
            self.send({"type": "done", "flows": finished})
            for fid in finished:
                self.done_sent_at[fid] = now
                self.done_unacked.add(fid)
                del self.flows[fid]
        elif finished:
            seq = self.next_seq()
            self.send({"type": "done", "seq": seq, "flows": finished})
            self.done_seq[seq] = finished
            for fid in finished:
                self.done_sent_at[fid] = now
        if now - self.last_report >= REPORT_S:
            self.report()
            self.last_report = now

    def report(self):
        """Sends the whole bytes sent of every flow that moved since its last
        report, below its size (a count equal to it would complete it)."""
        totals = []
        for fid, f in self.flows.items():
            whole = int(f["sent"])
            if whole > f["reported"] and whole < f["bytes"]:
                totals.append([fid, whole])
                f["reported"] = whole
        if totals:
            self.send({"type": "progress", "flows": totals})

    def stop(self):
        """Stops moving, and reports where every flow stands."""
        self.running = False
        self.last_move = None
        self.report()


def pump(until, what, timeout=ANSWER_S):
    """Serves every connection (reads, agents' transfers) until until()."""
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        for c in list(Conn.live):
            if isinstance(c, Agent):
                c.move(now)
        if until():
            return
        left = deadline - now
        if left <= 0:
            fail(f"no {what} within {timeout:g} s")
        moving = any(isinstance(c, Agent) and c.running for c in Conn.live)
        ready, _, _ = select.select(list(Conn.live), [], [],
                                    min(left, 0.002) if moving else min(left, 0.5))
        for c in ready:
            if c in Conn.live:
                c.read_some()


def check_keys(msg, required, optional, what):
    keys = set(msg)
    missing = required - keys
    check(not missing, f"{what}: missing {sorted(missing)} in {msg!r}")
    extra = keys - required - optional
    check(not extra, f"{what}: keys the document does not name, {sorted(extra)}, in {msg!r}")


def check_error_why(msg, what):
    """An error's machine-readable part, as "Errors" defines it: why a str;
    lo and hi ints, both or neither, lo <= hi, only with a why; id-range
    always with them. A why of a case not listed is allowed (later ones)."""
    check("why" not in msg or isinstance(msg["why"], str),
          f"{what}: 'why' is not a str: {msg!r}")
    check(("lo" in msg) == ("hi" in msg), f"{what}: 'lo' and 'hi' do not come together: "
          f"{msg!r}")
    if "lo" in msg:
        check("why" in msg, f"{what}: 'lo' and 'hi' without 'why': {msg!r}")
        for k in ("lo", "hi"):
            check(is_int(msg[k]), f"{what}: '{k}' is not an int: {msg!r}")
        check(msg["lo"] <= msg["hi"], f"{what}: 'lo' above 'hi': {msg!r}")
    check(msg.get("why") != "id-range" or "lo" in msg, f"{what}: id-range without 'lo' and "
          f"'hi': {msg!r}")


def check_the_why_checker():
    """check_error_why refuses each malformed part the document names, with
    the key at fault, and takes the well-formed ones: a checker that takes
    anything would find nothing wrong with the gateway's errors."""
    step("the checker of an error's why")
    base = {"type": "error", "code": "protocol", "message": "m"}
    good = [{}, {"why": "port-no-agent"}, {"why": "id-range", "lo": 0, "hi": 2},
            {"why": "a-later-case"}, {"why": "x", "lo": 5, "hi": 5}]
    bad = [({"why": 1}, "'why' is not a str"), ({"why": None}, "'why' is not a str"),
           ({"why": "id-range", "lo": "0", "hi": 2}, "'lo' is not an int"),
           ({"why": "id-range", "lo": 0, "hi": 2.0}, "'hi' is not an int"),
           ({"why": "id-range", "lo": True, "hi": 2}, "'lo' is not an int"),
           ({"why": "id-range", "lo": 0}, "'lo' and 'hi' do not come together"),
           ({"lo": 0, "hi": 2}, "'lo' and 'hi' without 'why'"),
           ({"why": "id-range", "lo": 3, "hi": 2}, "'lo' above 'hi'"),
           ({"why": "id-range"}, "id-range without 'lo' and 'hi'")]
    for extra in good:
        check_error_why({**base, **extra}, "a well-formed why")
    for extra, says in bad:
        try:
            check_error_why({**base, **extra}, "a malformed why")
        except CheckFailed as e:
            check(says in str(e), f"{extra!r} refused as {e}, which does not say {says!r}")
            continue
        fail(f"the checker took the malformed {extra!r}")


def check_job_done(name, msg):
    what = f"{name}: job_done"
    if msg.get("forgotten"):
        check_keys(msg, {"type", "job", "forgotten"}, set(), what)
        return
    check_keys(msg, {"type", "job", "jct"}, {"cancelled"}, what)
    check(is_int(msg["job"]) and is_num(msg["jct"]) and msg["jct"] >= 0,
          f"{what}: bad job or jct in {msg!r}")
    check(msg.get("cancelled", True) is True, f"{what}: cancelled is not true: {msg!r}")


def check_welcome(conn, epoch=None, idle=60):
    msg = conn.expect("welcome")
    check_keys(msg, {"type", "v", "ports", "rate", "idle", "epoch", "max_frame"}, set(),
               f"{conn.name}: welcome")
    check(msg["v"] == 1 and msg["ports"] == PORTS, f"{conn.name}: welcome {msg!r}")
    check(is_num(msg["rate"]) and msg["rate"] == PORT_RATE, f"{conn.name}: welcome rate "
          f"{msg['rate']!r}, expected --port-rate {PORT_RATE:g}")
    check(is_num(msg["idle"]) and msg["idle"] == idle, f"{conn.name}: welcome idle "
          f"{msg['idle']!r}, expected the --idle-timeout {idle}")
    check(is_int(msg["epoch"]) and 1 <= msg["epoch"] < 2 ** 63,
          f"{conn.name}: welcome epoch {msg['epoch']!r}")
    check(msg["max_frame"] == MAX_FRAME, f"{conn.name}: welcome max_frame "
          f"{msg['max_frame']!r}, expected {MAX_FRAME}")
    if epoch is not None:
        check(msg["epoch"] == epoch, f"{conn.name}: epoch {msg['epoch']} where the "
              f"gateway's is {epoch}")
    return msg


STATUS_KEYS = {"type", "version", "uptime", "epoch", "policy", "allocator", "ports", "rate",
               "ports_own_rate", "port_rates", "conns", "agents", "ports_waiting",
               "waiting_ports", "jobs", "jobs_held", "jobs_finished", "jobs_in_flight",
               "jobs_forgotten", "keep_finished", "flows_unfinished", "decisions",
               "rebuilds", "changes_pushed", "frames_in", "protocol_errors",
               "auth_failures", "timeouts", "slow_readers", "replaced", "decision_s",
               "token_files", "tls",
               "agent_secrets", "model", "journal"}


def status(conn, seq, journal, **want):
    """Asks for status, checks every documented key, and those of want."""
    if seq is None:
        conn.send({"type": "status"})
    else:
        conn.send({"type": "status", "seq": seq})
    msg = conn.expect("status")
    what = f"{conn.name}: status"
    # agent_ports is documented as present only when ports <= 64: it is here
    check_keys(msg, STATUS_KEYS | {"agent_ports"} | ({"seq"} if seq is not None else set()),
               set(), what)
    if seq is not None:
        check(msg["seq"] == seq, f"{what}: seq {msg['seq']!r}, asked {seq}")
    check(isinstance(msg["version"], str) and msg["version"], f"{what}: version")
    check(isinstance(msg["uptime"], float) and msg["uptime"] > 0, f"{what}: uptime "
          f"{msg['uptime']!r}")
    check(is_int(msg["epoch"]) and 1 <= msg["epoch"] < 2 ** 63, f"{what}: epoch")
    check(msg["policy"] == "sebf" and isinstance(msg["allocator"], str) and msg["allocator"],
          f"{what}: policy {msg['policy']!r} allocator {msg['allocator']!r}")
    check(msg["ports"] == PORTS and isinstance(msg["rate"], float)
          and msg["rate"] == PORT_RATE, f"{what}: ports {msg['ports']!r} rate {msg['rate']!r}")
    check(msg["ports_own_rate"] == 1 and msg["port_rates"] == [[2, CAP2]]
          and isinstance(msg["port_rates"][0][1], float),
          f"{what}: ports_own_rate {msg['ports_own_rate']!r} port_rates "
          f"{msg['port_rates']!r}, expected 1 and [[2, {CAP2:g}]]")
    ints = ("conns", "agents", "ports_waiting", "jobs", "jobs_held", "jobs_finished",
            "jobs_in_flight", "jobs_forgotten", "flows_unfinished", "decisions", "rebuilds",
            "changes_pushed", "frames_in", "protocol_errors", "auth_failures", "timeouts",
            "slow_readers", "replaced")
    for k in ints:
        check(is_int(msg[k]) and msg[k] >= 0, f"{what}: {k} {msg[k]!r}")
    check(msg["conns"] >= 1, f"{what}: conns {msg['conns']} does not count this one")
    for k in ("agent_ports", "waiting_ports"):
        v = msg[k]
        check(isinstance(v, list) and all(is_int(p) and 0 <= p < PORTS for p in v)
              and v == sorted(set(v)), f"{what}: {k} {v!r} is not ascending ports")
    check(len(msg["agent_ports"]) == msg["agents"], f"{what}: agents {msg['agents']} but "
          f"agent_ports {msg['agent_ports']!r}")
    check(len(msg["waiting_ports"]) == msg["ports_waiting"], f"{what}: ports_waiting "
          f"{msg['ports_waiting']} but waiting_ports {msg['waiting_ports']!r}")
    check(msg["jobs_held"] <= msg["jobs"] and msg["jobs_finished"] <= msg["jobs"]
          and msg["jobs_in_flight"] == msg["jobs"] - msg["jobs_finished"]
          and msg["jobs_forgotten"] <= msg["jobs_finished"],
          f"{what}: job counts do not add up: {msg!r}")
    if "keep_finished" not in want:
        check(msg["keep_finished"] is None, f"{what}: keep_finished "
              f"{msg['keep_finished']!r} without --keep-finished")
    d = msg["decision_s"]
    if msg["decisions"] == 0:
        check(d is None, f"{what}: decision_s {d!r} before any decision")
    if d is not None:
        check(isinstance(d, dict) and set(d) == {"n", "p50", "p99", "max"}
              and is_int(d["n"]) and 1 <= d["n"] <= min(1024, msg["decisions"])
              and all(isinstance(d[k], float) for k in ("p50", "p99", "max"))
              and 0 <= d["p50"] <= d["p99"] <= d["max"], f"{what}: decision_s {d!r}")
    for k in ("token_files", "tls", "agent_secrets", "model"):
        check(msg[k] is None or k in want, f"{what}: {k} {msg[k]!r}, expected nil on this gateway")
    j = msg["journal"]
    check(isinstance(j, dict) and set(j) == {"path", "records", "syncs", "rewrites", "format"}
          and j["path"] == journal and is_int(j["records"]) and j["records"] >= 1
          and is_int(j["syncs"]) and is_int(j["rewrites"]) and j["format"] == 2,
          f"{what}: journal {j!r}")
    for k, v in want.items():
        check(msg[k] == v, f"{what}: {k} is {msg[k]!r}, expected {v!r}")
    return msg


def job_status(conn, job_id, seq=None):
    msg = {"type": "job_status", "job": job_id}
    if seq is not None:
        msg["seq"] = seq
    conn.send(msg)
    ans = conn.expect("job_status")
    what = f"{conn.name}: job_status {job_id}"
    if "forgotten" in ans:  # --keep-finished: known to have finished, nothing more
        check_keys(ans, {"type", "seq", "job", "state", "forgotten", "keep_finished",
                         "coflows"}, set(), what)
        check(ans["seq"] == (-1 if seq is None else seq) and ans["job"] == job_id
              and ans["state"] == "finished" and ans["forgotten"] is True
              and ans["coflows"] is None, f"{what}: forgotten {ans!r}")
        return ans
    check_keys(ans, {"type", "seq", "job", "state", "coflows"}, {"age", "jct", "of"}, what)
    check(ans["seq"] == (-1 if seq is None else seq), f"{what}: seq {ans['seq']!r}")
    check(ans["job"] == job_id, f"{what}: job {ans['job']!r}")
    check(ans["state"] in ("running", "finished", "cancelled"), f"{what}: state "
          f"{ans['state']!r}")
    timing = "age" if ans["state"] == "running" else "jct"
    check(timing in ans and len(set(ans) & {"age", "jct"}) == 1 and is_num(ans[timing])
          and ans[timing] >= 0, f"{what}: a {ans['state']} job has {timing} alone: {ans!r}")
    cofs = ans["coflows"]
    if cofs is None:  # compacted away: only its id and JCT are kept
        check(ans["state"] != "running", f"{what}: a running job without coflows")
        check("of" not in ans, f"{what}: \"of\" without coflows listed: {ans!r}")
        return ans
    check(isinstance(cofs, list), f"{what}: coflows {cofs!r}")
    # since 2026-12-07: "of" with the coflows listed, and the places of the
    # active ones in the last decision's order, 1..of, none shared
    check("of" in ans and is_int(ans["of"]) and ans["of"] >= 0, f"{what}: of {ans.get('of')!r}")
    base = {"id", "state", "flows", "flows_done", "bytes", "sent", "rate", "waits_on"}
    ranks = []
    for c in cofs:
        check(isinstance(c, dict) and base <= set(c) <= base | {"rank", "score"},
              f"{what}: a coflow's keys {sorted(c) if isinstance(c, dict) else c!r}")
        check(c["state"] in ("waiting", "active", "done", "cancelled") and is_int(c["id"])
              and is_int(c["flows"]) and is_int(c["flows_done"])
              and isinstance(c["bytes"], float) and isinstance(c["sent"], float)
              and isinstance(c["rate"], float) and isinstance(c["waits_on"], list),
              f"{what}: coflow {c!r}")
        if "rank" in c:
            check(c["state"] == "active" and is_int(c["rank"]) and 1 <= c["rank"] <= ans["of"],
                  f"{what}: coflow {c['id']} ranked {c['rank']!r} of {ans['of']!r}, "
                  f"{c['state']}")
            ranks.append(c["rank"])
        check("score" not in c or ("rank" in c and isinstance(c["score"], float)
                                   and math.isfinite(c["score"])),
              f"{what}: coflow {c['id']}'s score {c.get('score')!r} (rank {c.get('rank')!r})")
    check(len(set(ranks)) == len(ranks), f"{what}: ranks shared: {sorted(ranks)}")
    return ans


def coflow(ans, cid):
    for c in ans["coflows"]:
        if c["id"] == cid:
            return c
    fail(f"job_status {ans['job']}: no coflow {cid}")
    return None


class Gateway:
    def __init__(self, weft, work):
        self.weft, self.work = weft, work
        self.journal = os.path.join(work, "gw.journal")
        self.proc = None
        self.port = None
        self.starts = 0
        self.err_path = ""  # none until started

    def start(self, extra=(), ports=PORTS, max_conns=MAX_CONNS, fd_limits=None):
        self.starts += 1
        port_file = os.path.join(self.work, f"port{self.starts}")
        self.err_path = os.path.join(self.work, f"serve{self.starts}.err")
        args = [self.weft, "serve", "--ports", str(ports), "--port-rate", f"{PORT_RATE:.0f}",
                "--port-cap", f"2={CAP2:.0f}", "--policy", "sebf", "--token", TOKEN,
                "--listen", "127.0.0.1:0", "--port-file", port_file, "--journal",
                self.journal, "--hello-timeout", f"{HELLO_TIMEOUT:g}",
                "--frame-timeout", f"{FRAME_TIMEOUT:g}",
                "--max-conns", str(max_conns)] + list(extra)
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=err, start_new_session=True,
                preexec_fn=tied(fd_limits and (lambda: resource.setrlimit(
                    resource.RLIMIT_NOFILE, fd_limits))))
        # It prints its address on stdout once listening: wait for that line.
        ready, _, _ = select.select([self.proc.stdout], [], [], ANSWER_S)
        line = self.proc.stdout.readline().decode() if ready else ""
        check("listening on 127.0.0.1:" in line, f"weft serve did not start: {line!r} "
              f"(stderr: {self.stderr()})")
        self.port = int(line.split("listening on 127.0.0.1:")[1].split()[0])
        self.port_file = port_file

    def check_port_file(self):
        """--port-file holds the port stdout named (by now: it may be written
        after the line)."""
        with open(self.port_file) as f:
            check(int(f.read().split()[0]) == self.port, f"--port-file {self.port_file} "
                  f"does not hold the port {self.port} stdout named")

    def stderr(self):
        try:
            with open(self.err_path) as f:
                return f.read().strip()[-2000:]
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL if it lingers; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(ANSWER_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode

    def alive(self):
        check(self.proc.poll() is None, f"weft serve exited with status "
              f"{self.proc.returncode}: {self.stderr()}")


def client(gw, name, token=TOKEN, **extra):
    c = Client(gw.port, name)
    msg = {"type": "hello", "v": 1, "token": token, "role": "client"}
    msg.update(extra)
    c.send(msg)
    return c


# Job 101: coflows 10 and 20 are roots, 30 waits on both (and 20 ms of
# compute). On port 2 at 10 MB/s, coflow 10 (20 ms on port 2) comes before
# 20 (30 ms) in SEBF's order, so agent 0 has a class-0 and a class-1 flow.
JOB1 = {"id": 101, "weight": 2, "final_compute": 0.01, "coflows": [
    {"id": 10, "flows": [[0, 1, 200000], [1, 2, 200000]]},
    {"id": 20, "flows": [[2, 0, 300000], [0, 2, 100000.5]]},
    {"id": 30, "compute": 0.02, "parents": [10, 20],
     "flows": [[0, 2, 100000], [1, 0, 150000]]}]}
# The same job in another encoding: floats for integers, defaults spelt out.
JOB1_AGAIN = {"id": 101, "weight": 2.0, "final_compute": 0.01, "coflows": [
    {"id": 10, "compute": 0, "parents": [], "flows": [[0, 1, 200000.0], [1, 2, 200000]]},
    {"id": 20, "compute": 0.0, "flows": [[2, 0, 300000], [0, 2, 100000.5]]},
    {"id": 30, "compute": 0.02, "parents": [10, 20],
     "flows": [[0, 2, 100000], [1, 0, 150000.0]]}]}
# Job -5 (job ids are signed): two flows too large to finish, cancelled.
BIG = 10 ** 10
JOB2 = {"id": -5, "coflows": [{"id": 1 << 40, "flows": [[0, 1, BIG], [1, 2, BIG]]}]}


def remember(job, first):
    flows = [(s, d, b, c["id"]) for c in job["coflows"] for s, d, b in c["flows"]]
    JOBS[job["id"]] = (first, flows)


def register(conn, seq, job, dup=False, first=None):
    """Registers job and returns its first flow id, remembered with its flows."""
    msg = {"type": "register", "job": job}
    if seq is not None:
        msg["seq"] = seq
    conn.send(msg)
    Agent.hold = True
    try:
        ack = conn.expect("ack", f"register {job['id']}'s ack")
    finally:
        Agent.hold = False
    check_keys(ack, {"type", "seq", "job", "first_flow", "dup"}, set(),
               f"{conn.name}: register's ack")
    check(ack["seq"] == (seq or 0) and ack["job"] == job["id"] and ack["dup"] is dup
          and is_int(ack["first_flow"]) and ack["first_flow"] >= 0,
          f"{conn.name}: ack {ack!r} for register seq {seq} of job {job['id']} (dup {dup})")
    if first is not None:
        check(ack["first_flow"] == first, f"{conn.name}: first_flow {ack['first_flow']}, "
              f"{first} before")
    if not dup:
        remember(job, ack["first_flow"])
    for ag in Conn.live:
        if isinstance(ag, Agent):
            held, ag.held = ag.held, []
            for msg in held:
                ag.take(msg)
    return ack["first_flow"]


def bad_jobs():
    """(what, job, strings its invalid-job error must name)."""
    def job(jid, cofs, **kw):
        d = {"id": jid, "coflows": cofs}
        d.update(kw)
        return d
    fl = [[0, 1, 1000]]
    return [
        ("a port beyond the gateway's", job(201, [{"id": 77, "flows": [[0, 3, 1000]]}]),
         ["201", "77"]),
        ("zero bytes", job(202, [{"id": 78, "flows": [[0, 1, 0]]}]), ["202", "78"]),
        ("negative bytes", job(203, [{"id": 79, "flows": [[1, 0, -5]]}]), ["203", "79"]),
        ("NaN bytes", job(204, [{"id": 80, "flows": [[0, 1, math.nan]]}]), ["204", "80"]),
        ("infinite bytes", job(205, [{"id": 81, "flows": [[0, 1, math.inf]]}]),
         ["205", "81"]),
        ("coflow ids twice", job(206, [{"id": 82, "flows": fl}, {"id": 82, "flows": fl}]),
         ["206", "82"]),
        ("a parent outside the job", job(207, [{"id": 83, "parents": [999], "flows": fl}]),
         ["207", "83"]),
        ("a cycle", job(208, [{"id": 84, "parents": [85], "flows": fl},
                              {"id": 85, "parents": [84], "flows": fl}]), ["208", "cycle"]),
        ("no coflow", job(209, []), ["209"]),
        ("a coflow without flows", job(210, [{"id": 86, "flows": []}]), ["210", "86"]),
        ("weight 0", job(211, [{"id": 87, "flows": fl}], weight=0), ["211", "weight"]),
        ("negative compute", job(212, [{"id": 88, "compute": -1, "flows": fl}]),
         ["212", "88", "compute"]),
        ("negative final compute", job(213, [{"id": 89, "flows": fl}], final_compute=-0.5),
         ["213", "final_compute"]),
        ("a negative source port", job(214, [{"id": 90, "flows": [[-1, 1, 10]]}]),
         ["214", "90"]),
        ("bytes below 1e-200", job(215, [{"id": 91, "flows": [[0, 1, 1e-250]]}]),
         ["215", "91"]),
        ("a weight over 1e15", job(216, [{"id": 92, "flows": fl}], weight=1e20),
         ["216", "weight"]),
        ("a compute time over 1e12 s", job(217, [{"id": 93, "compute": 1e13, "flows": fl}]),
         ["217", "93", "compute"]),
        ("a parent listed twice", job(218, [{"id": 94, "flows": fl},
                                            {"id": 95, "parents": [94, 94], "flows": fl}]),
         ["218", "95"]),
    ]


def run(gw):
    step("start the gateway")
    gw.start()
    port = gw.port

    step("a slow-loris opens (answered at the end)")
    loris = Conn(port, "slow-loris")
    loris.send_bytes(struct.pack(">I", 20) + b"\x83")  # a frame's first bytes, then nothing
    loris_at = time.monotonic()

    step("client hello")
    a = client(gw, "client A", x_unknown_key=[1, {"y": 2}])  # unknown keys are ignored
    welcome = check_welcome(a)
    epoch = welcome["epoch"]
    b = client(gw, "client B")
    check_welcome(b, epoch)
    step("a client leaves a frame incomplete (answered at the end)")
    slow = client(gw, "slow frame")
    check_welcome(slow, epoch)
    slow.send_bytes(frame(pack({"type": "ping", "seq": 1}))[:6])
    slow_at = time.monotonic()

    step("status before anything")
    st = status(a, 1, gw.journal, conns=4, agents=0, agent_ports=[], ports_waiting=0,
                waiting_ports=[], jobs=0, jobs_held=0, jobs_finished=0, jobs_in_flight=0,
                jobs_forgotten=0, flows_unfinished=0, changes_pushed=0, protocol_errors=0,
                auth_failures=0, timeouts=0, epoch=epoch)
    status(b, None, gw.journal, epoch=epoch)
    status(b, -9, gw.journal, epoch=epoch)  # seq is any int

    step("ping without and with seq")
    a.send({"type": "ping"})
    pong = a.expect("pong")
    check_keys(pong, {"type"}, {"seq"}, "pong without seq")
    a.quiet(2)
    a.quiet(-3)

    step("register job 101")
    t_register = time.monotonic()
    F = register(a, 1, JOB1)

    step("register job 101 again, in another encoding")
    register(b, 2, JOB1_AGAIN, dup=True, first=F)
    step("register job 101 again, unchanged")
    register(a, 3, JOB1, dup=True, first=F)
    step("register job 101 again, the parents of coflow 30 in another order")
    reordered = dict(JOB1, coflows=JOB1["coflows"][:2]
                     + [dict(JOB1["coflows"][2], parents=[20, 10])])
    register(a, 3, reordered, dup=True, first=F)
    step("register job 101 again, without seq: acknowledged with seq 0")
    register(b, None, JOB1, dup=True, first=F)

    step("register another job under id 101")
    other = {"id": 101, "weight": 2, "final_compute": 0.01,
             "coflows": JOB1["coflows"][:2] + [dict(JOB1["coflows"][2], compute=0.03)]}
    a.send({"type": "register", "seq": 4, "job": other})
    a.expect_error("invalid-job", ["job 101 is registered already with other contents"])
    a.quiet(5)

    for what, job, names in bad_jobs():
        step(f"register a bad job: {what}")
        a.send({"type": "register", "seq": 50 + job["id"], "job": job})
        a.expect_error("invalid-job", names)
        a.quiet(6)

    step("watch an unfinished job and an unknown one")
    a.send({"type": "watch", "jobs": [101, 999]})
    err = a.expect_error("unknown-id")
    check(err.get("job") == 999, f"watch's unknown-id names job {err.get('job')!r}, not 999")
    a.quiet(7)
    check(101 not in a.job_done, "job_done for job 101 before any flow moved")

    step("job_status of job 101 before any agent")
    js = job_status(a, 101, seq=8)
    check(js["state"] == "running" and [c["id"] for c in js["coflows"]] == [10, 20, 30],
          f"job_status {js!r}")
    for cid, nflows, size, waits in ((10, 2, 400000.0, []), (20, 2, 400000.5, []),
                                     (30, 2, 250000.0, [10, 20])):
        c = coflow(js, cid)
        check(c["flows"] == nflows and c["flows_done"] == 0 and c["bytes"] == size
              and c["sent"] == 0 and c["rate"] == 0 and sorted(c["waits_on"]) == waits,
              f"job_status coflow {cid}: {c!r}")
    check(coflow(js, 30)["state"] == "waiting", f"coflow 30 is {coflow(js, 30)['state']}")
    check(all(coflow(js, cid)["state"] in ("waiting", "active") for cid in (10, 20)),
          f"the roots are {js['coflows']!r}")
    js = job_status(b, 101)  # no seq: -1
    step("job_status of an unknown job")
    a.send({"type": "job_status", "seq": 9, "job": 999})
    err = a.expect_error("unknown-id")
    check(err.get("job") == 999, f"job_status's unknown-id names job {err.get('job')!r}")

    step("status with job 101 and no agent")
    # every released flow touches a port without an agent (0, 1 and 2)
    status(a, 10, gw.journal, jobs=1, jobs_held=1, jobs_finished=0, jobs_in_flight=1,
           flows_unfinished=6, ports_waiting=3, waiting_ports=[0, 1, 2], agents=0)

    step("a client reports progress")
    c = client(gw, "client C")
    check_welcome(c, epoch)
    c.send({"type": "progress", "flows": [[F, 10]]})
    c.expect_error("protocol", ["progress: only agents report flows"], closes=True)
    HOSTILE_COUNTS["protocol"] += 1

    agents = []
    for i in range(PORTS):
        step(f"agent {i} hello")
        ag = Agent(port, f"agent {i}", i, 41000 + i)  # data ports: never dialled here
        if i == 2:  # acknowledges what it reads (data-ack version 2), it says
            ag.hello(acks=2)
        else:
            ag.hello()
        check_welcome(ag, epoch)
        agents.append(ag)
        mine = [F + k for k, (s, _, _, cid) in enumerate(JOBS[101][1]) if s == i and cid != 30]
        pump(lambda: ag.peers.keys() >= set(range(i + 1)) and set(mine) <= ag.told
             and all(set(range(i + 1)) <= x.peers.keys() for x in agents),
             f"peers and schedule for agent {i}")
        for x in agents:
            check(x.peers[i] == ("127.0.0.1", 41000 + i, 2 if i == 2 else 0),
                  f"{x.name}: peer {i} is {x.peers[i]!r}")
        for fid in mine:
            f = ag.flows[fid]
            check(f["gw_sent"] == 0, f"agent {i}: new flow {fid} with sent {f['gw_sent']}")
            if f["dst"] > i:
                check(f["rate"] == 0, f"agent {i}: flow {fid} to port {f['dst']}, without "
                      f"agent, at rate {f['rate']}")
        st = status(a, 20 + i, gw.journal, agents=i + 1, agent_ports=list(range(i + 1)))
        waiting = [p for p in range(PORTS) if p > i]
        check(st["waiting_ports"] == waiting, f"waiting_ports {st['waiting_ports']}, "
              f"expected {waiting}")

    a0, a1, a2 = agents
    step("priority classes once every agent is in")
    # coflow 10's flow F comes first (class 0) among agent 0's, coflow 20's
    # F+3 next (class 1); agents get rates again once all ports have one
    pump(lambda: a0.flows[F]["cls"] == 0 and a0.flows[F]["rate"] > 0
         and a0.flows[F + 3]["cls"] == 1 and a2.flows[F + 2]["rate"] > 0,
         "class 0 for coflow 10 and 1 for coflow 20 at agent 0, rates above 0")

    step("bad progress reports")
    a0.send({"type": "progress", "flows": [[F + 1, 5]]})  # agent 1's flow
    a0.expect_error("invalid")
    a0.send({"type": "progress", "flows": [[F + 4, 5]]})  # coflow 30: not released
    a0.expect_error("invalid")
    a0.send({"type": "progress", "flows": [[F, 200001]]})  # more than it has
    a0.expect_error("invalid")
    a0.send({"type": "progress", "flows": [[F + 1, 5], [F + 4, 5]]})
    a0.expect_error("invalid")  # one error frame per message
    a0.quiet(30)
    step("progress about a flow id never given out")
    ghost = F + 1000000
    a0.send({"type": "progress", "flows": [[ghost, 5]]})
    a0.expect_error("unknown-id")
    a0.quiet(31)
    check([ghost] in a0.drop_only, f"agent 0: no drop of flow {ghost}, never given out "
          f"(drops {a0.drop_only!r})")

    step("progress totals: a lower count is ignored")
    a0.send({"type": "progress", "flows": [[F, 50000]]})
    a0.send({"type": "progress", "flows": [[F, 40000]]})
    a0.quiet(32)
    a0.flows[F]["sent"] = a0.flows[F]["reported"] = 50000
    js = job_status(a, 101, seq=33)
    check(coflow(js, 10)["sent"] == 50000, f"coflow 10 sent {coflow(js, 10)['sent']}, "
          f"reported 50000 then 40000")
    check(coflow(js, 10)["state"] == "active" and coflow(js, 20)["state"] == "active"
          and coflow(js, 10)["rate"] > 0, f"job_status {js!r}")

    step("run job 101 to its job_done")
    a2.no_seq = True  # agent 2's done: without seq, applied all the same
    for ag in agents:
        ag.running = True
    pump(lambda: 101 in a.job_done and 101 in b.job_done, "job_done of job 101")
    t_done = time.monotonic()
    for ag in agents:
        ag.stop()
    jd = a.job_done[101]
    check("cancelled" not in jd and jd == b.job_done[101], f"job_done {jd!r} and "
          f"{b.job_done[101]!r}")
    # lower bound: coflow 20's 300 kB from port 2 at 10 MB/s, 20 ms of
    # compute, coflow 30's 100 kB into port 2, 10 ms of final compute
    check(0.069 <= jd["jct"] <= t_done - t_register, f"jct {jd['jct']} outside "
          f"[0.07, {t_done - t_register:.3f}]")
    stage1 = max(x.done_sent_at[fid] for x in agents for fid in range(F, F + 4)
                 if fid in x.done_sent_at)
    check(all(fid in x.done_acked or fid in x.done_unacked for x in agents
              for fid in range(F, F + 6) if flow_of(fid)[1] == x.id),
          "a flow of job 101 done but never acknowledged")
    check(a2.done_unacked == {F + 2}, f"agent 2 sent done without seq for "
          f"{sorted(a2.done_unacked)}, expected [{F + 2}]")
    released = min(a0.new_at[F + 4], a1.new_at[F + 5])
    check(released - stage1 >= 0.02, f"coflow 30 released {released - stage1:.4f} s after "
          f"its parents' last done, before its 0.02 s of compute")
    last = max(x.done_sent_at[fid] for x in agents for fid in (F + 4, F + 5)
               if fid in x.done_sent_at)
    check(t_done - last >= 0.01, f"job_done {t_done - last:.4f} s after the last flow, "
          f"before its final compute 0.01 s")
    for x in agents:
        check(not x.flows, f"{x.name} still holds {sorted(x.flows)}")

    step("watch a finished job")
    a.send({"type": "watch", "jobs": [101]})
    a.quiet(40)  # job_done is kept apart: check it came again, the same
    check(a.job_done_count[101] == 2, f"watch of finished job 101: "
          f"{a.job_done_count[101] - 1} job_done")
    step("job_status of a finished job")
    js = job_status(a, 101, seq=41)
    check(js["state"] == "finished" and js["jct"] == jd["jct"], f"job_status {js!r}, "
          f"job_done {jd!r}")
    for c in js["coflows"]:
        check(c["state"] == "done" and c["flows_done"] == c["flows"] and c["sent"] == c["bytes"]
              and c["waits_on"] == [] and c["rate"] == 0, f"finished coflow {c!r}")

    step("done about an unknown flow")
    a0.send({"type": "done", "seq": 99, "flows": [ghost]})
    a0.expect_error("unknown-id")
    ack = a0.expect("ack")
    check(ack == {"type": "ack", "seq": 99}, f"done's ack {ack!r}")

    step("register job -5")
    G = register(a, 42, JOB2)
    check(G >= F + 6, f"job -5's first flow {G} reuses job 101's ids {F}..{F + 5}")
    pump(lambda: G in a0.told and G + 1 in a1.told, "job -5's flows at agents 0 and 1")

    step("done about another agent's flow")
    a0.send({"type": "done", "seq": 100, "flows": [G + 1]})
    a0.expect_error("invalid")
    ack = a0.expect("ack")
    check(ack == {"type": "ack", "seq": 100}, f"done's ack {ack!r}")
    js = job_status(a, -5, seq=43)
    check(coflow(js, 1 << 40)["flows_done"] == 0, f"another agent's done completed a flow: "
          f"{js!r}")

    step("job -5 moves")
    a0.running = a1.running = True
    pump(lambda: a0.flows[G]["reported"] > 0 and a1.flows[G + 1]["reported"] > 0,
         "progress on job -5")
    a0.stop()
    a1.stop()
    a0.quiet(44)
    a1.quiet(45)
    sent0, sent1 = a0.flows[G]["reported"], a1.flows[G + 1]["reported"]

    step("agent 0 replaced")
    n0 = Agent(port, "agent 0 (new)", 0, 41010)
    n0.hello()
    check_welcome(n0, epoch)
    a0.expect_error("replaced", closes=True)
    pump(lambda: G in n0.told and n0.peers.keys() == {0, 1, 2}, "agent 0 (new): schedule")
    check(n0.flows[G]["gw_sent"] == sent0, f"new agent 0 resumes flow {G} from "
          f"{n0.flows[G]['gw_sent']}, reported {sent0}")
    check(n0.peers[0] == ("127.0.0.1", 41010, 0), f"agent 0 (new): peers {n0.peers!r}")
    pump(lambda: a1.peers[0] == ("127.0.0.1", 41010, 0) and a2.peers[0][1] == 41010,
         "agents 1 and 2 told of the new agent 0")

    step("agent 1 goes away")
    a1.close()
    for k in range(100):
        if status(a, 50 + k, gw.journal)["agents"] == 2:
            break
    else:
        fail("agent 1's close never seen by status")

    step("cancel job -5")
    a.send({"type": "cancel", "seq": 60, "job": -5})
    ack = a.expect("ack", "cancel's ack")
    check(ack == {"type": "ack", "seq": 60, "job": -5, "first_flow": G, "dup": False},
          f"cancel's ack {ack!r}")
    pump(lambda: -5 in a.job_done and -5 in b.job_done and G in n0.dropped,
         "job_done of job -5 at both clients and the drop at agent 0")
    jd2 = a.job_done[-5]
    check(jd2.get("cancelled") is True and jd2 == b.job_done[-5], f"job_done {jd2!r}")
    js = job_status(a, -5, seq=61)
    c = coflow(js, 1 << 40)
    check(js["state"] == "cancelled" and js["jct"] == jd2["jct"]
          and c["state"] == "cancelled" and c["flows"] == 2 and c["flows_done"] == 0
          and c["bytes"] == 2.0 * BIG and c["sent"] == sent0 + sent1 and c["waits_on"] == [],
          f"job_status {js!r} (reported {sent0} + {sent1})")

    step("cancel again, cancel unknown, cancel finished")
    a.send({"type": "cancel", "seq": 62, "job": -5})
    ack = a.expect("ack")
    check(ack == {"type": "ack", "seq": 62, "job": -5, "first_flow": G, "dup": True},
          f"second cancel's ack {ack!r}")
    a.send({"type": "cancel", "seq": 63, "job": 999})
    a.expect_error("unknown-id")
    a.send({"type": "cancel", "seq": 64, "job": 101})
    ack = a.expect("ack")
    check(ack == {"type": "ack", "seq": 64, "job": 101, "first_flow": F, "dup": True},
          f"cancel of a finished job: ack {ack!r}")
    js = job_status(a, 101, seq=65)
    check(js["state"] == "finished" and js["jct"] == jd["jct"], f"a cancel changed a "
          f"finished job: {js!r}")

    step("a late progress about a dropped flow")
    n0.send({"type": "progress", "flows": [[G, sent0]]})
    n0.quiet(66)
    check([G] in n0.drop_only, f"agent 0 (new): no drop-only schedule for flow {G}: "
          f"{n0.drop_only!r}")

    step("agent 1 back: its re-report is answered with a drop")
    r1 = Agent(port, "agent 1 (back)", 1, 41011)
    r1.hello()
    check_welcome(r1, epoch)
    pump(lambda: r1.peers.keys() == {0, 1, 2}, "agent 1 (back): peers")
    r1.flows[G + 1] = {"dst": 2, "bytes": BIG, "sent": sent1, "gw_sent": sent1, "rate": 0.0,
                       "cls": None, "reported": sent1}
    r1.send({"type": "progress", "flows": [[G + 1, sent1]]})
    r1.quiet(67)
    check(r1.drop_only == [[G + 1]] and G + 1 in r1.dropped and not r1.told,
          f"agent 1 (back): drops {r1.drop_only!r}, told {sorted(r1.told)!r}")
    agents = [n0, r1, a2]

    hostile(gw, a, epoch)

    gw.check_port_file()
    step("the slow-loris is closed with timeout")
    loris.expect_error("timeout", closes=True)
    check(time.monotonic() - loris_at >= HELLO_TIMEOUT * 0.99, "the slow-loris closed "
          "before --hello-timeout")
    step("the incomplete frame is closed with timeout")
    slow.expect_error("timeout", closes=True)
    check(time.monotonic() - slow_at >= FRAME_TIMEOUT * 0.99, "the incomplete frame closed "
          "before --frame-timeout")

    step("one connection past --max-conns")
    for k in range(100):  # until the gateway has seen every close
        st = status(a, 200 + k, gw.journal)
        if st["conns"] == 5:  # clients A and B, three agents
            break
        check(st["conns"] > 5, f"conns {st['conns']}: fewer than these five")
    else:
        fail(f"conns stays at {st['conns']}, where 5 are open")
    fillers = []
    for k in range(MAX_CONNS - 5):
        fillers.append(client(gw, f"filler {k}"))
        check_welcome(fillers[-1], epoch)
    status(a, 300, gw.journal, conns=MAX_CONNS)
    over = Conn(port, "one too many")
    over.expect_error("busy", closes=True)
    for x in fillers:
        x.quiet(1)
        x.close()

    step("status after it all")
    st = status(a, 400, gw.journal, agents=3, agent_ports=[0, 1, 2], ports_waiting=0,
                waiting_ports=[], jobs=2, jobs_held=2, jobs_finished=2, jobs_in_flight=0,
                jobs_forgotten=0, flows_unfinished=0, timeouts=2, epoch=epoch)
    check(st["protocol_errors"] == HOSTILE_COUNTS["protocol"],
          f"protocol_errors {st['protocol_errors']}, expected {HOSTILE_COUNTS['protocol']}")
    check(st["auth_failures"] == HOSTILE_COUNTS["auth"],
          f"auth_failures {st['auth_failures']}, expected {HOSTILE_COUNTS['auth']}")
    entries = a0.entries + a1.entries + sum(x.entries for x in agents)
    check(st["changes_pushed"] >= entries, f"changes_pushed {st['changes_pushed']}, "
          f"{entries} flow entries received")
    check(st["decisions"] >= 1 and st["decision_s"] is not None, f"decisions {st!r}")
    check(st["journal"]["records"] >= 4, f"journal {st['journal']!r}: an epoch, two jobs, "
          f"completions and a cancel")
    for x in agents:
        x.quiet(401)
    gw.alive()

    step("restart from the journal")
    for x in list(Conn.live):
        x.close()
    status_code = gw.stop()
    check(status_code == 0, f"weft serve stopped with status {status_code}: {gw.stderr()}")
    gw.start(["--keep-finished", "1"])  # of 101 and -5, remembers -5 (the last)
    a = client(gw, "client A (restart)")
    check_welcome(a, epoch)
    status(a, 500, gw.journal, jobs=2, jobs_finished=2, jobs_in_flight=0, jobs_forgotten=1,
           keep_finished=1, flows_unfinished=0, agents=0, epoch=epoch)
    js = job_status(a, -5, seq=502)
    c = coflow(js, 1 << 40)
    check(js["state"] == "cancelled" and abs(js["jct"] - jd2["jct"]) < 1e-3
          and c["sent"] == sent0 + sent1 and c["state"] == "cancelled",
          f"after the restart job -5 is {js!r}, its job_done said {jd2!r}")
    step("job 101, forgotten under --keep-finished 1")
    js = job_status(a, 101, seq=501)
    check(js.get("forgotten") is True and js["keep_finished"] == 1,
          f"after the restart with --keep-finished 1, job 101 is {js!r}")
    for kind, seq in (("register", 503), ("cancel", 504)):
        a.send({"type": kind, "seq": seq, "job": JOB1 if kind == "register" else 101})
        ack = a.expect("ack", f"{kind}'s ack")
        check(ack == {"type": "ack", "seq": seq, "job": 101, "forgotten": True, "dup": True},
              f"{kind} of forgotten job 101: {ack!r}")
    a.send({"type": "watch", "jobs": [101, -5]})
    a.quiet(505)
    check(a.job_done.get(101) == {"type": "job_done", "job": 101, "forgotten": True}
          and a.job_done.get(-5, {}).get("cancelled") is True
          and abs(a.job_done[-5]["jct"] - jd2["jct"]) < 1e-3,
          f"watch after the restart: {a.job_done!r}, before it {jd2!r}")
    step("an agent reports flows of the forgotten job")
    ag = Agent(gw.port, "agent 0 (restart)", 0, 41020)
    ag.hello()
    check_welcome(ag, epoch)
    ag.send({"type": "progress", "flows": [[F, 10]]})
    ag.quiet(506)
    check(ag.drop_only == [[F]], f"a late progress about job 101's flow {F}: drops "
          f"{ag.drop_only!r}")
    ag.send({"type": "done", "seq": 507, "flows": [F + 3]})
    ack = ag.expect("ack")
    check(ack == {"type": "ack", "seq": 507}, f"a late done about job 101's flow: {ack!r}")
    step("a job registered after the restart")
    job3 = {"id": 7, "coflows": [{"id": 1, "flows": [[2, 1, 5000]]}]}
    f3 = register(a, 508, job3)
    gap = f3 - (G + 2)
    check(2 ** 32 <= gap + 1 <= 2 ** 32 + 2 ** 40 + 1, f"first flow {f3} after the "
          f"restart, {gap} past the next id {G + 2} before it")
    a.close()
    status_code = gw.stop()
    check(status_code == 0, f"weft serve stopped with status {status_code}: {gw.stderr()}")


def split_roles(weft, work):
    """A gateway whose agents and clients have secrets of their own: an
    agent may not touch jobs (forbidden, the connection stays), and neither
    secret opens the other role."""
    step("a gateway whose agents and clients have their own secrets")
    os.makedirs(work)
    secrets = {}
    for role in ("agent", "client"):
        secrets[role] = f"{role} secret of protocol_check"
        with open(os.path.join(work, role), "w") as f:
            f.write(secrets[role] + "\n")
    gw = Gateway(weft, work)
    try:
        gw.start(["--agent-token-file", os.path.join(work, "agent"),
                  "--client-token-file", os.path.join(work, "client")])
        cl = client(gw, "client (own secret)", token=secrets["client"])
        epoch = check_welcome(cl)["epoch"]
        status(cl, 1, gw.journal, token_files={"reloads": 0}, epoch=epoch)
        ag = Agent(gw.port, "agent (own secret)", 1, 41030)
        ag.hello(token=secrets["agent"])
        check_welcome(ag, epoch)
        for msg in ({"type": "register", "seq": 1, "job": JOB2}, {"type": "watch", "jobs": [1]},
                    {"type": "cancel", "seq": 2, "job": 1}):
            step(f"an agent sends {msg['type']} on a gateway of split secrets")
            ag.send(msg)
            ag.expect_error("forbidden", [msg["type"]])
            ag.quiet(3)
        step("each role's secret opens the other role's door")
        for role, token in (("client", secrets["agent"]), ("agent", secrets["client"])):
            c = Agent(gw.port, f"{role} with the other secret", 0, 41031)
            if role == "client":
                c.send({"type": "hello", "v": 1, "token": token, "role": "client"})
            else:
                c.hello(token=token)
            c.expect_error("auth", closes=True)
        status(cl, 2, gw.journal, token_files={"reloads": 0}, auth_failures=2, jobs=0,
               agents=1, epoch=epoch)
    finally:
        for c in list(Conn.live):
            c.close()
        gw.stop()


def port_secrets(weft, work):
    """A gateway with a secret per agent's port (--agent-tokens): a port
    without one, or past the gateway's, is refused with why port-no-agent
    (and no range); a SIGHUP that changes a port's secret drops its agent
    with secret-rotated, one that takes a port's away with port-no-agent,
    and the new secret gets in."""
    step("a gateway with a secret per agent's port")
    os.makedirs(work)
    path = os.path.join(work, "agents")
    with open(path, "w") as f:
        f.write("0 p0\n1 p1\n")
    gw = Gateway(weft, work)
    try:
        gw.start(["--agent-tokens", path])
        for port_id in (2, PORTS + 4):
            step(f"an agent for port {port_id}, which has no secret")
            c = Agent(gw.port, f"agent {port_id} (no secret)", port_id, 41040)
            c.hello(token="p1")
            c.expect_error("auth", [f"port {port_id}"], closes=True, why="port-no-agent")
        a0, a1 = (Agent(gw.port, f"agent {i} (own secret)", i, 41041 + i) for i in (0, 1))
        for a in (a0, a1):
            a.hello(token=f"p{a.id}")
            check_welcome(a)
            a.quiet(1)
        step("a SIGHUP changes port 0's secret and takes port 1's away")
        with open(path, "w") as f:
            f.write("0 p0-new\n")
        gw.proc.send_signal(signal.SIGHUP)
        a0.expect_error("auth", ["port 0"], closes=True, why="secret-rotated")
        a1.expect_error("auth", ["port 1"], closes=True, why="port-no-agent")
        again = Agent(gw.port, "agent 0 (new secret)", 0, 41041)
        again.hello(token="p0-new")
        check_welcome(again)
    finally:
        for c in list(Conn.live):
            c.close()
        gw.stop()


SPLIT_FLOWS = 9000  # flows of one agent in one decision: over the 8192 a schedule holds
TINY = 16           # jobs finished that, with the cancelled one, set off compaction


def split_and_compaction(weft, work):
    """A schedule of more flows than a message holds, and its cancel's drops;
    then finished jobs compacted away, each still answered as the document
    says."""
    step("a gateway for split schedules and compaction")
    os.makedirs(work)
    JOBS.clear()  # its flow ids are its own
    gw = Gateway(weft, work)
    try:
        gw.start()
        cl = client(gw, "client (compaction)")
        epoch = check_welcome(cl)["epoch"]
        ags = [Agent(gw.port, f"agent {p} (compaction)", p, 41040 + p) for p in range(2)]
        for ag in ags:
            ag.hello()
            check_welcome(ag, epoch)
        a0, sizes = ags[0], []
        take = a0.take_schedule

        def counted(msg):
            sizes.append((len(msg["new"]), len(msg["flows"]), len(msg.get("drop", []))))
            take(msg)
        a0.take_schedule = counted
        step(f"a schedule of {SPLIT_FLOWS} flows comes in several messages")
        big = {"id": 7000, "coflows": [{"id": 1, "flows": [[0, 1, 1000]] * SPLIT_FLOWS}]}
        G = register(cl, 1, big)
        fids = range(G, G + SPLIT_FLOWS)
        pump(lambda: all(a0.flows.get(f, {}).get("rate", 0) > 0 for f in fids),
             f"rates for the {SPLIT_FLOWS} flows")
        check(len(sizes) >= 2 and sum(n for n, _, _ in sizes) == SPLIT_FLOWS
              and all(max(sz) <= 8192 for sz in sizes), f"schedules of (new, flows, drop) "
              f"{sizes}: {SPLIT_FLOWS} new flows in messages of at most 8192")
        step(f"its cancel drops the {SPLIT_FLOWS} flows, in messages of at most 8192")
        sizes.clear()
        cl.send({"type": "cancel", "seq": 2, "job": 7000})
        ack = cl.expect("ack", "cancel's ack")
        check(ack == {"type": "ack", "seq": 2, "job": 7000, "first_flow": G, "dup": False},
              f"cancel's ack {ack!r}")
        pump(lambda: 7000 in cl.job_done and len(a0.dropped) == SPLIT_FLOWS,
             f"job 7000's job_done and the drop of its {SPLIT_FLOWS} flows")
        check(all(max(sz) <= 8192 for sz in sizes), f"schedules of (new, flows, drop) "
              f"{sizes} after the cancel: a message holds at most 8192 flows")
        step(f"{TINY} jobs more finish: the table is compacted")
        a0.running = True
        tiny = {}
        for j in range(8000, 8000 + TINY):
            tiny[j] = register(cl, j, {"id": j, "coflows": [{"id": 1,
                                                              "flows": [[0, 1, 2000]]}]})
        pump(lambda: all(j in cl.job_done for j in tiny), f"the {TINY} jobs' job_done")
        a0.stop()
        cl.ping(3)
        held = [j for j in [7000] + list(tiny) if job_status(cl, j)["coflows"] is not None]
        st = status(cl, 4, gw.journal, jobs=TINY + 1, jobs_finished=TINY + 1,
                    jobs_in_flight=0, jobs_held=len(held), epoch=epoch)
        check(len(held) < 16, f"{st['jobs_held']} finished jobs held, all of the table, "
              f"after {TINY + 1} finished")
        step("a compacted cancelled job: job_status, watch, register, cancel, progress")
        gone = [j for j in tiny if j not in held]
        check(7000 not in held and gone, f"jobs held after compaction: {held}; the first "
              f"finished, 7000, is among them")
        js = job_status(cl, 7000, seq=5)
        jd = cl.job_done[7000]
        check(js["state"] == "cancelled" and js["jct"] == jd["jct"] and js["coflows"] is None,
              f"job_status of a cancelled job compacted away: {js!r} (job_done {jd!r})")
        cl.send({"type": "watch", "jobs": [7000, gone[0]]})
        cl.job_done.clear()
        pump(lambda: len(cl.job_done) == 2, "the job_done of two compacted jobs")
        check(cl.job_done[7000] == jd, f"watch of compacted job 7000: "
              f"{cl.job_done[7000]!r}, first {jd!r}")
        other = {"id": 7000, "weight": 3, "coflows": [{"id": 9, "flows": [[1, 0, 5]]}]}
        for msg in ({"type": "register", "seq": 6, "job": other},
                    {"type": "cancel", "seq": 6, "job": 7000}):
            cl.send(msg)
            ack = cl.expect("ack", f"{msg['type']} of a compacted job's ack")
            check(ack == {"type": "ack", "seq": 6, "job": 7000, "first_flow": G, "dup": True},
                  f"{msg['type']} of compacted job 7000 (any contents): ack {ack!r}")
        a0.drop_only.clear()
        a0.send({"type": "progress", "flows": [[G + 5, 10]]})
        pump(lambda: a0.drop_only, "the drop of a compacted cancelled job's flow")
        check(a0.drop_only == [[G + 5]], f"a progress of a compacted cancelled job's flow "
              f"answered with drops {a0.drop_only}")
        step("a compacted finished job: register, late progress (a drop), late done")
        j, f = gone[0], tiny[gone[0]]
        register(cl, 7, {"id": j, "coflows": [{"id": 1, "flows": [[0, 1, 2000]]}]},
                 dup=True, first=f)
        a0.drop_only.clear()
        a0.send({"type": "progress", "flows": [[f, 10]]})
        a0.quiet(8)
        check(a0.drop_only == [[f]], f"a progress of a compacted finished job's flow "
              f"answered with drops {a0.drop_only}, expected [[{f}]]")
        a0.send({"type": "done", "seq": 9, "flows": [f]})
        ack = a0.expect("ack", "a late done's ack")
        check(ack == {"type": "ack", "seq": 9}, f"a late done's ack {ack!r}")
        a0.quiet(10)
    finally:
        for c in list(Conn.live):
            c.close()
        gw.stop()


IDLE = 0.3           # s: --idle-timeout of the fourth gateway
SLOW_COFLOWS = 8000  # a job whose job_status answer is about 0.6 MB
SLOW_ASKS = 48       # job_status requests never read: about 29 MB, over 16 MiB


def slow_reader_once(gw, pinger, seq, jid):
    """A client asks for SLOW_ASKS answers of about 0.6 MB and reads them
    only once the gateway has queued them all. Returns None and the time
    from its requests to the close when its last message is a slow-reader
    error after more than 16 MiB of whole frames, else what went wrong."""
    slow = client(gw, "slow reader")
    check_welcome(slow, idle=IDLE)
    Conn.live.remove(slow)  # read by no pump while the gateway answers
    sent_at = time.monotonic()  # no later than the gateway queues the error
    for i in range(SLOW_ASKS):
        slow.send({"type": "job_status", "seq": i, "job": jid})
    # The requests are in the gateway's socket before these pings: it has
    # handled them by the second pong, all in one pass, queueing their
    # answers before it writes any.
    pinger.quiet(seq)
    pinger.quiet(seq + 1)
    raw = bytearray()  # read whole, then framed: decoding 17 MB takes a second
    slow.sock.settimeout(ANSWER_S)
    while True:
        data = slow.sock.recv(1 << 20)
        if not data:
            break
        raw += data
    took = time.monotonic() - sent_at
    slow.close()
    sizes = []
    while len(raw) >= 4 + sum(sizes) + 4 * len(sizes):
        at = sum(sizes) + 4 * len(sizes)
        sizes.append(struct.unpack(">I", raw[at:at + 4])[0])
    end = sum(sizes) + 4 * len(sizes)
    if not (sizes and end == len(raw)):
        return f"the slow reader got {len(raw)} bytes, not whole frames (sizes {sizes[-3:]})", \
            took
    last = msgpack.unpackb(bytes(raw[end - sizes[-1]:]), raw=False)
    # all the answers read is a fault whatever the time: it was never closed
    check(len(sizes) - 1 < SLOW_ASKS, f"all {SLOW_ASKS} answers read: never closed")
    if not (sum(sizes[:-1]) + 4 * (len(sizes) - 1) > 16 << 20 and last["type"] == "error"
            and last["code"] == "slow-reader" and str(16 << 20) in last["message"]):
        return (f"the slow reader's last message, after {len(sizes) - 1} answers "
                f"({end} bytes): {str(last)[:200]}"), took
    return None, took


def idle_and_slow_reader(weft, work):
    """A silent connection closed after --idle-timeout while one that pings
    every third of it stays; a peer that never reads what it asked for is
    closed past 16 MiB queued."""
    step(f"a gateway with --idle-timeout {IDLE:g}")
    os.makedirs(work)
    gw = Gateway(weft, work)
    try:
        gw.start(["--idle-timeout", f"{IDLE:g}"])
        t0 = time.monotonic()
        silent, pinger = client(gw, "silent client"), client(gw, "pinging client")
        check_welcome(silent, idle=IDLE)
        check_welcome(pinger, idle=IDLE)
        step("the silent connection times out, the pinging one stays")
        seq = 0
        while time.monotonic() - t0 < 2 * IDLE or not silent.eof:
            check(time.monotonic() - t0 < ANSWER_S, f"no timeout within {ANSWER_S:g} s")
            seq += 1
            pinger.quiet(seq)
            if not silent.eof and not silent.inbox:
                ready, _, _ = select.select([silent], [], [], IDLE / 4)  # a third at most
                if ready:
                    silent.read_some()
                    if silent.inbox or silent.eof:
                        # (less 20 ms: libevent times with a coarse clock)
                        check(time.monotonic() - t0 >= IDLE - 0.02, f"closed after "
                              f"{time.monotonic() - t0:.3f} s, before --idle-timeout {IDLE:g}")
                        silent.expect_error("timeout", closes=True)
        status(pinger, seq + 1, gw.journal, timeouts=1, conns=1)
        step("a client that never reads 29 MB of answers is closed as a slow reader")
        jid = 9100
        register(pinger, 1, {"id": jid, "coflows": [
            {"id": i, "flows": [[0, 1, 1]]} for i in range(SLOW_COFLOWS)]})
        # The error may be dropped only when the 16 MiB before it took over
        # 1 s to read (docs/protocol.md): then, on a loaded machine, the
        # step is tried again; a failure within that second is a fault.
        for attempt in range(3):
            why, took = slow_reader_once(gw, pinger, seq + 1 + 2 * attempt, jid)
            if why is None:
                break
            check(took > 1.0 and attempt < 2, f"{why} (read in {took:.2f} s, attempt "
                  f"{attempt + 1})")
    finally:
        for c in list(Conn.live):
            c.close()
        gw.stop()


HOSTILE_COUNTS = {"protocol": 0, "auth": 0}


def hostile(gw, a, epoch):
    """Hostile frames and messages, each on a connection of its own; client
    A (already in) must be served throughout."""
    port = gw.port

    def fresh(name, hello=True):
        c = client(gw, name) if hello else Conn(port, name)
        if hello:
            check_welcome(c, epoch)
        return c

    def refused(name, data, code, contains, hello=True, why=None):
        step(f"hostile: {name}")
        c = fresh(name, hello)
        c.send_bytes(data)
        c.expect_error(code, contains, closes=True, why=why)
        HOSTILE_COUNTS[code if code == "auth" else "protocol"] += 1
        a.quiet(1000 + sum(HOSTILE_COUNTS.values()))

    refused("a frame over the cap", struct.pack(">I", 5000000), "protocol",
            ["frame #2", "frame of 5000000 bytes exceeds the 1048576-byte cap"])
    refused("a frame over the cap before hello", struct.pack(">I", MAX_FRAME + 1), "protocol",
            ["frame #1", f"frame of {MAX_FRAME + 1} bytes exceeds the 1048576-byte cap"],
            hello=False)
    refused("a map32 declaring 2^32-1 entries", frame(b"\xdf\xff\xff\xff\xff"), "protocol",
            ["frame #2", "map declares 4294967295 entries but only 0 bytes follow "
             "(payload byte 0)"])
    refused("a str payload", frame(pack("hello")), "protocol",
            ["payload is a str, expected a map"])
    refused("an empty payload", frame(b""), "protocol", ["payload is empty, expected a map"])
    refused("trailing bytes", frame(pack({"type": "ping"}) + b"\x01\x02\x03"), "protocol",
            ["3 trailing bytes after the map"])
    deep = "x"
    for _ in range(32):  # the map is depth 1: 32 arrays make 33
        deep = [deep]
    refused("33 levels of containers", frame(pack({"type": "ping", "x": deep})), "protocol",
            ["containers nested deeper than 32"])
    refused("the byte 0xc1", frame(b"\x82\xa4type\xa4ping\xa1x\xc1"), "protocol", [])
    refused("a str longer than its frame", frame(b"\x81\xa4type\xdb\x00\x00\x10\x00ping"),
            "protocol", [])
    refused("more objects than the cap", frame(pack({"type": "ping",
                                                     "x": [None] * (MAX_OBJECTS - 4)})),
            "protocol", [])
    refused("a register with a str seq", frame(pack({"type": "register", "seq": "1",
                                                     "job": JOB1})), "protocol", ["seq"])
    refused("a cancel without job", frame(pack({"type": "cancel", "seq": 1})), "protocol",
            ["job"])
    refused("a frame without type", frame(pack({"seq": 1})), "protocol", ["type"])
    # "another" version: an older one as well as a newer
    for v in (2, 0):
        refused(f"a hello of version {v}", frame(pack({"type": "hello", "v": v, "token": TOKEN,
                                                       "role": "client"})), "version", [],
                hello=False)
    refused("a wrong token", frame(pack({"type": "hello", "v": 1, "token": TOKEN + "x",
                                         "role": "client"})), "auth", [], hello=False)
    refused("a ping before hello", frame(pack({"type": "ping", "seq": 1})), "auth", [],
            hello=False)
    refused("a ping with a str seq", frame(pack({"type": "ping", "seq": "1"})), "protocol",
            ["seq"])
    refused("a hello with acks not an int",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": 2,
                        "port": 41099, "acks": "2"})), "protocol", ["acks"], hello=False)
    refused("a hello with an id past the ports",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": PORTS,
                        "port": 41099})), "protocol", ["id"], hello=False,
            why=("id-range", 0, PORTS - 1))
    refused("a hello with a negative id",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": -1,
                        "port": 41099})), "protocol", ["id"], hello=False,
            why=("id-range", 0, PORTS - 1))
    # an id in range with a bad data port: the port is at fault, not the id
    refused("a hello of id 0 with data port 0",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": 0,
                        "port": 0})), "protocol", ["port"], hello=False)
    refused("a hello of the last id with data port 65536",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent",
                        "id": PORTS - 1, "port": 65536})), "protocol", ["port"], hello=False)
    refused("a hello with a str id",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": "0",
                        "port": 41099})), "protocol", ["id"], hello=False)
    refused("a hello with data_tls neither 0 nor 1",
            frame(pack({"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": 2,
                        "port": 41099, "data_tls": 2})), "protocol", ["data_tls"], hello=False)

    step("hostile: what the limits still take")
    c = fresh("at the limits")
    # the map, "type", "ping", "seq", 1, "x", the array and its elements
    c.send({"type": "ping", "seq": 1, "x": [None] * (MAX_OBJECTS - 7)})
    check(c.expect("pong") == {"type": "pong", "seq": 1}, "no pong at the object cap")
    deep = "x"
    for _ in range(31):
        deep = [deep]
    c.send({"type": "ping", "seq": 2, "x": deep})  # 32 deep
    check(c.expect("pong") == {"type": "pong", "seq": 2}, "no pong at 32 levels")
    fill = pack({"type": "ping", "seq": 3, "x": b""})
    pad = MAX_FRAME - len(fill) - 3  # a bin32 header is 5 bytes where bin8's is 2
    exact = pack({"type": "ping", "seq": 3, "x": b"\x00" * pad})
    check(len(exact) == MAX_FRAME, f"the frame at the cap is {len(exact)} bytes")
    c.send_bytes(frame(exact))
    check(c.expect("pong") == {"type": "pong", "seq": 3}, "no pong at the frame cap")
    step("hostile: a frame trickled a byte at a time")
    data = frame(pack({"type": "ping", "seq": 4}))
    for i in range(len(data)):
        c.send_bytes(data[i:i + 1])
    check(c.expect("pong") == {"type": "pong", "seq": 4}, "pong after a trickled ping")
    step("hostile: an unknown message type")
    c.send({"type": "frobnicate", "seq": 5})
    c.expect_error("unknown-type")
    c.quiet(6)
    c.close()


# ------------------------------------------------------ a crowd of agents

PEERS_MAX = 4096  # entries a peers message holds at most (docs/protocol.md)
SKIPPED = 77      # exit status of a case this machine cannot run (ctest SKIP_RETURN_CODE)
LOGIN_FILES = 1024  # a login shell's soft limit of open files (systemd's default)


def crowd_data_port(i):
    return 10000 + i % 50000


def crowd_acks(i):
    """The acks agent i says: none (the key left out) for a third of them."""
    return i % 3


class CrowdAgent:
    """An agent on a raw non-blocking socket, served by Crowd's epoll."""

    def __init__(self, crowd, i, data_port, acks):
        self.crowd = crowd
        self.name = f"crowd agent {i}"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # (no name lookup)
        self.sock.settimeout(ANSWER_S)
        self.sock.connect(("127.0.0.1", crowd.port))
        hello = {"type": "hello", "v": 1, "token": TOKEN, "role": "agent", "id": i,
                 "port": data_port}
        if acks:
            hello["acks"] = acks
        self.sock.sendall(frame(pack(hello)))
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.welcome = None
        self.told = []         # peers messages (Crowd.summaries indices) since the mark
        self.since = 0         # their entries
        self.want = 0          # the entries this step must bring, no more
        self.pong = None       # the seq of the ping whose pong is awaited
        self.replaced = None   # False while the error replaced and a close are due; True
        self.closed = False    # once that error came
        crowd.sel.register(self.sock, selectors.EVENT_READ, self)

    def mark(self, want):
        self.told, self.since, self.want = [], 0, want

    def read_some(self):
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except ConnectionResetError:
            data = b""
        if not data:
            check(self.replaced, f"{self.name}: closed by the gateway" +
                  ("" if self.replaced is None else " without the error replaced"))
            self.crowd.sel.unregister(self.sock)
            self.sock.close()
            self.closed = True
            return
        self.buf += data
        start = 0
        while len(self.buf) - start >= 4:
            (n,) = struct.unpack_from(">I", self.buf, start)
            check(n <= self.crowd.max_frame, f"{self.name}: a frame of {n} bytes, over the "
                  f"gateway's --max-frame {self.crowd.max_frame}")
            if len(self.buf) - start < 4 + n:
                break
            self.take(bytes(self.buf[start + 4:start + 4 + n]))
            start += 4 + n
        del self.buf[:start]

    def take(self, payload):
        kind, what = self.crowd.decode(payload, self.name)
        if self.welcome is None:
            check(kind == "welcome", f"{self.name}: {what!r} before the welcome")
            self.welcome = what
            self.crowd.welcomed += 1
        elif kind == "peers":
            self.told.append(what)
            self.since += len(self.crowd.summaries[what])
            check(self.since <= self.want, f"{self.name}: told {self.since} peers entries "
                  f"where {self.want} were due (an entry told twice, or one of an agent "
                  f"it had been told of)")
            if self.since == self.want:
                self.crowd.told += 1
        elif kind == "pong" and what == self.pong:
            self.pong = None
            self.crowd.ponged += 1
        elif kind == "error" and self.replaced is False and what.get("code") == "replaced":
            self.replaced = True
        else:
            fail(f"{self.name}: an unexpected {kind}: {str(what)[:300]}")


class Crowd:
    """Agents by the thousand on one gateway. Each peers message is packed
    once for all its receivers, so the same bytes reach many agents: each
    distinct payload is decoded and checked once (against the host, data
    port and acks every agent said), which keeps the check linear."""

    def __init__(self, gw, n, max_frame):
        self.gw, self.port, self.n, self.max_frame = gw, gw.port, n, max_frame
        self.sel = selectors.DefaultSelector()
        self.agents = {}     # id -> its current CrowdAgent
        self.said = {}       # id -> (data port, acks) it said in its hello
        self.cache = {}      # payload -> (kind, summary index or message)
        self.summaries = []  # peers messages: frozenset of the ids each lists
        self.retired = []    # connections replaced by another of their agent
        self.welcomed = self.told = self.ponged = 0

    def connect(self, i, data_port, acks):
        self.said[i] = (data_port, acks)
        self.agents[i] = CrowdAgent(self, i, data_port, acks)
        return self.agents[i]

    def decode(self, payload, name):
        hit = self.cache.get(payload)
        if hit is not None:
            return hit
        try:
            msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        except Exception as e:  # noqa: BLE001 (any decoding fault is the finding)
            fail(f"{name}: a frame that is not exactly one msgpack object: {e}")
        check(isinstance(msg, dict) and isinstance(msg.get("type"), str),
              f"{name}: a frame that is not a typed map: {str(msg)[:300]}")
        kind = msg["type"]
        if kind == "welcome":
            check(msg.get("ports") == self.n and msg.get("max_frame") == self.max_frame,
                  f"{name}: welcome {msg!r}, expected ports {self.n} and max_frame "
                  f"{self.max_frame}")
            hit = (kind, msg)
        elif kind == "peers":
            hit = (kind, self.check_peers(msg, name))
        elif kind == "pong":
            hit = (kind, msg.get("seq"))
        else:
            hit = (kind, msg)
        self.cache[payload] = hit
        return hit

    def check_peers(self, msg, name):
        check_keys(msg, {"type", "peers", "acks"}, set(), f"{name}: peers")
        peers, acks = msg["peers"], msg["acks"]
        check(isinstance(peers, list) and isinstance(acks, list) and len(peers) == len(acks),
              f"{name}: peers and acks do not pair ({len(peers)} and {len(acks)} entries)")
        check(0 < len(peers) <= PEERS_MAX, f"{name}: a peers message of {len(peers)} "
              f"entries (at most {PEERS_MAX}, and none empty)")
        ids = set()
        for entry, ack in zip(peers, acks):  # (messages built only for a fault: fast)
            if not (isinstance(entry, list) and len(entry) == 3 and is_int(entry[0])):
                fail(f"{name}: a bad peers entry {entry!r}")
            said = self.said.get(entry[0])
            if said is None:
                fail(f"{name}: peers names agent {entry[0]!r}, which never connected")
            if not (entry[1] == "127.0.0.1" and entry[2] == said[0] and ack == said[1]):
                fail(f"{name}: peers entry {entry!r} with acks {ack!r}, where agent "
                     f"{entry[0]} connected from 127.0.0.1 and said port {said[0]}, acks "
                     f"{said[1]}")
            if entry[0] in ids:
                fail(f"{name}: agent {entry[0]} twice in one peers message")
            ids.add(entry[0])
        self.summaries.append(frozenset(ids))
        return len(self.summaries) - 1

    def pump(self, until, what, timeout):
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"no {what} within {timeout:g} s (welcomed {self.welcomed}, told "
                     f"{self.told}, ponged {self.ponged} of {len(self.agents)})")
            for key, _ in self.sel.select(min(left, 0.5)):
                key.data.read_some()
            self.gw.alive()

    def mark(self, wants):
        """Starts a step: each agent's peers entries from now on must come to
        wants(agent id) exactly. Payloads are decoded anew (an agent's port may
        have changed)."""
        self.cache.clear()
        self.told = 0
        for i, a in self.agents.items():
            a.mark(wants(i))
            self.told += a.want == 0

    def barrier(self, seq, timeout):
        """A ping to every agent and its pong: whatever the gateway queued to
        them before is read (and checked) by then."""
        self.ponged = 0
        for a in self.agents.values():
            a.pong = seq
            a.sock.setblocking(True)
            a.sock.sendall(frame(pack({"type": "ping", "seq": seq})))
            a.sock.setblocking(False)
        self.pump(lambda: self.ponged == len(self.agents), f"pong {seq} from every agent",
                  timeout)

    def union(self, a):
        return frozenset().union(*(self.summaries[k] for k in a.told))

    def close(self):
        for a in list(self.agents.values()) + self.retired:
            if not a.closed:
                a.sock.close()
        self.sel.close()


def cpu_s(pid):
    """User and system time of process pid so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def soft_fd_limit(pid):
    """The soft limit of open files of process pid (/proc/PID/limits)."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def vm_kib(pid, key):
    """A VmRSS / VmHWM line of /proc/PID/status, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def crowd_case(weft, work, n, max_frame):
    """n agents on one gateway, more than a peers message holds: every agent
    is told every other exactly once, first all those connected then only
    the newcomers; a newcomer, then a restarted agent on a new data port,
    told to all. Returns the connect phase's figures."""
    tag = f"{n} agents, --max-frame {max_frame}"
    step(f"a gateway for {tag}")
    os.makedirs(work)
    gw = Gateway(weft, work)
    crowd = None
    try:
        # started as from a login shell: a soft limit of 1024 open files
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        gw.start(["--max-frame", str(max_frame)], ports=n, max_conns=n + 8,
                 fd_limits=(min(LOGIN_FILES, hard), hard))
        # docs/gateway.md, "Hostile input": the soft limit is raised to what
        # --max-conns needs (the warning's "needs about": 64 more), up to the
        # hard one; a warning only when that is short
        need = n + 8 + 64
        soft = soft_fd_limit(gw.proc.pid)
        check(soft == min(need, hard) and ("warning" in gw.stderr()) == (hard < need),
              f"soft limit of open files {soft} (want {min(need, hard)}), a warning "
              f"{'wanted' if hard < need else 'not wanted'}: {gw.stderr()!r}")
        rss0 = vm_kib(gw.proc.pid, "VmRSS")
        crowd = Crowd(gw, n, max_frame)
        late, moved = n // 2, n - 3  # the newcomer, and the agent that restarts
        everyone = frozenset(range(n))
        first = everyone - {late}

        step(f"{tag}: {len(first)} agents connect at once, each sending its hello")
        t0, cpu0 = time.monotonic(), cpu_s(gw.proc.pid)
        for i in range(n):
            if i != late:
                crowd.connect(i, crowd_data_port(i), crowd_acks(i))
        crowd.mark(lambda i: len(first))
        sent = time.monotonic() - t0
        crowd.pump(lambda: crowd.told == len(first), "peers of every agent", 30)
        took, cpu = time.monotonic() - t0, cpu_s(gw.proc.pid) - cpu0
        rss, hwm = vm_kib(gw.proc.pid, "VmRSS"), vm_kib(gw.proc.pid, "VmHWM")
        check(crowd.welcomed == len(first), f"{crowd.welcomed} welcomes for {len(first)}")
        verdicts = {}
        for i in first:
            a = crowd.agents[i]
            key = tuple(a.told)
            if key not in verdicts:
                verdicts[key] = crowd.union(a)
            if verdicts[key] != first:
                fail(f"agent {i} was told of {len(verdicts[key])} agents, not the "
                     f"{len(first)} connected (missing e.g. {sorted(first - verdicts[key])[:5]})")

        step(f"{tag}: a newcomer is told all {n}, the others only of it")
        crowd.mark(lambda i: 1)
        newcomer = crowd.connect(late, crowd_data_port(late), crowd_acks(late))
        newcomer.mark(n)
        crowd.pump(lambda: crowd.told == n, "the newcomer's peers and its delta", 30)
        check_newcomer(crowd, newcomer, everyone, max_frame)
        newcomer_told = newcomer.told
        check_told_alone(crowd, first, late, "the newcomer")

        step(f"{tag}: agent {moved} restarts on another data port, with other acks")
        old = crowd.agents.pop(moved)
        old.replaced = False
        crowd.retired.append(old)
        crowd.mark(lambda i: 1)
        again = crowd.connect(moved, crowd_data_port(moved) + 1, (crowd_acks(moved) + 1) % 3)
        again.mark(n)
        crowd.pump(lambda: crowd.told == n and old.closed, "the restarted agent's peers, "
                   "its delta and the replaced connection's close", 30)
        # Whatever came late of a step before would have been counted in the
        # next; after the last, a ping to each agent reads all that was queued.
        crowd.barrier(1, 30)
        check_newcomer(crowd, again, everyone, max_frame)
        check_told_alone(crowd, everyone - {moved}, moved, "the restarted agent")
        return {"agents": len(first), "sent": sent, "took": took, "cpu": cpu, "rss0": rss0,
                "rss": rss, "hwm": hwm, "parts": len(newcomer_told)}
    finally:
        gw.stop()
        if crowd:
            crowd.close()


def check_told_alone(crowd, ids, j, who):
    """Each agent of ids was told of agent j alone, in one peers message."""
    alone = frozenset((j,))
    for i in ids:
        told = crowd.agents[i].told
        if len(told) != 1 or crowd.summaries[told[0]] != alone:
            fail(f"agent {i} was not told of {who} ({j}) alone, in one message: told "
                 f"{[sorted(crowd.summaries[k])[:5] for k in told]}")


def peers_frames_needed(crowd, ids, max_frame):
    """The fewest peers messages that list ids in port order, each of at most
    PEERS_MAX entries and max_frame payload bytes: each takes entries while
    the next still fits (an entry's bytes as msgpack packs them, both array
    headers grown with it)."""
    def head(n):
        return 1 if n <= 15 else 3 if n <= 0xFFFF else 5
    bare = len(pack({"type": "peers", "peers": [], "acks": []}))
    frames, entries, size = 0, 0, bare
    for i in sorted(ids):
        port, acks = crowd.said[i]
        entry = len(pack([i, "127.0.0.1", port])) + len(pack(acks))
        grown = size + entry + 2 * (head(entries + 1) - head(entries))
        if entries and (entries == PEERS_MAX or grown > max_frame):
            frames, entries, size = frames + 1, 0, bare
            grown = size + entry
        entries, size = entries + 1, grown
    return frames + (entries > 0)


def check_newcomer(crowd, a, everyone, max_frame):
    """An agent that just connected was told every agent, itself included,
    in ceil(n / 4096) messages, or, under a small --max-frame, in as few as
    that cap allows: each message as full as the next entry lets it be."""
    check(crowd.union(a) == everyone, f"{a.name} was told of {len(crowd.union(a))} agents, "
          f"not all {len(everyone)}")
    fewest = peers_frames_needed(crowd, everyone, max_frame)
    if max_frame >= MAX_FRAME:
        check(fewest == -(-len(everyone) // PEERS_MAX), f"{fewest} peers messages needed")
    check(len(a.told) == fewest, f"{a.name}: {len(everyone)} agents told in {len(a.told)} "
          f"peers messages, where {fewest} of at most {PEERS_MAX} entries and --max-frame "
          f"{max_frame} bytes hold them")


def short_fd_limit(weft, work):
    """A gateway whose hard limit of open files is below what --max-conns
    needs says so, and serves."""
    step("a gateway whose hard limit of open files is short of --max-conns")
    os.makedirs(work)
    gw = Gateway(weft, work)
    try:
        gw.start(max_conns=5000, fd_limits=(256, 256))
        c = client(gw, "client of a gateway short of files")
        check_welcome(c)
        c.close()
        check(gw.stop() == 0, f"weft serve stopped with an error: {gw.stderr()}")
        want = ("warning: --max-conns 5000 needs about 5064 open files, and this process "
                "may open 256 (hard limit 256, ulimit -Hn): connections past about 192 wait")
        check(want in gw.stderr(), f"no warning '{want}' in its stderr: {gw.stderr()!r}")
    finally:
        gw.stop()


def raise_fd_limit(need):
    """The soft RLIMIT_NOFILE raised to the hard one (inherited by the
    gateway); False when even that is below need."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        return False
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return True


def main():
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--weft", default=os.environ.get("WEFT_BIN") or
                        os.path.join(here, "..", "build", "weft"),
                        help="the weft to check (default $WEFT_BIN, else build/weft)")
    parser.add_argument("--keep", metavar="DIR", help="keep the journal and logs in DIR")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each step and every message received")
    parser.add_argument("--crowd", type=int, metavar="N",
                        help="instead: N agents on one gateway (peers split over several "
                        "messages), with the default --max-frame and with 4096")
    args = parser.parse_args()
    VERBOSE = args.verbose
    if not os.access(args.weft, os.X_OK):
        print(f"protocol_check: {args.weft}: no weft program there (build it first)",
              file=sys.stderr)
        return 2
    work = args.keep or tempfile.mkdtemp(prefix="weft-protocol-")
    os.makedirs(work, exist_ok=True)
    gw = Gateway(args.weft, work)
    start = time.monotonic()
    try:
        if args.crowd:
            if not raise_fd_limit(args.crowd + 64):
                print(f"protocol_check: --crowd {args.crowd} skipped: the hard limit of open "
                      f"files ({resource.getrlimit(resource.RLIMIT_NOFILE)[1]}) is below the "
                      f"{args.crowd + 64} the agents' sockets need", file=sys.stderr)
                return SKIPPED
            short_fd_limit(args.weft, os.path.join(work, "short"))
            for max_frame in (MAX_FRAME, 4096):
                got = crowd_case(args.weft, os.path.join(work, f"crowd{max_frame}"),
                                 args.crowd, max_frame)
                print(f"protocol_check: --max-frame {max_frame}: {got['agents']} agents' "
                      f"hellos sent in {got['sent']:.2f} s, all told of all in "
                      f"{got['took']:.2f} s (the gateway's CPU {got['cpu']:.2f} s); its RSS "
                      f"{got['rss0'] / 1024:.1f} MiB before, {got['rss'] / 1024:.1f} MiB "
                      f"after (peak {got['hwm'] / 1024:.1f} MiB); a newcomer told all "
                      f"{args.crowd} in {got['parts']} messages")
        else:
            check_the_why_checker()
            run(gw)
            split_roles(args.weft, os.path.join(work, "split"))
            port_secrets(args.weft, os.path.join(work, "port-secrets"))
            split_and_compaction(args.weft, os.path.join(work, "compaction"))
            idle_and_slow_reader(args.weft, os.path.join(work, "idle"))
    except CheckFailed as e:
        print(f"protocol_check: FAILED at {e}", file=sys.stderr)
        err = gw.stderr()
        if err:
            print(f"  weft serve's stderr: {err}", file=sys.stderr)
        return 1
    finally:
        for c in list(Conn.live):
            c.close()
        if gw.proc is not None and gw.proc.poll() is None:
            gw.proc.kill()
            gw.proc.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"protocol_check: docs/protocol.md holds against {args.weft} "
          f"({time.monotonic() - start:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
