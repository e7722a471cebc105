#!/usr/bin/env python3
"""data_check.py - the agents' data connections, from docs/protocol.md alone.

scripts/protocol_check.py speaks the gateway's frames; this speaks what one
`weft agent` sends another on the data port it announces ("Data
connections" in docs/protocol.md), written from that document without
reading rpc/, cli/ or tests/. It runs a real `weft serve` on three ports
and two real `weft agent`s, and is itself the agent of port 1, announcing
`acks` 2 and a data port of its own:

  - as a receiver, from the real agent of port 0: the connection opens with
    `weft-d2\\n`, a stream id and offset 0; the payload is zeros; the flow is
    not counted sent (`job_status`) beyond what this receiver acknowledged,
    nor done before its last count; cut after a partial count, the sender
    opens a new connection on the same stream at the offset counted and
    sends exactly the rest;
  - as a sender, to the real agent of port 2: `weft-a2\\n` answers the
    stream hello, counts are cumulative per connection, never go back and
    reach what was written; a second connection of the stream from an
    earlier offset (a count lost with the first) is counted from 0 again;
    a version-1 hello gets `weft-a1\\n` and counts; a connection whose first
    bytes are payload (an older agent), or a hello of a version never said
    (`weft-d4\\n`), is read whole, counted, and answered nothing;
    the receiver says, stopping, it received each byte once;
  - as a receiver that says `acks` 1, then none (this agent replaced): the
    real sender opens with `weft-d1\\n` and waits for the count, then sends
    no hello and the flow is done with no count, once its bytes were taken.

    python3 scripts/data_check.py [--weft PATH] [-v]

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds, 1
with the step that failed. Every process it starts is killed at the end.
"""
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol_check as pc  # noqa: E402 (the gateway's frames and checks)
from protocol_check import check, step, fail  # noqa: E402
from tied_child import tied  # noqa: E402 (its weft children end with it, even SIGKILLed)

D1, A1, D2, A2 = b"weft-d1\n", b"weft-a1\n", b"weft-d2\n", b"weft-a2\n"
FLOW_A = 3_000_000   # bytes, port 0 -> port 1 (this script receives)
FLOW_B = 2_000_000   # bytes, port 1 -> port 2 (this script sends)
FLOW_C = 500_000     # bytes, port 0 -> port 1 (this script receives, acks 1 or none)
OLD = 5000           # bytes on a version-1 connection, and on an older agent's
AGENTS = []          # the weft agent processes started
REOPEN = []          # s from a bad count to the sender's next connection


def serve_gateway():
    """Reads whatever the gateway sent meanwhile, without waiting."""
    ready, _, _ = select.select(list(pc.Conn.live), [], [], 0)
    for c in ready:
        if c in pc.Conn.live:
            c.read_some()


def wait_end(sock):
    """What sock brings before its end (a reset included), the gateway served."""
    out = bytearray()
    deadline = time.monotonic() + pc.ANSWER_S
    while True:
        serve_gateway()
        left = deadline - time.monotonic()
        check(left > 0, "the sender did not close the connection")
        ready, _, _ = select.select([sock], [], [], min(left, 0.05))
        if ready:
            try:
                data = sock.recv(1 << 16)
            except ConnectionResetError:
                data = b""
            if not data:
                return bytes(out)
            out += data


def recv_exact(sock, n, what):
    """n bytes from sock, the gateway served meanwhile."""
    out = bytearray()
    deadline = time.monotonic() + pc.ANSWER_S
    while len(out) < n:
        serve_gateway()
        left = deadline - time.monotonic()
        check(left > 0, f"no {what} within {pc.ANSWER_S:g} s ({len(out)} of {n} bytes)")
        ready, _, _ = select.select([sock], [], [], min(left, 0.05))
        if ready:
            data = sock.recv(n - len(out))
            check(data, f"the connection ended after {len(out)} of the {n} bytes of {what}")
            out += data
    return bytes(out)


