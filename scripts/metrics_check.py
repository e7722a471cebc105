#!/usr/bin/env python3
"""metrics_check.py - `weft serve --metrics` against docs/monitoring.md.

Reads the metric tables of docs/monitoring.md (name and TYPE of each family,
and which are emitted only when they apply) and holds real gateways to them:

  - every option the tables name is one of `weft serve --help` (or `weft
    agent --help`, as --id), and so is every option a HELP line names;
  - a plain gateway with a journal emits exactly the families listed as
    always there (and weft_token_reloads_total, its token being from a
    file), each with the documented TYPE, the documented histogram buckets,
    and the values the document predicts at start (1 journal record, 1
    sync, everything else 0); its HTTP answers (/healthz, 404, 501, 400);
  - a `weft status` adds 1 connection and 2 frames each way; a wrong token
    1 auth failure and 1 frame in; four bytes that are no frame 1 protocol
    error and no frame;
  - two real `weft agent`s and a real `weft submit` of a one-job workload:
    the job counters, flows, decisions (the histogram's count) and journal
    records (as `weft journal` counts them) as documented, `weft status
    --json` agreeing with the scrape, and the `stopped:` line with the last
    scrape; a restart on the journal carries the jobs and journal records
    (plus the base record), starts the rest from 0 and decides once;
  - a gateway with --policy learned, --agent-tokens, TLS and --max-conns 1
    emits the conditional families (the model's SHA-256, the secrets'
    ports, the certificate's end of validity), counts a SIGHUP's reloads as
    documented, and a connection over the limit as refused.

    python3 scripts/metrics_check.py [--weft PATH]

WEFT_BIN, else build/weft, is the weft it runs; openssl makes the
certificate. Standard library only. Exits 0 when all holds, 1 naming what
did not. Every process it starts is killed at the end.
"""
import calendar
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from tied_child import kill_all, tied  # noqa: E402 (its weft children end with it, even SIGKILLed)

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "docs", "monitoring.md")
WAIT_S = 10
PROCS = []


def fail(msg):
    print(f"metrics_check: FAIL: {msg}", file=sys.stderr)
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def doc_families():
    """{name: (type, always)} from the tables of docs/monitoring.md; the
    families of the section on reloads are emitted only when they apply."""
    fams, conditional = {}, False
    for line in open(DOC, encoding="utf-8"):
        if line.startswith("### "):
            conditional = "Reloads" in line
        m = re.match(r"\| `(weft_[a-z0-9_]+)` \| (counter|gauge|histogram) \|", line)
        if m:
            check(m.group(1) not in fams, f"{DOC}: {m.group(1)} listed twice")
            fams[m.group(1)] = (m.group(2), not conditional)
    check(len(fams) > 20, f"{DOC}: only {len(fams)} metric rows found")
    return fams


def doc_buckets():
    text = open(DOC, encoding="utf-8").read()
    m = re.search(r"The histogram's buckets .*?: (.*?),\s+cumulative", text, re.S)
    check(m, f"{DOC}: no list of the histogram's buckets")
    return re.findall(r"`([^`]+)`", m.group(1))


def http(port, request):
    """(status line, headers, body) of one raw HTTP request."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as s:
        s.sendall(request)
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], lines[1:], body


def ask(sock, path):
    """(status line, headers, body) of GET path on a kept connection, read
    up to its Content-Length."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        b = sock.recv(65536)
        check(b, f"GET {path}: the connection closed before an answer")
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    n = int(next(h.split(":", 1)[1] for h in lines if h.lower().startswith("content-length:")))
    while len(body) < n:
        b = sock.recv(65536)
        check(b, f"GET {path}: the connection closed within the body")
        body += b
    return lines[0], lines[1:], body


def values_of(text):
    return {k: float(x) for line in text.splitlines() if line and not line.startswith("#")
            for k, x in [line.rsplit(" ", 1)]}


