#!/usr/bin/python3
"""A second reader of weft's client commands, from their documents alone.

Predicts from README.md and docs/gateway.md ("The live gateway" and its
commands in detail), docs/protocol.md (status, job_status, cancel, job_done)
and each command's --help what `weft submit`, `weft status` and `weft cancel`
print and exit with, then runs them against a real `weft serve` and real
`weft agent`s on loopback and checks; then, on a second gateway, that
status's rows slow readers, replaced and journal rewrites start at 0 and each
shows its event, provoked for real.  Written without reading cli/*.c.
Usage: clients_check.py [WEFT_BINARY]
"""
import csv
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from tied_child import tied  # noqa: E402 (its weft children end with it, even SIGKILLed)
from check_report import check, summary, wait_for  # noqa: E402

WEFT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WEFT_BIN", "build/weft")
RATE = 20e6  # bytes/s per port: --port-rate 20MB/s
PROCS = []


def run(*args, timeout=20):
    r = subprocess.run([WEFT, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def start(*args, out=subprocess.DEVNULL):
    p = subprocess.Popen([WEFT, *args], stdout=out, stderr=subprocess.STDOUT, text=True,
                         preexec_fn=tied())
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def workload(path, jobs, ports):
    """jobs: [(id, arrival, [(coflow id, compute, parents, [(src, dst, bytes)])])]"""
    lines = ["weft-workload 1", "ports %d" % ports]
    for jid, arrival, coflows in jobs:
        lines.append("job %d %g 1 0 %d" % (jid, arrival, len(coflows)))
        for cid, compute, parents, flows in coflows:
            plist = ",".join(map(str, parents)) or "-"
            lines.append("coflow %d %g %d %s" % (cid, compute, len(flows), plist))
            lines += ["%d %d %d" % f for f in flows]
    lines.append("end %d" % len(jobs))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def table(text):
    """weft status's rows: name -> first value."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^  (\S.*?\S)\s{2,}(\S+)", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def msgpack_of(obj):
    """The msgpack bytes of the few values a client made by hand sends: maps
    of fewer than 16 entries, str keys, str values under 256 bytes, ints
    >= 0 (no msgpack module needed)."""
    if isinstance(obj, dict):
        return bytes([0x80 | len(obj)]) + b"".join(msgpack_of(k) + msgpack_of(v)
                                                   for k, v in obj.items())
    if isinstance(obj, str):
        b = obj.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else bytes([0xd9, len(b)])) + b
    return bytes([obj]) if obj < 128 else b"\xce" + struct.pack(">I", obj)


def frame(msg):
    """One frame of docs/protocol.md: the payload's length, big-endian, then it."""
    payload = msgpack_of(msg)
    return struct.pack(">I", len(payload)) + payload


def main():
    tmp = tempfile.mkdtemp(prefix="weft-clients-")
    try:
        checks(tmp)
        counter_rows(tmp)
    finally:
        for p in PROCS:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def checks(tmp):
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write("clients-check-secret\n")
    port_file = os.path.join(tmp, "port")
    # a C1 control (U+009B, CSI) in its name: status's table escapes what the gateway says
    journal = os.path.join(tmp, "gw\u009b.journal")
    serve = start("serve", "--ports", "2", "--port-rate", "20MB/s", "--policy", "sebf",
                  "--token-file", token, "--listen", "127.0.0.1:0", "--port-file", port_file,
                  "--journal", journal)
    check(wait_for(lambda: os.path.exists(port_file)), "serve writes --port-file")
    with open(port_file) as f:
        addr = "127.0.0.1:" + f.readline().strip()
    gw = ["--gateway", addr, "--token-file", token]
    agents = [start("agent", "--id", str(i), *gw) for i in range(2)]

    def status_json(*extra):
        rc, out, err = run("status", *gw, "--json", *extra)
        return rc, (json.loads(out) if rc == 0 else None), err

    check(wait_for(lambda: status_json()[1]["agents"] == 2), "both agents connect")
    rc, st, _ = status_json()
    check(st["type"] == "status" and st["jobs"] == 0 and st["jobs_in_flight"] == 0
          and st["agent_ports"] == [0, 1] and st["ports"] == 2 and st["rate"] == RATE
          and st["policy"] == "sebf" and st["allocator"] == "madd"
          and st["journal"]["path"] == journal and st["token_files"] == {"reloads": 0}
          and st["model"] is None and st["tls"] is None and st["keep_finished"] is None,
          "status --json of an idle gateway: %s" % st)

    # --- weft submit: every job finishes
    small = workload(os.path.join(tmp, "small.weft"), [
        (0, 0, [(1, 0, [], [(0, 1, 1000000)])]),
        (1, 0.1, [(1, 0, [], [(1, 0, 2000000)]), (2, 0, [1], [(0, 1, 1000000)])]),
    ], 2)
    # Alone on their ports, job 0 moves 1 MB at 20 MB/s, job 1 2 MB then 1 MB.
    predicted = {0: 1e6 / RATE, 1: 3e6 / RATE}
    out_csv = os.path.join(tmp, "small.csv")
    rc, out, err = run("submit", small, *gw, "--out", out_csv)
    check(rc == 0, "submit of finishing jobs exits 0 (%d: %s)" % (rc, err.strip()))
    done = {int(m.group(1)): float(m.group(2))
            for m in re.finditer(r"^job (\d+) done: JCT ([0-9.]+) s$", out, re.M)}
    check(sorted(done) == [0, 1], "submit prints one 'job N done: JCT T s' per job:\n" + out)
    for j, t in done.items():
        check(predicted[j] <= t + 0.001 <= predicted[j] + 0.2,
              "job %d's JCT %.3f s is its bytes over the rate, %.3f s, or a little more"
              % (j, t, predicted[j]))
    m = re.search(r"^2 jobs, average JCT ([0-9.]+) s$", out, re.M)
    check(m and abs(float(m.group(1)) - sum(done.values()) / 2) <= 0.0011,
          "submit's average is of the JCTs it printed")
    with open(out_csv) as f:
        rows = list(csv.reader(f))
    check(rows[0] == ["job", "arrival_s", "jct_s", "cancelled"], "--out's columns: %s" % rows[0])
    check([(r[0], float(r[1]), r[3]) for r in rows[1:]] == [("0", 0, "0"), ("1", 0.1, "0")]
          and all(abs(float(r[2]) - done[int(r[0])]) <= 0.0006 for r in rows[1:]),
          "--out holds each job, its arrival and the JCT printed: %s" % rows[1:])

    # weft status --job of a finished job: the gateway's JCT, every coflow done.
    # It counts from the registration's acceptance to the job's end, submit's
    # from before it sent it to the job_done it read: never longer, and a few
    # ms shorter (docs/gateway.md: 0 to 48 ms measured; 23 ms in a CI run under load)
    rc, js, _ = status_json("--job", "1")
    check(rc == 0 and js["type"] == "job_status" and js["job"] == 1
          and js["state"] == "finished" and -0.0006 <= done[1] - js["jct"] < 0.1
          and [c["state"] for c in js["coflows"]] == ["done", "done"]
          and [c["sent"] for c in js["coflows"]] == [2e6, 1e6]
          and all(c["waits_on"] == [] and c["flows_done"] == c["flows"] == 1
                  for c in js["coflows"]), "status --job of a finished job: %s" % js)
    rc, text, _ = run("status", *gw, "--job", "1")
    check(rc == 0 and text.startswith("job 1: finished in %.3f s; 2 of 2 coflows done"
                                      % js["jct"]), "status --job's table, finished:\n" + text)
    gateway_jct = {j: status_json("--job", str(j))[1]["jct"] for j in (0, 1)}

    # --- a second submit of the same workload: the gateway's JCTs
    out2 = os.path.join(tmp, "again.csv")
    rc, out, err = run("submit", small, *gw, "--out", out2)
    check(rc == 0 and all(("job %d registered before this run: its JCT is the gateway's" % j)
                          in out for j in (0, 1)),
          "a second submit says each job was registered before this run:\n" + out)
    again = {int(m.group(1)): float(m.group(2))
             for m in re.finditer(r"^job (\d+) done: JCT ([0-9.]+) s \(the gateway's clock\)$",
                                  out, re.M)}
    check(all(abs(again[j] - gateway_jct[j]) < 0.0006 for j in (0, 1)),
          "and prints the gateway's JCTs %s (printed %s)" % (gateway_jct, again))
    with open(out2) as f:
        rows = list(csv.reader(f))[1:]
    check(all(abs(float(r[2]) - gateway_jct[int(r[0])]) < 1e-6 for r in rows),
          "and --out holds the gateway's JCTs: %s" % rows)

    # --- a running job, a waiting coflow, a job waiting on its compute time
    big = workload(os.path.join(tmp, "big.weft"), [
        (10, 0, [(1, 0, [], [(0, 1, 400000000)]), (2, 0, [1], [(1, 0, 1000)])]),
        (11, 0, [(1, 30, [], [(1, 0, 1000)])]),
    ], 2)
    big_csv = os.path.join(tmp, "big.csv")
    submit = subprocess.Popen([WEFT, "submit", big, *gw, "--out", big_csv],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=tied())
    PROCS.append(submit)
    check(wait_for(lambda: (status_json("--job", "10")[1] or {"coflows": [{"sent": 0}]})
                   ["coflows"][0]["sent"] > 0), "the big job starts sending")
    rc, js, _ = status_json("--job", "10")
    c1, c2 = js["coflows"]
    # the only coflow active (job 11's waits on its compute time): first of
    # one in the last decision's order; no score under sebf
    check(js["state"] == "running" and js["age"] > 0 and "jct" not in js
          and c1["state"] == "active" and abs(c1["rate"] - RATE) < RATE * 0.001
          and c2["state"] == "waiting" and c2["waits_on"] == [1] and c2["rate"] == 0
          and js["of"] == 1 and c1["rank"] == 1 and "rank" not in c2
          and "score" not in c1, "status --job of a running job: %s" % js)
    rc, text, _ = run("status", *gw, "--job", "10")
    lines = text.splitlines()
    check(rc == 0 and re.match(r"job 10: running for [0-9.]+ s; 0 of 2 coflows done$", lines[0])
          and re.match(r"\s+coflow\s+state\s+flows done\s+MB sent of total\s+rate \(MB/s\)"
                       r"\s+priority\s+waits on$", lines[1])
          and re.search(r"^\s+1\s+active\s+0 of 1\s+[0-9.]+ of 400\.00\s+20\.000\s+1 of 1$",
                        text, re.M)
          and re.search(r"^\s+2\s+waiting\s+0 of 1\s.*\s0\.000\s+-\s+1$", text, re.M),
          "status --job's table, running:\n" + text)
    rc, js, _ = status_json("--job", "11")
    check(js["state"] == "running" and js["coflows"][0]["state"] == "waiting"
          and js["coflows"][0]["waits_on"] == [], "a job in its compute time: %s" % js)
    rc, text, _ = run("status", *gw, "--job", "11")
    check(rc == 0 and re.search(r"^\s+1\s+waiting\s.*its compute time\s*$", text, re.M),
          "its table says it waits on its compute time:\n" + text)

    # weft status's table and --json agree on a known state
    rc, st, _ = status_json()
    rc, text, _ = run("status", *gw)
    rows = table(text)
    expect = {"jobs": 4, "jobs_held": 4, "jobs_finished": 2, "jobs_in_flight": 2,
              "flows_unfinished": 3, "agents": 2, "ports_waiting": 0, "waiting_ports": [],
              "agent_ports": [0, 1], "protocol_errors": 0, "auth_failures": 0}
    check(all(st[k] == v for k, v in expect.items()), "status --json in flight: %s" % st)
    names = {"jobs registered": "jobs", "jobs held": "jobs_held",
             "jobs finished": "jobs_finished", "jobs in flight": "jobs_in_flight",
             "flows unfinished": "flows_unfinished", "agents connected": "agents",
             "ports without agent": "ports_waiting", "protocol errors": "protocol_errors",
             "auth failures": "auth_failures", "timeouts": "timeouts"}
    check(all(rows.get(n) == str(st[k]) for n, k in names.items())
          and re.search(r"agents connected\s+2\s+on ports 0, 1$", text, re.M)
          and rows.get("epoch") == "%x" % st["epoch"],
          "status's table shows what --json says:\n" + text)
    check(re.search(r"records in \S*/gw\\xc2\\x9b\.journal$", text, re.M),
          "status's table shows the journal's name with its C1 control escaped:\n" + text)

    # --- weft cancel: running, finished, already cancelled, unknown, several
    rc, out, err = run("cancel", "10", *gw)
    check(rc == 0 and out == "job 10 cancelled\n", "cancel of a running job: %d %r" % (rc, out))
    rc, out, err = run("cancel", "0", *gw)
    check(rc == 0 and "job 0 had already finished" in out, "cancel of a finished job: %r" % out)
    rc, out, err = run("cancel", "10", *gw)
    check(rc == 0 and "job 10 had already finished" in out, "cancel again: %r" % out)
    rc, out, err = run("cancel", "99", *gw)
    check(rc == 1 and "job 99" in err and out == "", "cancel of an unknown job: %r" % err)
    rc, out, err = run("cancel", "0", "99", "1", *gw)
    check(rc == 1 and "job 0 had already" in out and "job 1 had already" in out
          and "job 99" in err, "cancel of several, one unknown: %d %r %r" % (rc, out, err))
    rc, js, _ = status_json("--job", "10")
    check(js["state"] == "cancelled" and js["jct"] > 0
          and [c["state"] for c in js["coflows"]] == ["cancelled", "cancelled"]
          and js["coflows"][1]["waits_on"] == []
          and 0 < js["coflows"][0]["sent"] < 4e8 and js["coflows"][0]["rate"] == 0,
          "status --job of a cancelled job: %s" % js)
    rc, text, _ = run("status", *gw, "--job", "10")
    check(rc == 0 and text.startswith("job 10: cancelled in %.3f s; 0 of 2 coflows done"
                                      % js["jct"]), "status --job's table, cancelled:\n" + text)
    run("cancel", "11", *gw)
    try:
        out, err = submit.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        submit.kill()
        out, err = submit.communicate()
    check(submit.returncode == 0 and re.search(r"^job 10 cancelled after [0-9.]+ s$", out, re.M)
          and re.search(r"^job 11 cancelled after [0-9.]+ s$", out, re.M)
          and "2 jobs, 2 cancelled; no JCT to average" in out,
          "submit reports jobs cancelled mid-run (%s):\n%s%s" % (submit.returncode, out, err))
    with open(big_csv) as f:
        rows = list(csv.reader(f))[1:]
    check([(r[0], r[3]) for r in rows] == [("10", "1"), ("11", "1")] and float(rows[0][2]) > 0,
          "--out marks them cancelled: %s" % rows)

    # --- weft status --job of an unknown job
    rc, out, err = run("status", *gw, "--job", "5")
    check(rc == 1 and "job 5 was never registered" in err, "status --job 5: %d %r" % (rc, err))

    # --- a refused job: nothing registered, nothing written
    bad = workload(os.path.join(tmp, "bad.weft"), [
        (20, 0, [(1, 0, [], [(0, 1, 1000)])]), (21, 5, [(1, 0, [], [(2, 1, 1000)])])], 3)
    bad_csv = os.path.join(tmp, "bad.csv")
    rc, out, err = run("submit", bad, *gw, "--out", bad_csv)
    check(rc == 1 and "job 21" in err and "port 2" in err and "--ports 2" in err,
          "a job on a port the gateway lacks is refused: %d %r" % (rc, err))
    check(status_json()[1]["jobs"] == 4 and status_json("--job", "20")[0] == 1,
          "and nothing of that workload was registered")

    # --- a timeout
    slow = workload(os.path.join(tmp, "slow.weft"), [(30, 0, [(1, 0, [], [(0, 1, 400000000)])])],
                    2)
    kept_csv = os.path.join(tmp, "kept.csv")
    with open(kept_csv, "w") as f:
        f.write("an earlier run's\n")
    t0 = time.monotonic()
    rc, out, err = run("submit", slow, *gw, "--timeout", "0.5", "--out", kept_csv)
    took = time.monotonic() - t0
    check(rc == 1 and "timeout: 0 of 1 jobs finished after 0.5 s" in err and 0.5 <= took < 2,
          "submit --timeout 0.5: %d after %.2f s, %r" % (rc, took, err))
    with open(kept_csv) as f:
        check(f.read() == "an earlier run's\n", "a submit that fails leaves --out as it was")

    # --- a job the gateway refuses mid-run: another job under a registered id
    other = workload(os.path.join(tmp, "other.weft"), [(0, 0, [(1, 0, [], [(0, 1, 999)])])], 2)
    rc, out, err = run("submit", other, *gw, "--out", kept_csv)
    check(rc == 1 and "job 0 is registered already with other contents" in err,
          "a job id registered with other contents is refused: %d %r" % (rc, err))

    # --- a port without agent, with a released flow on it
    stop(agents[1])
    check(wait_for(lambda: status_json()[1]["agents"] == 1), "agent 1 gone")
    rc, st, _ = status_json()
    rc, text, _ = run("status", *gw)
    check(st["ports_waiting"] == 1 and st["waiting_ports"] == [1] and st["agent_ports"] == [0]
          and st["jobs_in_flight"] == 1 and table(text).get("ports without agent") == "1"
          and re.search(r"ports without agent\s+1\b.*\b1\s*$", text, re.M),
          "job 30's flow waits on port 1: %s\n%s" % (st, text))
    rc, out, err = run("cancel", "30", *gw)
    check(rc == 0 and status_json()[1]["ports_waiting"] == 0, "and waits no more once cancelled")

    # --- the gateway goes away in the middle of a submit
    gone = workload(os.path.join(tmp, "gone.weft"), [(40, 0, [(1, 0, [], [(0, 0, 400000000)])])],
                    2)
    submit = subprocess.Popen([WEFT, "submit", gone, *gw, "--timeout", "1.5"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=tied())
    PROCS.append(submit)
    check(wait_for(lambda: status_json("--job", "40")[0] == 0), "job 40 registered")
    stop(serve)
    out, err = submit.communicate(timeout=10)
    check(submit.returncode == 1 and "cannot connect to %s" % addr in err
          and "timeout: 0 of 1 jobs finished after 1.5 s" in err,
          "submit whose gateway went away retries, then times out: %d %r"
          % (submit.returncode, err))
    rc, out, err = run("status", *gw, "--timeout", "1")
    check(rc == 1 and "cannot connect" in err, "status with no gateway: %d %r" % (rc, err))
    rc, out, err = run("cancel", "40", *gw, "--timeout", "1")
    check(rc == 1 and "cannot connect" in err, "cancel with no gateway: %d %r" % (rc, err))


MANY = 4000  # coflows of job 100: its job_status answer is about 0.36 MB
ASKS = 120   # such answers asked for and never read: about 43 MB, over the 16 MiB that
             # close a connection plus what the kernel's buffers hold


def counter_rows(tmp):
    """weft status's rows slow readers, replaced and journal rewrites: 0 on
    a gateway just started, then each provoked for real and shown: an agent
    started for a port that has one (the first is replaced and stops, exit
    status 1, naming the port); a client that asks for more than 16 MiB of
    job_status answers and reads none; 17 finished jobs, which the gateway
    drops from its table, rewriting its journal (over 64 KiB by then, and
    more than twice what it was when written whole at the start)."""
    token = os.path.join(tmp, "token")
    port_file = os.path.join(tmp, "counters.port")
    # fair: the 4000 coflows of job 100 move at once, not one decision after another
    serve = start("serve", "--ports", "2", "--port-rate", "1GB/s", "--policy", "fair",
                  "--token-file", token,
                  "--listen", "127.0.0.1:0", "--port-file", port_file,
                  "--journal", os.path.join(tmp, "counters.journal"))
    check(wait_for(lambda: os.path.exists(port_file)), "the counters' serve writes --port-file")
    with open(port_file) as f:
        host, port = "127.0.0.1", int(f.readline())
    gw = ["--gateway", "%s:%d" % (host, port), "--token-file", token]
    first = start("agent", "--id", "0", *gw, out=subprocess.PIPE)
    start("agent", "--id", "1", *gw)

    def status():
        rc, out, err = run("status", *gw)
        rc2, js, _ = run("status", *gw, "--json")
        return table(out), (json.loads(js) if rc2 == 0 else {}), out

    def shows(row, key, n):
        rows, st, _ = status()
        got = st.get(key) if key != "rewrites" else (st.get("journal") or {}).get(key)
        return rows.get(row) == str(n) and got == n

    check(wait_for(lambda: status()[1].get("agents") == 2), "the counters' agents connect")
    rows, st, text = status()
    check(all(rows.get(r) == "0" for r in ("slow readers", "replaced", "journal rewrites"))
          and st["slow_readers"] == st["replaced"] == st["journal"]["rewrites"] == 0,
          "a gateway just started shows slow readers, replaced and journal rewrites 0:\n"
          + text)

    # --- replaced: a second agent for port 0 takes it over
    start("agent", "--id", "0", *gw)
    check(wait_for(lambda: first.poll() is not None, 10), "the first agent of port 0 stops")
    said = first.communicate()[0]
    check(first.returncode == 1 and "port 0" in said,
          "it stops with status 1, naming the port: %d %r" % (first.returncode, said))
    check(wait_for(lambda: shows("replaced", "replaced", 1) and status()[1]["agents"] == 2),
          "status shows replaced 1, and two agents still:\n" + status()[2])

    # --- slow readers: a client asks for about 43 MB and reads none of it
    many = workload(os.path.join(tmp, "many.weft"), [
        (100, 0, [(k, 0, [], [(k % 2, 1 - k % 2, 1000)]) for k in range(1, MANY + 1)])], 2)
    rc, out, err = run("submit", many, *gw, timeout=60)
    check(rc == 0, "a job of %d coflows finishes (%d: %s)" % (MANY, rc, err.strip()))
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel holds little
    slow.connect((host, port))
    with open(token) as f:
        secret = f.readline().strip()
    slow.sendall(frame({"type": "hello", "v": 1, "token": secret, "role": "client"})
                 + b"".join(frame({"type": "job_status", "seq": i, "job": 100})
                            for i in range(ASKS)))
    check(wait_for(lambda: shows("slow readers", "slow_readers", 1), 15),
          "status shows slow readers 1 once a client reads none of its answers:\n"
          + status()[2])
    slow.close()

    # --- journal rewrites: 17 jobs finished are dropped, and the journal is rewritten
    tiny = workload(os.path.join(tmp, "tiny.weft"), [
        (j, 0, [(1, 0, [], [(0, 1, 1000)])]) for j in range(101, 117)], 2)
    rc, out, err = run("submit", tiny, *gw)
    check(rc == 0, "16 small jobs finish (%d: %s)" % (rc, err.strip()))
    check(wait_for(lambda: shows("journal rewrites", "rewrites", 1)),
          "status shows journal rewrites 1 once 17 finished jobs were dropped:\n"
          + status()[2])
    rows, st, text = status()
    check(rows.get("slow readers") == "1" and rows.get("replaced") == "1"
          and st["jobs_finished"] == 17 and st["jobs_held"] < 17,
          "each counter moved once, and the finished jobs left the table:\n" + text)
    stop(serve)


if __name__ == "__main__":
    sys.exit(main())