def start_agent(weft, gw, port_id, work):
    err = open(os.path.join(work, f"agent{port_id}.err"), "w")
    proc = subprocess.Popen([weft, "agent", "--id", str(port_id), "--gateway",
                             f"127.0.0.1:{gw.port}", "--token", pc.TOKEN, "-v"],
                            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                            preexec_fn=tied())
    AGENTS.append(proc)
    return proc


def wait_peer(me, port_id):
    """The peers entry of port_id, once the gateway announced it to me."""
    pc.pump(lambda: port_id in me.peers, f"peers naming agent {port_id}")
    host, data_port, acks = me.peers[port_id]
    check(acks == 3, f"agent {port_id} (weft agent) announced with acks {acks}, expected 3")
    return host, data_port


def wait_reported(c, job_id, counted, what):
    """Asks job_status until the job's flow is reported sent as far as its
    receiver counted, checking it never goes further nor finishes."""
    deadline = time.monotonic() + pc.ANSWER_S
    while True:
        ans = pc.job_status(c, job_id)
        state, sent = ans["state"], ans["coflows"][0]["sent"]
        check(state == "running" and sent <= counted, f"job {job_id} is {state}, {sent} "
              f"bytes sent, though its receiver counted {counted} ({what})")
        if sent == counted:
            return
        check(time.monotonic() < deadline, f"the sender never reported the {counted} bytes "
              f"counted ({what}; job_status says {sent})")
        time.sleep(0.005)  # a poll interval: the sender reports on its own clock


def accept_stream(listener, what, stream=None, offset=0):
    """The sender's next connection: its stream hello (of stream, if given,
    at offset), answered; returns the connection and the stream id."""
    conn, _ = listener.accept()
    hello = recv_exact(conn, 24, f"{what}'s stream hello")
    check(hello[:8] == D2, f"{what} opened with {hello[:8]!r}, expected {D2!r}")
    got_stream, got_offset = struct.unpack(">QQ", hello[8:])
    check(stream is None or got_stream == stream, f"{what} on stream {got_stream:#x}, the "
          f"first on {stream}")
    check(got_offset == offset, f"{what} at offset {got_offset}, expected {offset}, "
          f"where the counts end")
    conn.sendall(A2)
    return conn, got_stream


def zeros(conn, n, what):
    got = recv_exact(conn, n, what)
    check(got.count(0) == len(got), f"{what}: the payload holds bytes other than zeros")


def receive(weft, gw, work, me, listener, c):
    """This script receives flow A from a real weft agent (port 0)."""
    step("receiver: weft agent 0 connects and is announced")
    start_agent(weft, gw, 0, work)
    wait_peer(me, 0)
    step("receiver: a job of one flow 0 -> 1")
    pc.register(c, 1, {"id": 1, "coflows": [{"id": 1, "flows": [[0, 1, FLOW_A]]}]})
    listener.settimeout(pc.ANSWER_S)
    conn, stream = accept_stream(listener, "the first connection")
    step("receiver: a partial count, and the flow counted sent no further")
    acked = FLOW_A // 4
    zeros(conn, acked, "a quarter of the flow")
    conn.sendall(struct.pack(">Q", acked))
    zeros(conn, 100_000, "bytes past the count")
    wait_reported(c, 1, acked, "a quarter")
    step("receiver: the connection cut; the stream resumes at the count")
    conn.close()
    conn, _ = accept_stream(listener, "the second connection", stream, acked)
    rest = FLOW_A - acked
    zeros(conn, rest - 1, "the rest of the flow but one byte")
    conn.sendall(struct.pack(">Q", rest - 1))
    zeros(conn, 1, "the flow's last byte")
    step("receiver: not done before the last byte is counted")
    wait_reported(c, 1, FLOW_A - 1, "all but the last byte")
    step("receiver: a count going back closes the connection; the rest comes again")
    conn.sendall(struct.pack(">Q", rest - 2))
    t0 = time.monotonic()
    check(wait_end(conn) == b"", "the sender sent more after a count going back")
    conn.close()
    conn, _ = accept_stream(listener, "the third connection", stream, FLOW_A - 1)
    REOPEN.append(time.monotonic() - t0)
    with open(os.path.join(work, "agent0.err")) as f:
        log = f.read()
    where = "127.0.0.1:%d" % listener.getsockname()[1]
    check(any(where in line and "agent 1" in line and "count" in line
              for line in log.splitlines()), f"weft agent -v logged no line naming agent 1, "
          f"{where} and the bad count: {log}")
    zeros(conn, 1, "the last byte again")
    conn.sendall(struct.pack(">Q", 1))
    pc.pump(lambda: 1 in c.job_done, "job 1's job_done")
    conn.setblocking(False)
    try:
        extra = conn.recv(1 << 16)
    except BlockingIOError:
        extra = b""
    check(not extra, f"{len(extra)} bytes past the flow's end on the data connection")
    return conn