def crowds(gp, mp):
    """Twenty peers closed after an error, each keeping its end open: 16
    drain at once (weft_connections_closing) and hold no --max-conns slot,
    the rest are closed at once. Then 16 kept --metrics connections take
    every place: a 17th is answered 503 and closed (weft_http_refused_total),
    /healthz 200 and closed; one closed frees a place."""
    bad = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", gp), timeout=WAIT_S)
        s.sendall(b"\xff\xff\xff\xff")
        check(s.recv(4096), "a peer closed without its error frame")
        bad.append(s)
    _, v = scrape(mp)
    check(v["weft_connections_closing"] <= 16 and
          v["weft_connections_open"] == v["weft_connections_closing"], f"bad peers: {v}")
    for s in bad:
        s.close()
    kept = [socket.create_connection(("127.0.0.1", mp), timeout=WAIT_S) for _ in range(16)]
    for s in kept:
        check(ask(s, "/healthz")[0].split(" ")[1] == "200", "a kept connection refused")
    line, headers, body = http(mp, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    check(line.split(" ")[1] == "503" and "Connection: close" in headers and
          body.startswith(b"weft serve: 16 --metrics connections are open already"),
          f"a 17th /metrics connection: {line} {headers} {body!r}")
    line, headers, body = http(mp, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    check(line.split(" ")[1] == "200" and "Connection: close" in headers and body == b"ok\n",
          f"/healthz past the places: {line} {headers} {body!r}")
    v = values_of(ask(kept[0], "/metrics")[2].decode())
    check((v["weft_http_connections_open"], v["weft_http_refused_total"]) == (16, 1),
          f"16 kept --metrics connections and one refused: {v}")
    kept.pop().close()
    wait_for("a --metrics place freed by a close", lambda: values_of(
        ask(kept[0], "/metrics")[2].decode())["weft_http_connections_open"] == 15)
    _, v = scrape(mp)
    check(v["weft_http_connections_open"] == 16, f"the freed place taken: {v}")
    for s in kept:
        s.close()


def scrape(port):
    """({family: type}, {sample name with labels: value}) of GET /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT_S) as r:
        check(r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8",
              f"/metrics Content-Type {r.headers['Content-Type']!r}")
        text = r.read().decode()
    types, values = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return types, values


def wait_for(what, pred, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        check(time.monotonic() < deadline, f"timed out waiting for {what}")
        time.sleep(0.02)


def start(args, **kw):
    p = subprocess.Popen(args, preexec_fn=tied(), **kw)
    PROCS.append(p)
    return p


def serve(weft, work, name, *extra):
    """A weft serve on free ports: (process, gateway port, metrics port)."""
    pf = os.path.join(work, name + ".ports")
    p = start([weft, "serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0",
               "--port-file", pf, *extra], stdout=subprocess.DEVNULL,
              stderr=open(os.path.join(work, name + ".err"), "w"))
    lines = wait_for(f"{name}'s port file", lambda: os.path.exists(pf) and
                     open(pf).read().split())
    check(len(lines) == 2, f"{name}: port file {lines!r}, expected two ports")
    return p, int(lines[0]), int(lines[1])


def status(weft, gp, token_file):
    r = subprocess.run([weft, "status", "--gateway", f"127.0.0.1:{gp}", "--token-file",
                        token_file, "--json"], capture_output=True, text=True, timeout=WAIT_S)
    check(r.returncode == 0, f"weft status: {r.stderr}")
    return json.loads(r.stdout)


def serve_options(weft, command="serve"):
    r = subprocess.run([weft, command, "--help"], capture_output=True, text=True,
                       timeout=WAIT_S)
    check(r.returncode == 0, f"weft {command} --help: status {r.returncode}")
    return set(re.findall(r"--[a-z][a-z0-9-]*", r.stdout))


def check_doc_options(weft):
    """Every option the tables of docs/monitoring.md name is one of weft
    serve's (or weft agent's, as --id): a reader can set what they name."""
    options = serve_options(weft) | serve_options(weft, "agent")
    for line in open(DOC, encoding="utf-8"):
        if line.startswith("| `weft_"):
            for o in re.findall(r"--[a-z][a-z0-9-]*", line):
                check(o in options, f"{DOC}: {line.split('`')[1]}'s row names {o}, "
                      "which neither weft serve --help nor weft agent --help lists")


def check_help_options(port, options, what):
    """Every option a family's HELP names is one `weft serve --help` lists:
    an operator reading a scrape can set what it names."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=WAIT_S) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            for o in re.findall(r"--[a-z][a-z0-9-]*", line):
                check(o in options, f"{what}: {line.split()[2]}'s HELP names {o}, "
                      "which weft serve --help does not list")


def check_families(types, fams, extra, what):
    want = {n for n, (_, always) in fams.items() if always} | set(extra)
    check(set(types) == want, f"{what}: families not documented: "
          f"{sorted(set(types) - set(fams))}; documented but missing: {sorted(want - set(types))}")
    for n, kind in types.items():
        check(kind == fams[n][0], f"{what}: {n} has TYPE {kind}, documented {fams[n][0]}")


def plain_gateway(weft, work, fams):
    token = os.path.join(work, "token")
    with open(token, "w") as f:
        f.write("metrics-check-token\n")
    journal = os.path.join(work, "gw.journal")
    args = ("--ports", "2", "--token-file", token, "--journal", journal)
    gw, gp, mp = serve(weft, work, "plain", *args)
    types, v = scrape(mp)
    check_families(types, fams, ["weft_token_reloads_total"], "plain gateway")
    check_help_options(mp, serve_options(weft), "plain gateway")
    buckets = doc_buckets()
    got = [m.group(1) for k in v for m in [re.match(r'weft_decision_seconds_bucket\{le="(.*)"\}',
                                                     k)] if m]
    check(got == buckets, f"buckets {got}, documented {buckets}")
    nonzero = {k: x for k, x in v.items() if x and "uptime" not in k}
    check(nonzero == {"weft_ports": 2, "weft_port_rate_bytes": 125e6,
                      "weft_http_connections_open": 1,  # the scrape's own
                      'weft_info{policy="sebf",allocator="madd"}': 1,
                      "weft_journal_records_total": 1, "weft_journal_syncs_total": 1,
                      **{k: 1 for k in v if k.startswith("weft_build_info{")}},
          f"a fresh gateway's non-zero figures: {nonzero}")

    line, _, body = http(mp, b"GET /healthz HTTP/1.0\r\n\r\n")
    check(" 200 " in line and body == b"ok\n", f"/healthz: {line} {body!r}")
    # a HEAD: the GET's headers, Content-Length included, and no body, so
    # the answer after it on the same connection reads from its start
    for path, code, length in (("/healthz", 200, 3), ("/metrics", 200, None),
                               ("/other", 404, 42)):
        line, headers, rest = http(mp, f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n"
                                   "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close"
                                   "\r\n\r\n".encode())
        lengths = [h.split(":", 1)[1].strip() for h in headers
                   if h.lower().startswith("content-length:")]
        check(line.split(" ")[1] == str(code) and len(lengths) == 1 and
              (length is None or lengths[0] == str(length)) and
              rest.startswith(b"HTTP/1.1 200 ") and rest.endswith(b"\r\n\r\nok\n"),
              f"HEAD {path} then GET /healthz: {line} {headers} {rest!r}")
    for req, code in ((b"GET /other HTTP/1.0\r\n\r\n", 404),
                      (b"GET /metrics/ HTTP/1.0\r\n\r\n", 404),
                      (b"POST /metrics HTTP/1.0\r\n\r\n", 501), (b"garbage\r\n\r\n", 400),
                      (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", 200)):
        line, _, _ = http(mp, req)
        check(line.split(" ")[1] == str(code), f"{req!r}: {line}, documented {code}")

    st = status(weft, gp, token)
    check(st["conns"] == 1 and st["frames_in"] == 2, f"status counts itself: {st}")
    _, v = wait_for("the status connection's close",
                    lambda: (lambda tv: tv if tv[1]["weft_connections_open"] == 0 else None)(
                        scrape(mp)))
    check((v["weft_connections_accepted_total"], v["weft_frames_in_total"],
           v["weft_frames_out_total"]) == (1, 2, 2), f"after a status: {v}")

    r = subprocess.run([weft, "status", "--gateway", f"127.0.0.1:{gp}", "--token", "wrong"],
                       capture_output=True, text=True, timeout=WAIT_S)
    check(r.returncode == 1 and "auth" in r.stderr, f"a wrong token: {r.returncode} {r.stderr}")
    _, v = scrape(mp)
    check((v["weft_auth_failures_total"], v["weft_connections_accepted_total"],
           v["weft_frames_in_total"], v["weft_frames_out_total"]) == (1, 2, 3, 3),
          f"after a wrong token (its error frame sent): {v}")
    with socket.create_connection(("127.0.0.1", gp)) as s:
        s.sendall(b"\xff\xff\xff\xff")
        s.settimeout(WAIT_S)
        while s.recv(4096):
            pass
    _, v = scrape(mp)
    check((v["weft_protocol_errors_total"], v["weft_frames_in_total"],
           v["weft_frames_out_total"]) == (1, 3, 4), f"after 4 bytes that are no frame: {v}")
    crowds(gp, mp)

    wl = os.path.join(work, "one.weft")
    with open(wl, "w") as f:
        f.write("weft-workload 1\nports 2\njob 7 0 1 0 1\ncoflow 1 0 2 -\n0 1 1000\n"
                "1 0 2000\nend 1\n")
    agents = [start([weft, "agent", "--id", str(i), "--gateway", f"127.0.0.1:{gp}",
                     "--token-file", token], stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL) for i in (0, 1)]
    r = subprocess.run([weft, "submit", wl, "--gateway", f"127.0.0.1:{gp}", "--token-file",
                        token], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "job 7 done" in r.stdout, f"weft submit: {r.stdout} {r.stderr}")
    for a in agents:
        a.terminate()
        a.wait()
    _, v = wait_for("the agents' going",
                    lambda: (lambda tv: tv if tv[1]["weft_connections_open"] == 0 and
                             tv[1]["weft_agents_connected"] == 0 else None)(scrape(mp)))
    jobs = ("weft_jobs_registered_total", "weft_jobs_finished_total",
            "weft_jobs_forgotten_total", "weft_jobs_finished_kept", "weft_jobs_in_flight",
            "weft_flows_unfinished")
    check(tuple(v[k] for k in jobs) == (1, 1, 0, 1, 0, 0), f"after the job: {v}")
    check(v["weft_decision_seconds_count"] == v["weft_decisions_total"] > 0 and
          v["weft_rebuilds_total"] <= v["weft_decisions_total"] and
          v["weft_changes_pushed_total"] >= 2, f"decisions after the job: {v}")
    r = subprocess.run([weft, "journal", journal, "--ports", "2"], capture_output=True,
                       text=True, timeout=WAIT_S)
    m = re.search(r"records +(\d+): 1 epoch, 1 job, (\d+) done", r.stdout)
    check(m, f"weft journal: {r.stdout} {r.stderr}")
    records = int(m.group(1))
    check(v["weft_journal_records_total"] == records and
          2 <= v["weft_journal_syncs_total"] <= records, f"journal {r.stdout} against {v}")

    st = status(weft, gp, token)
    _, v = scrape(mp)
    same = {"jobs": "weft_jobs_registered_total", "jobs_finished": "weft_jobs_finished_total",
            "jobs_in_flight": "weft_jobs_in_flight", "jobs_forgotten": "weft_jobs_forgotten_total",
            "flows_unfinished": "weft_flows_unfinished", "decisions": "weft_decisions_total",
            "rebuilds": "weft_rebuilds_total", "changes_pushed": "weft_changes_pushed_total",
            "frames_in": "weft_frames_in_total", "protocol_errors": "weft_protocol_errors_total",
            "auth_failures": "weft_auth_failures_total", "timeouts": "weft_timeouts_total",
            "slow_readers": "weft_slow_readers_total",
            "replaced": "weft_connections_replaced_total",
            "agents": "weft_agents_connected", "ports_waiting": "weft_ports_waiting"}
    for key, name in same.items():
        check(st[key] == v[name], f"status {key} {st[key]}, /metrics {name} {v[name]}")
    check(st["journal"]["records"] == v["weft_journal_records_total"] and
          st["journal"]["syncs"] == v["weft_journal_syncs_total"] and
          st["journal"]["rewrites"] == v["weft_journal_rewrites_total"] and
          st["decision_s"]["n"] == min(1024, v["weft_decisions_total"]),
          f"status {st} against {v}")
    gw.send_signal(signal.SIGTERM)
    gw.wait(WAIT_S)
    err = open(os.path.join(work, "plain.err")).read()
    m = re.search(r"stopped: (\d+) connections, (\d+) frames in, (\d+) decisions, (\d+) "
                  r"rebuilds, (\d+) changes pushed, (\d+) protocol errors, (\d+) auth "
                  r"failures, (\d+) timeouts", err)
    check(m, f"no stopped: line in {err!r}")
    last = [v[k] for k in ("weft_connections_accepted_total", "weft_frames_in_total",
                           "weft_decisions_total", "weft_rebuilds_total",
                           "weft_changes_pushed_total", "weft_protocol_errors_total",
                           "weft_auth_failures_total", "weft_timeouts_total")]
    check([int(x) for x in m.groups()] == last, f"stopped: {m.groups()}, last scrape {last}")

    gw, gp, mp = serve(weft, work, "again", *args)
    _, v = wait_for("the restart's decision",
                    lambda: (lambda tv: tv if tv[1]["weft_decisions_total"] else None)(
                        scrape(mp)))
    check(tuple(v[k] for k in jobs) == (1, 1, 0, 1, 0, 0), f"restarted: {v}")
    check(v["weft_journal_records_total"] == records + 1 and v["weft_journal_syncs_total"] == 1
          and v["weft_decisions_total"] == v["weft_rebuilds_total"] == 1 and
          v["weft_connections_accepted_total"] == v["weft_frames_in_total"] ==
          v["weft_frames_out_total"] == v["weft_changes_pushed_total"] == 0,
          f"restarted: {v}")
    gw.terminate()
    gw.wait(WAIT_S)


def reloading_gateway(weft, work, fams):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "10", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True, timeout=WAIT_S)
    end = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", cert], check=True,
                         capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    not_after = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
    secrets, token = os.path.join(work, "agents.tok"), os.path.join(work, "client.tok")
    with open(secrets, "w") as f:
        f.write("0 secret-of-port-0\n2 secret-of-port-2\n")
    with open(token, "w") as f:
        f.write("client-secret\n")
    model = os.path.join(work, "model.msgpack")
    shutil.copy(os.path.join(HERE, "..", "models", "weft-policy.msgpack"), model)
    sha = hashlib.sha256(open(model, "rb").read()).hexdigest()
    gw, gp, mp = serve(weft, work, "reloading", "--ports", "4", "--policy", "learned",
                       "--model", model, "--agent-tokens", secrets, "--token-file", token,
                       "--tls-cert", cert, "--tls-key", key, "--max-conns", "1")
    types, v = scrape(mp)
    cond = [n for n, (_, always) in fams.items() if not always]
    check_families(types, fams, cond, "a learned, TLS, --agent-tokens gateway")
    check_help_options(mp, serve_options(weft), "a learned, TLS, --agent-tokens gateway")
    check(v.get(f'weft_model_info{{path="{model}",sha256="{sha}"}}') == 1,
          f"weft_model_info: {[k for k in v if k.startswith('weft_model_info')]}, "
          f"expected {model} {sha}")
    check(v["weft_agent_secret_ports"] == 2 and
          v["weft_tls_certificate_expiry_seconds"] == not_after,
          f"secrets and certificate: {v}, expected 2 and {not_after}")
    gw.send_signal(signal.SIGHUP)
    _, v = wait_for("the SIGHUP's reloads",
                    lambda: (lambda tv: tv if tv[1]["weft_tls_reloads_total"] and
                             tv[1]["weft_model_reloads_total"] else None)(scrape(mp)))
    check((v["weft_model_reloads_total"], v["weft_agent_secret_reloads_total"],
           v["weft_tls_reloads_total"], v["weft_token_reloads_total"]) == (1, 1, 1, 0),
          f"a SIGHUP with nothing changed: {v}")
    with socket.create_connection(("127.0.0.1", gp)) as held:
        wait_for("the first connection",
                 lambda: scrape(mp)[1]["weft_connections_open"] == 1)
        with socket.create_connection(("127.0.0.1", gp)) as over:
            over.settimeout(WAIT_S)
            check(over.recv(4096) == b"", "a connection over --max-conns was not closed")
        _, v = scrape(mp)
        check((v["weft_connections_accepted_total"], v["weft_connections_refused_total"])
              == (1, 1), f"over --max-conns 1: {v}")
        del held
    gw.terminate()
    gw.wait(WAIT_S)


def main():
    args = sys.argv[1:]
    weft = os.environ.get("WEFT_BIN") or os.path.join(HERE, "..", "build", "weft")
    if args[:1] == ["--weft"] and len(args) == 2:
        weft, args = args[1], []
    if args:
        print(__doc__.split("\n\n")[-2], file=sys.stderr)
        return 2
    fams = doc_families()
    check_doc_options(weft)
    work = tempfile.mkdtemp(prefix="weft-metrics-")
    t0 = time.monotonic()
    try:
        plain_gateway(weft, work, fams)
        reloading_gateway(weft, work, fams)
    finally:
        kill_all(PROCS)
        shutil.rmtree(work, ignore_errors=True)
    print(f"metrics_check: {len(fams)} documented families hold on 3 gateways "
          f"({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