def receive_as(gw, me, c, acks, job_id):
    """This script, replaced by an agent of port 1 that says acks (none if
    None), receives a flow from port 0: a version-1 sender's hello for
    acks 1, none for no acks, and the flow done without a count then."""
    what = f"receiver with acks {acks}"
    step(f"{what}: this agent replaced by one that says so")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    me2 = pc.Agent(gw.port, f"agent 1 again (acks {acks})", 1, listener.getsockname()[1])
    if acks is None:
        me2.hello()
    else:
        me2.hello(acks=acks)
    pc.check_welcome(me2)
    me.expect_error("replaced", closes=True)
    step(f"{what}: a flow 0 -> 1")
    pc.register(c, job_id, {"id": job_id, "coflows": [{"id": 1, "flows": [[0, 1, FLOW_C]]}]})
    listener.settimeout(pc.ANSWER_S)
    conn, _ = listener.accept()
    listener.close()
    if acks == 1:
        hello = recv_exact(conn, 8, "a version-1 hello")
        check(hello == D1, f"the sender to an agent of acks 1 opened with {hello!r}")
        conn.sendall(A1)
    zeros(conn, FLOW_C, f"the flow to a {what} (a hello first?)")
    if acks == 1:
        wait_reported(c, job_id, 0, "nothing counted yet")
        conn.sendall(struct.pack(">Q", FLOW_C))
    pc.pump(lambda: job_id in c.job_done, f"job {job_id}'s job_done")
    conn.close()
    return me2


def stopped_receiving(proc, err_path):
    """SIGTERMs a weft agent -v and returns the bytes it says it received."""
    for other in AGENTS:
        check(other.poll() is None, f"a weft agent exited with status {other.returncode}")
    proc.terminate()
    try:
        proc.wait(pc.ANSWER_S)
    except subprocess.TimeoutExpired:
        fail("weft agent did not stop on SIGTERM")
    with open(err_path) as f:
        err = f.read()
    check(proc.returncode == 0, f"weft agent exited with {proc.returncode} on SIGTERM: {err}")
    words = err.split("stopping: ")
    check(len(words) == 2, f"weft agent -v said no 'stopping: N bytes received': {err}")
    return int(words[1].split()[0])


def counts_until(sock, want, written, what):
    """Reads 8-byte counts until one is want: each at least the last, none
    above what was written."""
    last = 0
    buf = b""
    while last < want:
        buf += recv_exact(sock, 8 - len(buf) % 8 or 8, f"{what}'s count")
        while len(buf) >= 8:
            (n,) = struct.unpack(">Q", buf[:8])
            buf = buf[8:]
            check(last <= n <= written, f"{what}: count {n} after {last}, "
                  f"{written} written")
            last = n
    return last


def send(weft, gw, work, me, c):
    """This script sends flow B to a real weft agent (port 2)."""
    step("sender: weft agent 2 connects and is announced")
    start_agent(weft, gw, 2, work)
    host, data_port = wait_peer(me, 2)
    step("sender: a job of one flow 1 -> 2, and its schedule")
    first = pc.register(c, 2, {"id": 2, "coflows": [{"id": 2, "flows": [[1, 2, FLOW_B]]}]})
    pc.pump(lambda: first in me.flows and me.flows[first]["rate"] > 0, "flow B's rate")
    stream = int.from_bytes(os.urandom(8), "big")
    step("sender: a stream's first connection")
    s = socket.create_connection((host, data_port), timeout=pc.ANSWER_S)
    s.sendall(D2 + struct.pack(">QQ", stream, 0))
    check(recv_exact(s, 8, "the stream hello's answer") == A2, "no weft-a2 answer")
    n1 = FLOW_B // 2
    s.sendall(bytes(n1))
    counts_until(s, n1, n1, "the first connection")
    me.send({"type": "progress", "flows": [[first, n1]]})
    step("sender: a second connection from before the last count")
    s.close()
    offset = n1 - 300_000
    s = socket.create_connection((host, data_port), timeout=pc.ANSWER_S)
    s.sendall(D2 + struct.pack(">QQ", stream, offset))
    check(recv_exact(s, 8, "the second hello's answer") == A2, "no weft-a2 answer")
    rest = FLOW_B - offset
    s.sendall(bytes(rest))
    counts_until(s, rest, rest, "the second connection")
    me.send({"type": "done", "seq": 7, "flows": [first]})
    pc.pump(lambda: 2 in c.job_done, "job 2's job_done")
    s.close()
    step("sender: a version-1 connection")
    s = socket.create_connection((host, data_port), timeout=pc.ANSWER_S)
    s.sendall(D1)
    check(recv_exact(s, 8, "the version-1 answer") == A1, "no weft-a1 answer")
    s.sendall(bytes(OLD))
    counts_until(s, OLD, OLD, "the version-1 connection")
    s.close()
    for first, what in ((b"", "an older agent's connection, payload from its first byte"),
                        (b"weft-d4\n", "a hello of a version the receiver never said")):
        step(f"sender: {what}")
        s = socket.create_connection((host, data_port), timeout=pc.ANSWER_S)
        s.sendall(first + bytes(OLD))
        s.shutdown(socket.SHUT_WR)
        try:
            answer = s.recv(64)
        except OSError as e:
            fail(f"the receiver neither answered nor closed {what}: {e}")
        check(answer == b"", f"{what}: answered {answer!r}, where nothing is due")
        s.close()
    step("sender: the receiver counts the bytes sent again once")
    got = stopped_receiving(AGENTS[-1], os.path.join(work, "agent2.err"))
    want = FLOW_B + 3 * OLD + 8
    check(got == want, f"weft agent 2 says it received {got} bytes: the flow's {FLOW_B}, "
          f"300000 of them twice on one stream, and {3 * OLD + 8} outside streams (a "
          f"stranger's hello counted) make {want} counted once")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    weft = os.environ.get("WEFT_BIN") or os.path.join(here, "..", "build", "weft")
    if "--weft" in sys.argv:
        weft = sys.argv[sys.argv.index("--weft") + 1]
    pc.VERBOSE = "-v" in sys.argv
    if not os.access(weft, os.X_OK):
        print(f"data_check: {weft}: no weft program there", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="weft-data-")
    gw = pc.Gateway(weft, work)
    start = time.monotonic()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        step("start the gateway, and this agent of port 1")
        gw.start()
        me = pc.Agent(gw.port, "agent 1 (this script)", 1, listener.getsockname()[1])
        me.hello(acks=2)
        pc.check_welcome(me)
        c = pc.client(gw, "client")
        pc.check_welcome(c)
        receive(weft, gw, work, me, listener, c).close()
        me = receive_as(gw, me, c, 1, 3)
        me = receive_as(gw, me, c, None, 4)
        send(weft, gw, work, me, c)
    except pc.CheckFailed as e:
        print(f"data_check: FAILED at {e}", file=sys.stderr)
        for name in sorted(os.listdir(work)):
            if name.endswith(".err"):
                with open(os.path.join(work, name)) as f:
                    print(f"  {name}: {f.read().strip()[-1500:]}", file=sys.stderr)
        return 1
    finally:
        for cn in list(pc.Conn.live):
            cn.close()
        listener.close()
        for proc in AGENTS + ([gw.proc] if gw.proc else []):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"data_check: the data connections hold against {weft} "
          f"({time.monotonic() - start:.2f} s, {REOPEN[0]:.2f} s to reopen after a bad "
          f"count)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
