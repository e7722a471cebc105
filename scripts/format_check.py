#!/usr/bin/env python3
"""format_check.py - a second reader of weft's workload formats, from docs/workload-format.md alone.

Written from docs/workload-format.md without reading workload/, cli/ or
tests/, as scripts/refsim.py is written from the emulator's definitions and
scripts/protocol_check.py from docs/protocol.md: where this reader and weft
disagree, one of the two is wrong. For each seed it generates inputs of the
four formats weft reads (weft's text format, the Facebook trace, Alibaba's
batch_task CSV, WfCommons JSON):

  - valid ones across what the document allows: comments, blank lines, tabs,
    CRLF line ends, a byte-order mark, hex reals, DAGs listed in any order,
    Alibaba rows of a job spread over the file, dependencies it repairs and
    jobs it skips, WfCommons stages with zero-byte edges and tasks without an
    execution record, and the options --fb-mb-bytes, --max-jobs,
    --skip-independent, --wf-ports and --wf-seed;
  - invalid ones the document says are refused: each limit, each malformed
    line it names.

It runs `weft convert IN -o OUT.weft` on each. A valid input's OUT.weft is
read back with this script's own reader of weft's format and compared, job
by job, with this script's own reading of the input (arrivals, weights,
compute times, coflows, parents, flows, ports and bytes, bit for bit). An
invalid one must be refused with exit status 1, a message naming the place
(`IN:line:` or the JSON path) and the problem the document promises, and no
OUT.weft written.

Seed-free fixed cases come with them: files without jobs, each format's
options given for another format (a usage error), formats guessed from the
content whatever the name, standard input, a binary file, limits met
exactly, and a few malformed weft lines.

    python3 scripts/format_check.py [--seeds 1-40] [--weft PATH] [-j 2] [--keep-going] [--data]

--data also reads the bundled traces (data/) both ways and checks the
document's counts of them (about 15 s).

-j runs that many seeds (each about a dozen weft runs) at once.

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds; on a
mismatch it prints the seed, the case, the input (kept in a temporary
directory) and both readings, and exits 1 (2 if it cannot run at all).
"""
import argparse
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

MAX_TIME = 1e9
MAX_BYTES = float(2 ** 60)
MAX_PORTS = 1 << 20
MASK = (1 << 64) - 1


class Mismatch(Exception):
    """weft and this reader disagree."""


class ReadError(Exception):
    """This reader refuses a weft file (read back from weft's own writer)."""


# --------------------------------------------------------------------------
# The model: a workload is (ports, [job]); a job (id, arrival, weight, final,
# [coflow]); a coflow (id, compute, [parent ids], [(src, dst, bytes)]).

def plural(n, one, many):
    """weft's notes say "1 job" and "2 jobs"."""
    return one if n == 1 else many


def job(jid, arrival, weight, final, coflows):
    return {"id": jid, "arrival": arrival, "weight": weight, "final": final,
            "coflows": coflows}


def coflow(cid, compute, parents, flows):
    return {"id": cid, "compute": compute, "parents": list(parents), "flows": list(flows)}


def canon(ports, jobs, flow_order=True):
    """A comparable reading: jobs in order, coflows by id, parents as sets."""
    out = [("ports", ports)]
    for j in jobs:
        out.append(("job", j["id"], j["arrival"].hex(), j["weight"].hex(), j["final"].hex()))
        for c in sorted(j["coflows"], key=lambda c: c["id"]):
            flows = [(s, d, b.hex()) for s, d, b in c["flows"]]
            if not flow_order:
                flows.sort()
            out.append(("coflow", c["id"], c["compute"].hex(), tuple(sorted(c["parents"])),
                        tuple(flows)))
    return out


# --------------------------------------------------------------------------
# weft's text format: this script's own reader (of weft's output) and writer
# (of the generated inputs, with the freedom the document gives).

def strip_comment(line):
    """A comment is a line starting '#' after blanks, or ' #...' at the end."""
    s = line.lstrip(" \t")
    if s.startswith("#"):
        return ""
    for i, ch in enumerate(line):
        if ch == "#" and i > 0 and line[i - 1] in " \t":
            return line[:i]
    return line


def real(tok):
    if tok.lower().startswith(("0x", "-0x", "+0x")):
        return float.fromhex(tok)
    return float(tok)


def read_weft(text):
    """Reads weft's format strictly enough for weft's own output."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    toks = []
    for no, raw in enumerate(lines, 1):
        raw = raw[:-1] if raw.endswith("\r") else raw
        f = strip_comment(raw).split()
        if f:
            toks.append((no, f))
    pos = 0

    def nxt(word):
        nonlocal pos
        if pos >= len(toks):
            raise ReadError(f"expected '{word}', found end of file")
        no, f = toks[pos]
        pos += 1
        if f[0] != word:
            raise ReadError(f"line {no}: expected '{word}', found '{f[0]}'")
        return f
    if nxt("weft-workload")[1:] != ["1"]:
        raise ReadError("not version 1")
    ports = int(nxt("ports")[1])
    jobs = []
    while pos < len(toks) and toks[pos][1][0] == "job":
        f = nxt("job")
        cfs = []
        for _ in range(int(f[5])):
            g = nxt("coflow")
            flows = []
            for _ in range(int(g[3])):
                no, h = toks[pos]
                pos += 1
                if len(h) != 3:
                    raise ReadError(f"line {no}: a flow line of {len(h)} fields")
                flows.append((int(h[0]), int(h[1]), real(h[2])))
            parents = [] if g[4] == "-" else [int(p) for p in g[4].split(",")]
            cfs.append(coflow(int(g[1]), real(g[2]), parents, flows))
        jobs.append(job(int(f[1]), real(f[2]), real(f[3]), real(f[4]), cfs))
    end = nxt("end")
    if int(end[1]) != len(jobs) or pos != len(toks):
        raise ReadError("bad trailer")
    return ports, jobs


def fmt_real(rng, x):
    """x as weft's reader must read it back: %.17g, repr, or hex."""
    r = rng.random()
    if r < 0.15:
        return x.hex()
    if r < 0.3 and x == int(x) and abs(x) < 1e15:
        return f"{x:.17e}"
    return repr(x) if r < 0.65 else "%.17g" % x


def write_weft(rng, ports, jobs, fancy=True):
    """Lines of a weft file of the workload, with comments, blanks and tabs."""
    L = []

    def sep():
        return rng.choice([" ", " ", "\t", "  ", " \t "]) if fancy else " "

    def put(*fields):
        line = sep().join(str(f) for f in fields)
        if fancy and rng.random() < 0.1:
            line = rng.choice(["", " ", "\t"]) + line + rng.choice(["", " ", "\t"])
        if fancy and rng.random() < 0.1:
            line += rng.choice([" #", "\t# why", " ## x#y"])
        L.append(line)
        if fancy and rng.random() < 0.08:
            L.append(rng.choice(["", "# a comment", "   # indented", "\t", "#"]))
    if fancy and rng.random() < 0.5:
        L.append("# generated by format_check.py")
    put("weft-workload", 1)
    put("ports", ports)
    for j in jobs:
        put("job", j["id"], fmt_real(rng, j["arrival"]), fmt_real(rng, j["weight"]),
            fmt_real(rng, j["final"]), len(j["coflows"]))
        for c in j["coflows"]:
            par = ",".join(str(p) for p in c["parents"]) or "-"
            put("coflow", c["id"], fmt_real(rng, c["compute"]), len(c["flows"]), par)
            for s, d, b in c["flows"]:
                put(s, d, fmt_real(rng, b))
    put("end", len(jobs))
    return L


def rand_dag(rng, n):
    """Parent lists of n coflows: an edge only from a lower rank to a higher."""
    par = []
    for i in range(n):
        k = rng.randint(0, min(i, 3))
        par.append(sorted(rng.sample(range(i), k)))
    return par


def distinct(rng, lo, hi, n):
    out = []
    while len(out) < n:
        x = rng.choice([lo, hi, rng.randint(lo, hi)])
        if x not in out:
            out.append(x)
    return out


def gen_weft_model(rng):
    ports = rng.choice([1, 2, 3, 5, 8, 150, MAX_PORTS]) if rng.random() < 0.3 \
        else rng.randint(1, 12)
    jobs = []
    ids = distinct(rng, -2 ** 63, 2 ** 63 - 1, 6) if rng.random() < 0.3 \
        else rng.sample(range(0, 100), 6)
    for jid in ids[:rng.randint(1, 5)]:
        n = rng.randint(1, 5)
        cids = distinct(rng, -5, 2 ** 63 - 1, n) if rng.random() < 0.2 \
            else rng.sample(range(0, 30), n)
        par = rand_dag(rng, n)
        cfs = []
        for i in range(n):
            flows = []
            for _ in range(rng.randint(1, 4)):
                b = rng.choice([1.0, 1e-200, 0.5, 1e6 * rng.random() + 1e-3, float(2 ** 50),
                                float(rng.randint(1, 10 ** 9))])
                flows.append((rng.randrange(ports), rng.randrange(ports), b))
            comp = rng.choice([0.0, 1e9, rng.random() * 100, 0.1])
            cfs.append(coflow(cids[i], comp, [cids[p] for p in par[i]], flows))
        order = list(range(n))
        rng.shuffle(order)  # a parent may be defined later in the job
        jobs.append(job(jid, rng.choice([0.0, 1e9, rng.random() * 1e4]),
                        rng.choice([1.0, 1e15, 1e-9, rng.random() * 10 + 1e-6]),
                        rng.choice([0.0, 1e9, rng.random()]), [cfs[i] for i in order]))
    return ports, jobs


def case_weft_valid(rng):
    ports, jobs = gen_weft_model(rng)
    L = write_weft(rng, ports, jobs)
    text = "\n".join(L) + "\n"
    if rng.random() < 0.15:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.1:
        text = "\ufeff" + text
    args = []
    if rng.random() < 0.25:
        n = rng.randint(1, len(jobs) + 1)
        args = ["--max-jobs", str(n)]
        jobs = jobs[:n]
    return {"name": "in.weft", "data": text, "args": args, "want": (ports, jobs)}


def line_of(L, pred):
    for i, s in enumerate(L):
        if pred(s):
            return i + 1
    raise AssertionError("no such line")


def field0(s, word):
    f = strip_comment(s).split()
    return bool(f) and f[0] == word


def case_weft_invalid(rng):
    """A valid model with one fault the document names; (lines, line, msg)."""
    ports, jobs = gen_weft_model(rng)
    j = rng.choice(jobs)
    c = rng.choice(j["coflows"])
    kind = rng.choice(["version", "ports0", "portsbig", "portflow", "arrival", "arrneg",
                       "weight0", "weightbig", "final", "compute", "bytessmall", "bytesbig",
                       "coflowsum", "jobsum", "count", "notrailer", "parent", "cycle",
                       "dupjob", "dupcoflow", "hash", "after", "nul", "cr", "nan", "inf",
                       "huge", "endcount", "nonewline", "flowcount", "selfparent"])
    msg = None
    line_pred = None
    if kind == "version":
        v = rng.choice([0, 2, 17])
        L = write_weft(rng, ports, jobs)
        i = line_of(L, lambda s: field0(s, "weft-workload"))
        L[i - 1] = f"weft-workload {v}"
        return L, i, f"weft workload format version {v}, but this build of weft reads only " \
            "version 1"
    if kind in ("ports0", "portsbig"):
        L = write_weft(rng, ports, jobs)
        i = line_of(L, lambda s: field0(s, "ports"))
        L[i - 1] = "ports " + ("0" if kind == "ports0" else str(MAX_PORTS + 1))
        return L, i, None
    if kind == "portflow":
        k = rng.randrange(len(c["flows"]))
        s, d, b = c["flows"][k]
        bad = ports + rng.choice([0, 1, 1000])
        c["flows"][k] = (bad, d, b) if rng.random() < 0.5 else (s, bad, b)
        line_pred = ("flow", c, k)
    elif kind == "arrival":
        j["arrival"] = 1000000001.0
        msg = "arrival time 1000000001 s is beyond 1e+09 s"
        line_pred = ("job", j)
    elif kind == "arrneg":
        j["arrival"] = -1.0
        line_pred = ("job", j)
    elif kind == "weight0":
        j["weight"] = rng.choice([0.0, -1.0])
        line_pred = ("job", j)
    elif kind == "weightbig":
        j["weight"] = 1.0000000000000002e15
        line_pred = ("job", j)
    elif kind == "final":
        j["final"] = rng.choice([1e9 * (1 + 2 ** -52), -0.5])
        line_pred = ("job", j)
    elif kind == "compute":
        c["compute"] = rng.choice([1e9 * (1 + 2 ** -52), -1.0, 2e9])
        line_pred = ("coflow", c)
    elif kind == "bytessmall":
        k = rng.randrange(len(c["flows"]))
        s, d, _ = c["flows"][k]
        c["flows"][k] = (s, d, rng.choice([0.0, -1.0, 9.9e-201, 5e-324]))
        line_pred = ("flow", c, k)
    elif kind == "bytesbig":
        k = rng.randrange(len(c["flows"]))
        s, d, _ = c["flows"][k]
        c["flows"][k] = (s, d, MAX_BYTES * (1 + 2 ** -52))
        line_pred = ("flow", c, k)
    elif kind == "coflowsum":
        c["flows"] = [(0, 0, MAX_BYTES), (0, 0, MAX_BYTES)]
        line_pred = None
    elif kind == "jobsum":
        j["coflows"] = [coflow(1, 0.0, [], [(0, 0, MAX_BYTES)]),
                        coflow(2, 0.0, [], [(0, 0, 2.0 ** 40)])]
        line_pred = None
    elif kind == "selfparent":
        c["parents"] = c["parents"] + [c["id"]]
        line_pred = ("job", j)
        msg = f"job {j['id']} coflow {c['id']} lists itself as a parent"
    elif kind == "cycle":
        n = rng.randint(2, 4)
        ids = list(range(1, n + 1))
        cfs = [coflow(ids[i], 0.0, [ids[(i - 1) % n]], [(0, 0, 1.0)]) for i in range(n)]
        rng.shuffle(cfs)
        j["coflows"] = cfs
        line_pred = ("job", j)
        msg = f"cycle in job {j['id']}: coflows "
    elif kind == "parent":
        have = {x["id"] for x in j["coflows"]}
        missing = max(have) + 1 if max(have) < 2 ** 63 - 1 else min(have) - 1
        c["parents"] = c["parents"] + [missing]
        line_pred = ("job", j)
    elif kind == "dupjob":
        other = rng.choice(jobs)
        j2 = json.loads(json.dumps(other))
        jobs.append(j2)
        line_pred = ("job", j2)
    elif kind == "dupcoflow":
        if len(j["coflows"]) < 2:
            j["coflows"].append(coflow(c["id"] ^ 1, 0.0, [], [(0, 0, 1.0)]))
        a, b = rng.sample(j["coflows"], 2)
        # b takes a's id; every reference to b's old id goes to a's, so the
        # DAG may now have a cycle or a self-edge: only the id is checked.
        b["id"] = a["id"]
        for x in j["coflows"]:
            x["parents"] = []
        later = max(j["coflows"].index(a), j["coflows"].index(b))
        line_pred = ("coflow", j["coflows"][later])
    else:
        L = write_weft(rng, ports, jobs)
        lj = line_of(L, lambda s: field0(s, "job"))
        le = line_of(L, lambda s: field0(s, "end"))
        if kind == "count":
            i = lj
            f = strip_comment(L[i - 1]).split()
            f[5] = str(int(f[5]) + 1)
            L[i - 1] = " ".join(f)
            return L, None, "announces"
        if kind == "flowcount":
            i = line_of(L, lambda s: field0(s, "coflow"))
            f = strip_comment(L[i - 1]).split()
            f[3] = str(int(f[3]) + 1)
            L[i - 1] = " ".join(f)
            return L, None, None
        if kind == "notrailer":
            del L[le - 1:]
            return L, None, "expected the trailer 'end <n_jobs>', found end of file " \
                "(is the file truncated?)"
        if kind == "endcount":
            L[le - 1] = f"end {len(jobs) + rng.choice([1, -1])}"
            return L, le, None
        if kind == "after":
            L.append(rng.choice(["job 1 0 1 0 1", "x", "end 1"]))
            return L, len(L), None
        if kind == "hash":
            i = line_of(L, lambda s: field0(s, "coflow")) + 1
            while not strip_comment(L[i - 1]).split():
                i += 1
            f = strip_comment(L[i - 1]).split()
            L[i - 1] = f"{f[0]} {f[1]} 500#x"
            return L, i, "expected a size in bytes, found '500#x' (a comment needs a " \
                "blank before '#')"
        if kind == "nul":
            i = lj
            L[i - 1] = "job 7\0 0 1 0 1"
            return L, i, "a NUL byte at column 6"
        if kind == "cr":
            i = lj
            L[i - 1] = L[i - 1] + "\rx"
            return L, i, None
        if kind in ("nan", "inf", "huge"):
            i = lj
            f = strip_comment(L[i - 1]).split()
            f[rng.choice([2, 3, 4])] = {"nan": "nan", "inf": rng.choice(["inf", "-inf"]),
                                        "huge": rng.choice(["1e999", "9" * 400])}[kind]
            L[i - 1] = " ".join(f)
            return L, i, None
        if kind == "nonewline":
            i = lj
            f = strip_comment(L[i - 1]).split()
            L = L[:i - 1] + [" ".join(f[:rng.randint(1, 5)])]
            return L, i, "(the last line has no newline: is the file truncated?)"
        raise AssertionError(kind)
    L = write_weft(rng, ports, jobs, fancy=False)
    line = None
    if line_pred:
        pos = 0
        for jj in jobs:
            pos += 1
            if line_pred[0] == "job" and jj is line_pred[1]:
                line = pos + 2
            for cc in jj["coflows"]:
                pos += 1
                if line_pred[0] == "coflow" and cc is line_pred[1]:
                    line = pos + 2
                for k in range(len(cc["flows"])):
                    pos += 1
                    if line_pred[0] == "flow" and cc is line_pred[1] and k == line_pred[2]:
                        line = pos + 2
            if line is not None:
                break
    return L, line, msg


# --------------------------------------------------------------------------
# The Facebook coflow benchmark.

def fb_num(rng, x):
    return str(x) if rng.random() < 0.7 or x != int(x) else f"{int(x)}.0"


def case_fb_valid(rng):
    ports = rng.randint(1, 20) if rng.random() < 0.9 else rng.choice([150, MAX_PORTS])
    n = rng.randint(1, 6)
    ids = rng.sample(range(0, 10 ** 6), n)
    mb_bytes = 1048576.0
    args = []
    if rng.random() < 0.4:
        mb_bytes = rng.choice([1e6, 1.0, 1024.0, 0.5, 3.25])
        args += ["--fb-mb-bytes", repr(mb_bytes) if mb_bytes != int(mb_bytes)
                 else str(int(mb_bytes))]
    L = [f"{ports} {n}"]
    jobs = []
    t = 0
    for jid in ids:
        t = rng.choice([t, t + rng.randint(0, 5000), rng.randint(0, 10 ** 12)])
        ms = float(t) if rng.random() < 0.8 else t + rng.choice([0.5, 0.25])
        m = rng.randint(1, 4)
        mappers = [rng.randrange(ports) for _ in range(m)]
        r = rng.randint(1, 4)
        reds = []
        for _ in range(r):
            mb = rng.choice([1.0, 0.5, 3.5, 100.0, rng.random() * 10 + 0.001,
                             float(rng.randint(1, 10 ** 5))])
            reds.append((rng.randrange(ports), mb))
        flows = []
        for p, mb in reds:
            for s in mappers:
                flows.append((s, p, mb * mb_bytes / m))
        jobs.append(job(jid, ms / 1000, 1.0, 0.0, [coflow(jid, 0.0, [], flows)]))
        toks = [str(jid), fb_num(rng, ms), str(m)] + [str(x) for x in mappers] + [str(r)] + \
            [f"{p}:{mb!r}" for p, mb in reds]
        sep = rng.choice([" ", " ", "\t"])
        L.append(sep.join(toks))
        if rng.random() < 0.15:
            L.append(rng.choice(["", ""]))
    if rng.random() < 0.25:
        k = rng.randint(1, n + 1)
        args += ["--max-jobs", str(k)]
        jobs = jobs[:k]
    text = "\n".join(L) + "\n"
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.1:
        text = "\ufeff" + text
    return {"name": "in.txt", "data": text, "args": args, "want": (ports, jobs)}


def case_fb_invalid(rng):
    ports = rng.randint(2, 10)
    L = [f"{ports} 3", "1 0 1 0 1 1:1", "2 100 2 0 1 2 0:2 1:4", "3 50 1 1 1 0:8"]
    kind = rng.choice(["short", "cut", "extra", "port", "port2", "size0", "sizeinf",
                       "dup", "nonewline", "arrneg", "arrbig", "portsbig", "reducerbig",
                       "coflowbig", "sizenan", "nul"])
    line, msg = 3, None
    if kind == "short":
        L = L[:3]
        line, msg = None, "the header (line 1) announces 3 coflows, but the file ends after 2"
    elif kind == "cut":
        L[2] = "2 100 2 0 1 3 0:2 1:4"
        msg = "expected 3 reducers 'port:MB', found end of line after 2"
    elif kind == "extra":
        L[2] += rng.choice([" 5", " 0:1", " x"])
    elif kind == "port":
        L[2] = f"2 100 2 0 {ports} 2 0:2 1:4"
    elif kind == "port2":
        L[2] = f"2 100 2 0 1 2 0:2 {ports}:4"
    elif kind == "size0":
        L[2] = "2 100 2 0 1 2 0:2 1:" + rng.choice(["0", "-1", "-0.5"])
    elif kind == "sizeinf":
        L[2] = "2 100 2 0 1 2 0:2 1:" + rng.choice(["inf", "1e999"])
    elif kind == "sizenan":
        L[2] = "2 100 2 0 1 2 0:2 1:nan"
    elif kind == "dup":
        L[3] = "2 50 1 1 1 0:8"
        line, msg = 4, "coflow id 2 appears twice (lines 3 and 4)"
    elif kind == "nonewline":
        return L, 4, "the last line has no newline: the file looks truncated", False
    elif kind == "arrneg":
        L[2] = "2 -100 2 0 1 2 0:2 1:4"
        msg = "coflow 2 arrives at -100 ms, expected a finite number of ms >= 0"
    elif kind == "arrbig":
        L[2] = "2 1000000000001 2 0 1 2 0:2 1:4"
    elif kind == "portsbig":
        L[0] = f"{MAX_PORTS + 1} 3"
        line = 1
    elif kind == "reducerbig":
        # 2^60 bytes in MB of 2^20 bytes is 2^40 MB; one more MB is beyond
        L[2] = f"2 100 2 0 1 1 0:{2 ** 40 + 1}"
    elif kind == "coflowbig":
        L[2] = f"2 100 2 0 1 2 0:{2 ** 39 + 1} 1:{2 ** 39}"
    elif kind == "nul":
        L[2] = "2 100 2 0 1 2 0:2 1:4\0"
        msg = "a NUL byte at column 22"
    return L, line, msg, True


# --------------------------------------------------------------------------
# Alibaba batch_task.

ALI_PORTS = 150
ALI_BYTES = 1048576.0


def alibaba_shape(jid, task, inst):
    o = (jid + task) % ALI_PORTS
    w = min(inst, ALI_PORTS)
    return [((o + k) % ALI_PORTS, (o + k + 1) % ALI_PORTS, ALI_BYTES) for k in range(w)]


def has_cycle(nodes, parents):
    state = {}

    def visit(v):
        state[v] = 1
        for p in parents[v]:
            if state.get(p) == 1 or (p not in state and visit(p)):
                return True
        state[v] = 2
        return False
    return any(v not in state and visit(v) for v in nodes)


def alibaba_read(rows, skip_indep):
    """This script's reading of batch_task rows [arrival, job name, task name,
    duration, cpu, mem, instances]: the jobs sorted by arrival then id, the
    skipped ones [(arrival, id, 'cycle' or 'twice')], {job id: dependencies
    dropped}."""
    jobs = []
    skipped = []
    drops = {}
    by_job = {}
    for r in rows:
        by_job.setdefault(int(r[1][2:]), []).append(r)
    for jid, mine in by_job.items():
        arr = min(float(r[0]) for r in mine)
        nums_used = []
        numbered, indep = [], []
        for r in mine:
            num, deps = parse_task(r[2])
            if num is None:
                indep.append(r)
            else:
                numbered.append((r, num, deps))
                nums_used.append(num)
        if len(set(nums_used)) != len(nums_used):
            skipped.append((arr, jid, "twice"))  # a task number used twice: skipped
            continue
        have = set(nums_used)
        parents = {}
        cfs = []
        drops[jid] = 0
        for r, num, deps in numbered:
            ds = []
            for d in deps:
                if d in have and d != num and d not in ds:
                    ds.append(d)
                else:
                    drops[jid] += 1
            parents[num] = ds
            cfs.append(coflow(num, float(r[3]), ds, alibaba_shape(jid, num, int(r[6]))))
        if has_cycle(list(have), parents):
            skipped.append((arr, jid, "cycle"))
            continue
        nxt = max(have) if have else 0
        if not skip_indep:
            for r in indep:
                nxt += 1
                cfs.append(coflow(nxt, float(r[3]), [], alibaba_shape(jid, nxt, int(r[6]))))
        if cfs:
            jobs.append(job(jid, arr, 1.0, 0.0, cfs))
    jobs.sort(key=lambda j: (j["arrival"], j["id"]))
    return jobs, skipped, drops


def case_alibaba_valid(rng):
    """Rows of several jobs, shuffled; returns the case with its own reading."""
    rows = []
    njobs = rng.randint(1, 6)
    jids = distinct(rng, 0, 10 ** 18 - 1, njobs) if rng.random() < 0.2 \
        else rng.sample(range(0, 10 ** 6), njobs)
    for jid in jids:
        kind = rng.choice(["dag", "dag", "dag", "indep", "mixed", "duptask", "cycle"])
        n = rng.randint(1, 5)
        nums = distinct(rng, 0, 10 ** 18 - 1, n) if rng.random() < 0.2 \
            else rng.sample(range(1, 40), n)
        par = rand_dag(rng, n)
        tasks = []
        if kind != "indep":
            for i in range(n):
                deps = [nums[p] for p in par[i]]
                if rng.random() < 0.2:  # repaired: an absent, self or repeated dependency
                    deps.append(rng.choice([nums[i], 99 + i] + deps[:1]))
                    rng.shuffle(deps)
                name = rng.choice(["M", "R", "J", "Map", "x"]) + str(nums[i]) + \
                    "".join(f"_{d}" for d in deps)
                tasks.append((name, nums[i], deps))
            if kind == "duptask" and n >= 2:
                tasks[1] = ("R" + str(nums[0]), nums[0], [])
            if kind == "cycle":
                a = nums[0]
                b = nums[1] if n >= 2 else None
                if b is None:
                    kind = "dag"
                else:
                    tasks[0] = (f"M{a}_{b}", a, [b])
                    tasks[1] = (f"M{b}_{a}", b, [a])
        if kind in ("indep", "mixed"):
            for _ in range(rng.randint(1, 3)):
                tasks.append((rng.choice(["task_LTg0MTU", "task_x", "MergeTask", "M1_x",
                                          "M_1", "1M", "M1__2", "M1_2_"]), None, None))
        rng.shuffle(tasks)
        t0 = rng.choice([0, 7, 1e9, rng.randint(0, 10 ** 6)])  # ties: sorted by id
        for name, num, deps in tasks:
            arr = min(t0 + rng.choice([0, 0, 2.5, rng.randint(0, 50)]), 1e9)
            dur = rng.choice([0, 1, 1e9, rng.randint(0, 1000), 2.5])
            inst = rng.choice([1, 2, 3, 149, 150, 151, 400])
            rows.append([arr, f"j_{jid}", name, dur, rng.choice(["", "100", "50.5"]),
                         rng.choice(["", "0.39", "1"]), inst])
    rng.shuffle(rows)
    skip_indep = rng.random() < 0.3
    jobs, skipped, drops = alibaba_read(rows, skip_indep)
    args = ["--skip-independent"] if skip_indep else []
    if rng.random() < 0.3:
        k = rng.randint(1, njobs + 1)
        args += ["--max-jobs", str(k)]
        if k <= len(jobs):
            last = (jobs[k - 1]["arrival"], jobs[k - 1]["id"])
            skipped = [x for x in skipped if x[:2] < last]
        jobs = jobs[:k]
    notes = []
    ncyc = sum(1 for x in skipped if x[2] == "cycle")
    ntwice = sum(1 for x in skipped if x[2] == "twice")
    ndrop = sum(drops[j["id"]] for j in jobs)
    if ncyc:
        notes.append(f"note: skipped {ncyc} {plural(ncyc, 'job', 'jobs')} "
                     "whose dependencies form a cycle")
    if ntwice:
        notes.append(f"note: skipped {ntwice} "
                     f"{plural(ntwice, 'job that uses', 'jobs that use')} a task number twice")
    if ndrop:
        notes.append(f"note: dropped {ndrop} {plural(ndrop, 'dependency', 'dependencies')} "
                     "on tasks absent from their job")
    text = "".join(",".join(str(x) for x in r) + "\n" for r in rows)
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    if rng.random() < 0.1:
        text = "\ufeff" + text
    if not jobs:
        return None
    return {"name": "in.csv", "data": text, "args": args, "want": (ALI_PORTS, jobs),
            "notes": notes}


def parse_task(name):
    """(number, deps) of a name ^[A-Za-z]+[0-9]+(_[0-9]+)*$, else (None, None)."""
    i = 0
    while i < len(name) and name[i].isascii() and name[i].isalpha():
        i += 1
    if i == 0:
        return None, None
    parts = name[i:].split("_")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None, None
    return int(parts[0]), [int(p) for p in parts[1:]]


def case_alibaba_invalid(rng):
    good = ["10,j_1,M1,5,,,2", "11,j_1,R2_1,5,1,1,2", "12,j_2,M1,5,100,0.5,1"]
    kind = rng.choice(["fields", "fields2", "jobname", "leadzero", "bignum", "arr", "neg",
                       "timebig", "inst0", "instfrac", "nonewline", "dur", "nul"])
    bad = {"fields": "13,j_3,M1,5,,2", "fields2": "13,j_3,M1,5,,,2,7",
           "jobname": "13," + rng.choice(["job_3", "j_", "j_x", "J_3", "j_-3"]) + ",M1,5,,,2",
           "leadzero": "13,j_03,M1,5,,,2", "bignum": "13,j_3,M1000000000000000005,5,,,2",
           "arr": "x1,j_3,M1,5,,,2", "neg": "-1,j_3,M1,5,,,2",
           "timebig": "13,j_3,M1," + rng.choice(["1000000001", "1e10"]) + ",,,2",
           "inst0": "13,j_3,M1,5,,," + rng.choice(["0", "-2"]),
           "instfrac": "13,j_3,M1,5,,," + rng.choice(["1.5", "x", ""]),
           "nonewline": None, "dur": "13,j_3,M1,abc,,,2", "nul": "13,j_3,M\0,5,,,2"}[kind]
    L = list(good)
    if kind == "nonewline":
        return L, 3, "the file looks truncated", False
    at = rng.randint(0, 3)
    L.insert(at, bad)
    return L, at + 1, None, True


# --------------------------------------------------------------------------
# WfCommons.

GOLDEN = 0x9E3779B97F4A7C15


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & MASK
    return h


def splitmix64(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK
    x ^= x >> 31
    return x


def wf_port(tid, seed, ports):
    return splitmix64(fnv1a64(tid) ^ ((seed * GOLDEN) & MASK)) % ports


def prefix(name):
    i = name.rfind("_ID")
    return name if i < 0 else name[:i]


def wf_read(doc, ports, seed):
    """This script's reading of a WfCommons document: (ports, [job]), or None
    when it moves no bytes."""
    spec = doc["workflow"]["specification"]
    tasks = {t["id"]: t for t in spec["tasks"]}
    size = {f["id"]: float(f["sizeInBytes"]) for f in spec["files"]}
    rt = {e["id"]: float(e["runtimeInSeconds"]) for e in doc["workflow"]["execution"]["tasks"]}
    depth = {}

    def dep(t):
        if t not in depth:
            ps = tasks[t]["parents"]
            depth[t] = 0 if not ps else 1 + max(dep(p) for p in ps)
        return depth[t]
    for t in tasks:
        dep(t)
    stage_of = {t: (depth[t], prefix(tasks[t]["name"])) for t in tasks}
    stages = sorted(set(stage_of.values()))
    num = {s: i for i, s in enumerate(stages)}
    edges = {}  # (A, B) -> [flows]
    for t, task in tasks.items():
        for p in dict.fromkeys(task["parents"]):  # one flow per task pair
            shared = set(tasks[p]["outputFiles"]) & set(task["inputFiles"])
            b = sum(size[f] for f in sorted(shared, key=lambda f: f))
            key = (num[stage_of[p]], num[stage_of[t]])
            edges.setdefault(key, [])
            if b > 0:
                edges[key].append((wf_port(p, seed, ports), wf_port(t, seed, ports), b))
    ids = {}
    for k in sorted(edges):
        if edges[k]:
            ids[k] = len(ids) + 1
    if not ids:
        return None
    srt = {}
    for t in tasks:
        s = num[stage_of[t]]
        srt[s] = max(srt.get(s, 0.0), rt.get(t, 0.0))
    lag = {}
    for s in range(len(stages)):  # stage numbers follow depth: feeders come first
        zin = [a for (a, b), fl in edges.items() if b == s and not fl]
        lag[s] = srt[s] + max((lag[a] for a in zin), default=0.0)

    def above(a):
        out = set()
        for (x, y), fl in edges.items():
            if y == a:
                out |= {ids[(x, y)]} if fl else above(x)
        return out
    cfs = []
    for k, i in ids.items():
        cfs.append(coflow(i, lag[k[0]], sorted(above(k[0])), edges[k]))
    sinks = [s for s in range(len(stages)) if not any(a == s for a, _ in edges)]
    final = max(lag[s] for s in sinks)
    return ports, [job(0, 0.0, 1.0, final, cfs)]


def gen_wf_doc(rng):
    progs = rng.sample(["split", "bowtie2", "align", "merge", "sort", "a", "b_c", "Z"],
                       rng.randint(1, 4))
    n = rng.randint(2, 10)
    tasks = []
    files = []
    for i in range(n):
        tid = f"{rng.choice(progs)}_ID{i + 1:07d}" if rng.random() < 0.9 \
            else rng.choice(progs) + rng.choice(["", "_ID", "_IDx_ID3", "_2"]) + str(i)
        k = rng.randint(0, min(i, 3))
        parents = [tasks[j]["id"] for j in sorted(rng.sample(range(i), k))]
        tasks.append({"id": tid, "name": tid, "parents": parents, "inputFiles": [],
                      "outputFiles": []})
    for t in tasks:  # an output file or two, read by some children
        for _ in range(rng.randint(0, 2)):
            fid = f"f{len(files)}.dat"
            files.append({"id": fid, "sizeInBytes": rng.choice([0, 1, 1000, 123456789,
                                                                2 ** 40])})
            t["outputFiles"].append(fid)
    byid = {t["id"]: t for t in tasks}
    for t in tasks:
        for p in t["parents"]:
            outs = byid[p]["outputFiles"]
            if outs:
                for f in rng.sample(outs, rng.randint(0, len(outs))):
                    t["inputFiles"].append(f)
        if rng.random() < 0.2 and files:
            t["inputFiles"].append(rng.choice(files)["id"])  # a file not of a parent
        if rng.random() < 0.2 and t["inputFiles"]:
            t["inputFiles"].append(rng.choice(t["inputFiles"]))  # each file once
        if rng.random() < 0.1 and t["parents"]:
            t["parents"].append(t["parents"][0])
    execs = [{"id": t["id"], "runtimeInSeconds": rng.choice([0, 1.5, 10, 1e9 / 4, 7.25])}
             for t in tasks if rng.random() < 0.85]
    rng.shuffle(tasks)
    rng.shuffle(files)
    for t in tasks:
        t["children"] = []
    return {"name": "gen", "schemaVersion": "1.5",
            "workflow": {"specification": {"tasks": tasks, "files": files},
                         "execution": {"makespanInSeconds": 1, "tasks": execs}}}


def case_wf_valid(rng):
    for _ in range(20):
        doc = gen_wf_doc(rng)
        ports, seed = 16, 1
        args = []
        if rng.random() < 0.4:
            ports = rng.choice([1, 2, 3, 7, 16, 150, 1000])
            args += ["--wf-ports", str(ports)]
        if rng.random() < 0.4:
            seed = rng.choice([0, 2, 12345, 2 ** 63 - 1])
            args += ["--wf-seed", str(seed)]
        if rng.random() < 0.1:
            args += ["--max-jobs", "1"]
        want = wf_read(doc, ports, seed)
        if want is None or max([c["compute"] for c in want[1][0]["coflows"]] +
                               [want[1][0]["final"]]) > MAX_TIME:
            continue  # no bytes, or a lag past 1e9 s: refused (case_wf_invalid)
        text = json.dumps(doc, indent=rng.choice([None, 1, 4]))
        if rng.random() < 0.1:
            text = "\ufeff" + text
        return {"name": "in.json", "data": text, "args": args, "want": want}
    return None


def case_wf_invalid(rng):
    for _ in range(50):
        doc = gen_wf_doc(rng)
        if wf_read(doc, 16, 1) is not None:
            break
    else:
        return None
    spec = doc["workflow"]["specification"]
    ex = doc["workflow"]["execution"]["tasks"]
    kind = rng.choice(["duptask", "dupfile", "dupexec", "version", "nobytes", "filebig",
                       "runtime", "lag", "parent", "syntax", "hashline"])
    path = None
    if kind == "duptask":
        i = rng.randrange(1, len(spec["tasks"]))
        spec["tasks"][i]["id"] = spec["tasks"][0]["id"]
        spec["tasks"][i]["parents"] = []
        path = "workflow.specification.tasks["
    elif kind == "dupfile" and len(spec["files"]) >= 2:
        spec["files"][1]["id"] = spec["files"][0]["id"]
        path = "workflow.specification.files[1]"
    elif kind == "dupexec" and ex:
        ex.append(dict(ex[0]))
        path = "workflow.execution.tasks["
    elif kind == "version":
        del doc["workflow"]["specification"]
        doc["schemaVersion"] = rng.choice(["1.4", "1.3", "2.0"])
        path = None
    elif kind == "nobytes":
        for f in spec["files"]:
            f["sizeInBytes"] = 0
    elif kind == "filebig" and spec["files"]:
        spec["files"][-1]["sizeInBytes"] = 2 ** 60 + 2 ** 10
        path = f"workflow.specification.files[{len(spec['files']) - 1}]"
    elif kind == "runtime" and ex:
        ex[-1]["runtimeInSeconds"] = 1.5e9
        path = f"workflow.execution.tasks[{len(ex) - 1}]"
    elif kind == "lag":
        # a chain of zero-byte stages each of 6e8 s: the lag passes 1e9
        for e in ex:
            e["runtimeInSeconds"] = 6e8
        for t in spec["tasks"]:
            if not any(t["id"] == e["id"] for e in ex):
                ex.append({"id": t["id"], "runtimeInSeconds": 6e8})
        w = wf_read(doc, 16, 1)
        if w is None or max([c["compute"] for c in w[1][0]["coflows"]] +
                            [w[1][0]["final"]]) <= 1e9:
            return None
    elif kind == "parent":
        t = rng.choice(spec["tasks"])
        t["parents"] = t["parents"] + ["no_such_task"]
        i = spec["tasks"].index(t)
        path = f"workflow.specification.tasks[{i}].parents[{len(t['parents']) - 1}]"
    elif kind == "syntax":
        return "{\"workflow\": [1,,2]}\n", None, None
    elif kind == "hashline":
        return "# a comment\n" + json.dumps(doc) + "\n", None, None
    else:
        return None
    return json.dumps(doc, indent=1), path, None


# --------------------------------------------------------------------------
# Running weft.

def run(weft, tmp, case):
    inp = os.path.join(tmp, case["name"])
    out = os.path.join(tmp, "out.weft")
    if os.path.exists(out):
        os.unlink(out)
    data = case["data"]
    with open(inp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    cmd = [weft, "convert", inp, "-o", out] + case["args"]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=30)
    got = None
    if os.path.exists(out):
        with open(out) as f:
            got = f.read()
    return cmd, inp, p, got


def check_valid(weft, tmp, case):
    cmd, inp, p, got = run(weft, tmp, case)
    if p.returncode != 0 or got is None:
        raise Mismatch(f"{' '.join(cmd)} refused a valid input: rc {p.returncode}: "
                       f"{p.stderr.strip()}")
    try:
        gp, gj = read_weft(got)
    except ReadError as e:
        raise Mismatch(f"weft's output does not read: {e}\n{got}")
    for note in case.get("notes", []):
        if note not in p.stderr:
            raise Mismatch(f"{' '.join(cmd)}: no '{note}' among the notes:\n{p.stderr}")
    notes = [x for x in p.stderr.splitlines()
             if "note: skipped" in x or "note: dropped" in x]
    if len(notes) != len(case.get("notes", [])):
        raise Mismatch(f"{' '.join(cmd)}: notes {notes}, expected {case.get('notes', [])}")
    if case["name"].endswith(".weft"):
        # write -> read -> write gives byte-identical text
        again = {"name": "again.weft", "data": got, "args": []}
        cmd2, _, p2, got2 = run(weft, tmp, again)
        if p2.returncode != 0 or got2 != got:
            raise Mismatch(f"{' '.join(cmd2)}: weft's own output does not round-trip byte "
                           f"for byte: rc {p2.returncode}\n{p2.stderr}\n{got}\n{got2}")
    order = case["name"] != "in.json"
    want = canon(case["want"][0], case["want"][1], order)
    have = canon(gp, gj, order)
    if want != have:
        diff = [f"  line {i}: mine {a}\n           weft {b}"
                for i, (a, b) in enumerate(zip(want, have)) if a != b][:5]
        raise Mismatch(f"{' '.join(cmd)}: the readings differ ({len(want)} vs {len(have)} "
                       "lines)\n" + "\n".join(diff) + f"\nweft's output:\n{got}")


def check_invalid(weft, tmp, name, data, line, msg, jpath=None):
    case = {"name": name, "data": data, "args": []}
    cmd, inp, p, got = run(weft, tmp, case)
    err = p.stderr
    problems = []
    if p.returncode != 1:
        problems.append(f"exit status {p.returncode}, expected 1")
    if "Sanitizer" in err or "runtime error:" in err:
        problems.append("a sanitizer's report")  # ASan exits 1 too
    if got is not None:
        problems.append("an output was written")
    if line is not None and f"{inp}:{line}:" not in err:
        problems.append(f"no '{inp}:{line}:' in the message")
    if line is None and jpath is None and inp not in err:
        problems.append("the message does not name the file")
    if jpath is not None and jpath not in err:
        problems.append(f"no JSON path '{jpath}' in the message")
    if msg is not None and msg not in err:
        problems.append(f"no '{msg}' in the message")
    if problems:
        raise Mismatch(f"{' '.join(cmd)}: " + "; ".join(problems) + f"\nstderr: {err.strip()}")


def one_seed(weft, tmp, seed):
    """All cases of one seed; returns how many ran."""
    rng = random.Random(seed)
    n = 0
    for _ in range(2):
        for gen in (case_weft_valid, case_fb_valid, case_alibaba_valid, case_wf_valid):
            case = gen(rng)
            if case is not None:
                n += 1
                check_valid(weft, tmp, case)
    L, line, msg = case_weft_invalid(rng)
    data = "\n".join(L) + ("" if msg and "no newline" in msg else "\n")
    check_invalid(weft, tmp, "bad.weft", data, line, msg)
    L, line, msg, nl = case_fb_invalid(rng)
    check_invalid(weft, tmp, "bad.txt", "\n".join(L) + ("\n" if nl else ""), line, msg)
    L, line, msg, nl = case_alibaba_invalid(rng)
    check_invalid(weft, tmp, "bad.csv", "\n".join(L) + ("\n" if nl else ""), line, msg)
    w = case_wf_invalid(rng)
    if w is not None:
        text, path, msg = w
        check_invalid(weft, tmp, "bad.json", text, None, msg, path)
    return n + 3 + (w is not None)


W1 = "weft-workload 1\nports 2\njob 1 0 1 0 1\ncoflow 1 0 1 -\n0 1 8\nend 1\n"
FB1 = "2 1\n1 0 1 0 1 1:1\n"
CSV1 = "1,j_1,M1,5,,,2\n"
JSON1 = json.dumps({"schemaVersion": "1.5", "workflow": {
    "specification": {"tasks": [
        {"id": "a_ID1", "name": "a_ID1", "parents": [], "inputFiles": [], "outputFiles": ["f"]},
        {"id": "b_ID2", "name": "b_ID2", "parents": ["a_ID1"], "inputFiles": ["f"],
         "outputFiles": []}], "files": [{"id": "f", "sizeInBytes": 10}]},
    "execution": {"tasks": [{"id": "a_ID1", "runtimeInSeconds": 2}]}}})
W2 = W1.replace("1 0 1 0 1", "1 0 1 0 2").replace("end 1", "coflow 2 0 1 -\n0 1 8\nend 1")
W1_WANT = (2, [job(1, 0.0, 1.0, 0.0, [coflow(1, 0.0, [], [(0, 1, 8.0)])])])
FB1_WANT = (2, [job(1, 0.0, 1.0, 0.0, [coflow(1, 0.0, [], [(0, 1, 1048576.0)])])])
CSV1_WANT = (150, [job(1, 1.0, 1.0, 0.0, [coflow(1, 5.0, [], alibaba_shape(1, 1, 2))])])
JSON1_WANT = (16, [job(0, 0.0, 1.0, 0.0, [coflow(1, 2.0, [], [
    (wf_port("a_ID1", 1, 16), wf_port("b_ID2", 1, 16), 10.0)])])])


def fixed_cases_1(weft, tmp):
    """The cases of no seed: empty files, options of another format, names
    and guesses, standard input."""
    n = 0
    # a file without jobs reads, but convert refuses it
    for name, data in (("e.weft", "weft-workload 1\nports 1\nend 0\n"), ("e.txt", "5 0\n"),
                       ("e.csv", "")):
        check_invalid(weft, tmp, name, data, None, f"{os.path.join(tmp, name)}: no jobs, "
                      "expected at least 1")
        n += 1
    check_invalid(weft, tmp, "s.csv", "1,j_1,M1_2,5,,,2\n1,j_1,M2_1,5,,,2\n1,j_2,M1,5,,,2\n"
                  "1,j_2,R1,5,,,2\n", None, "no jobs: all 2 jobs were skipped (1 whose "
                  "dependencies form a cycle, 1 that uses a task number twice)")
    # an option of one format given for another: a usage error naming both
    opts = {"--fb-mb-bytes": ("fb", "FB traces", "5"), "--skip-independent":
            ("csv", "Alibaba traces", None), "--wf-ports": ("json", "WfCommons workflows", "3"),
            "--wf-seed": ("json", "WfCommons workflows", "3")}
    files = {"weft": ("t.weft", W1, "a weft workload"), "fb": ("t.txt", FB1, "an FB trace"),
             "csv": ("t.csv", CSV1, "an Alibaba trace"),
             "json": ("t.json", JSON1, "a WfCommons workflow")}
    for i, (opt, (fmt, what, val)) in enumerate(opts.items()):
        # each option once, for an input of another format (a different one each time)
        others = [f for f in files if f != fmt]
        for other in others[i % len(others):][:2]:
            name, data, _ = files[other]
            args = [opt] + ([val] if val else [])
            cmd, inp, p, got = run(weft, tmp, {"name": name, "data": data, "args": args})
            want = f"{opt} applies to {what} only, but {inp} is "
            if p.returncode != 2 or want not in p.stderr or got is not None:
                raise Mismatch(f"{' '.join(cmd)}: exit status {p.returncode}, expected 2 and "
                               f"'{want}...'\nstderr: {p.stderr.strip()}")
            n += 1
    # guessed by content, whatever the name; standard input
    for name, data, want in (("w.dat", "# c\n\n" + W1, W1_WANT), ("f.dat", FB1, FB1_WANT),
                             ("j.dat", JSON1, JSON1_WANT), ("c.csv", CSV1, CSV1_WANT),
                             ("x.weft", "\ufeff" + FB1, FB1_WANT)):
        check_valid(weft, tmp, {"name": name, "data": data, "args": [], "want": want})
        n += 1
    for data, args, want in ((W1, [], W1_WANT), (FB1, [], FB1_WANT), (JSON1, [], JSON1_WANT),
                             (CSV1, ["--format", "alibaba"], CSV1_WANT)):
        out = os.path.join(tmp, "out.weft")
        p = subprocess.run([weft, "convert", "-", "-o", out] + args, input=data,
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0 or canon(*read_weft(open(out).read())) != canon(*want):
            raise Mismatch(f"weft convert - {args} of\n{data}\nrc {p.returncode}: {p.stderr}")
        n += 1
    p = subprocess.run([weft, "convert", "-", "-o", os.path.join(tmp, "o2.weft")],
                       input=W1.replace("0 1 8", "0 1 x"), capture_output=True, text=True)
    if p.returncode != 1 or "<stdin>:5:" not in p.stderr:
        raise Mismatch(f"weft convert - of a bad line 5: rc {p.returncode}: {p.stderr}")
    return n


def fixed_cases_2(weft, tmp):
    """The rest of them: guesses refused, limits met and passed by one step."""
    n = 0
    # JSON has no comments: a '#' line before it is refused by the JSON reader
    check_invalid(weft, tmp, "h.json", "# c\n" + JSON1, 1, None)
    check_invalid(weft, tmp, "h.dat", "# c\n" + JSON1, 1, None)
    check_invalid(weft, tmp, "c.json", JSON1.replace('"parents": []', '"parents": ["b_ID2"]'),
                  None, "cycle among the tasks of the workflow: ")
    check_invalid(weft, tmp, "b.weft", b"\x89PNG\r\n", 1,
                  "found a binary byte 0x89 at column 1 (not a text file?)")
    # limits met exactly read; one step past them is refused
    ok = [("l.weft", W1.replace("ports 2", f"ports {MAX_PORTS}"), None),
          ("l.txt", "2 1\n1 1000000000000 1 0 1 1:1\n", None),
          ("l.csv", "1000000000,j_999999999999999999,M999999999999999999,1e9,,,1\n", None),
          ("l.weft", W1.replace("0 1 8", "0 1 0x1p59\n1 0 0x1p59").replace("0 1 -", "0 2 -"),
           None)]
    for name, data, _ in ok:
        cmd, inp, p, got = run(weft, tmp, {"name": name, "data": data, "args": []})
        if p.returncode != 0:
            raise Mismatch(f"{' '.join(cmd)} refused an input at a limit:\n{data}\n{p.stderr}")
        n += 1
    bad = [("n.weft", W1.replace("1 0 1 0 1", "1 0 1 0 0"), 3),
           ("n.weft", W1.replace("0 1 -", "0 0 -"), 4, "coflow 1 has no flows"),
           ("n.weft", W1.replace("0 1 -", "0 1 1,"), 4),
           ("n.weft", W1.replace("0 1 -", "0 1 -#"), 4),
           ("n.weft", W2.replace("0 1 -", "0 1 2,2"), 3, "job 1 coflow 1 lists parent 2 twice"),
           ("n.weft", W2.replace("0 1 -", "0 1 1"), 3, "coflow 1 lists itself as a parent"),
           ("n.weft", W1.replace("0 1 8", "-1 1 8"), 5),
           ("n.weft", W1.replace("job 1", f"job {2 ** 63}"), 3),
           ("n.weft", W1.replace("job 1", "job 0x1"), 3),
           ("n.weft", W1.replace("ports 2", "ports 2 3"), 2),
           ("n.csv", "1,j_1000000000000000000,M1,5,,,2\n", 1, "at most 18 digits")]
    for name, data, line, *msg in bad:
        check_invalid(weft, tmp, name, data, line, msg[0] if msg else None)
        n += 1
    return n


def fb_read(text, mb_bytes=1048576.0):
    """This script's reading of a well-formed FB trace: (ports, [job])."""
    lines = [f for f in (x.split() for x in text.split("\n")) if f]
    ports = int(lines[0][0])
    jobs = []
    for f in lines[1:]:
        jid, m = int(f[0]), int(f[2])
        mappers = [int(x) for x in f[3:3 + m]]
        flows = []
        for tok in f[4 + m:4 + m + int(f[3 + m])]:
            port, mb = tok.split(":")
            flows += [(s, int(port), float(mb) * mb_bytes / m) for s in mappers]
        jobs.append(job(jid, float(f[1]) / 1000, 1.0, 0.0, [coflow(jid, 0.0, [], flows)]))
    return ports, jobs


def data_check(weft, tmp):
    """The bundled traces (data/): this reading and weft's, and the document's
    counts of them."""
    def convert(path, args):
        out = os.path.join(tmp, "data.weft")
        p = subprocess.run([weft, "convert", path, "-o", out] + args, capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise Mismatch(f"weft convert {path} {args}: {p.stderr}")
        with open(out) as f:
            return read_weft(f.read())

    def same(what, want, got, order=True):
        if canon(*want, order) != canon(*got, order):
            raise Mismatch(f"{what}: this reading and weft's differ")
    with open("data/FB2010-1Hr-150-0.txt") as f:
        want = fb_read(f.read())
    flows = [b for j in want[1] for _, _, b in j["coflows"][0]["flows"]]
    if (want[0], len(want[1]), len(flows), sum(flows)) != (150, 526, 706397, 37259610947584.0):
        raise Mismatch("the FB trace's counts are not the document's")
    same("the FB trace", want, convert("data/FB2010-1Hr-150-0.txt", []))
    with open("data/alibaba/sample_tasks.csv") as f:
        rows = [line.split(",") for line in f.read().splitlines()]
    for skip, njobs, ncf in ((False, 16749, 67634), (True, 15478, None)):
        jobs = alibaba_read(rows, skip)[0]
        if len(jobs) != njobs or ncf not in (None, sum(len(j["coflows"]) for j in jobs)):
            raise Mismatch(f"the Alibaba sample's counts (skip {skip}) are not the document's")
        same(f"the Alibaba sample (skip {skip})", (ALI_PORTS, jobs),
             convert("data/alibaba/sample_tasks.csv", ["--skip-independent"] if skip else []))
    n = 4
    for name in sorted(os.listdir("data/wfcommons")):
        if name.endswith(".json"):
            path = os.path.join("data/wfcommons", name)
            with open(path) as f:
                doc = json.load(f)
            for ports, seed in ((16, 1), (7, 3)):
                same(name, wf_read(doc, ports, seed),
                     convert(path, ["--wf-ports", str(ports), "--wf-seed", str(seed)]), False)
                n += 1
    return n


def parse_seeds(s):
    out = []
    for part in s.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def common_args(doc, data_help):
    """The options format_check.py and gen_check.py share."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--seeds", default="1-40")
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN", "build/weft"))
    ap.add_argument("--keep-going", action="store_true", help="report every failing seed")
    ap.add_argument("--data", action="store_true", help=data_help)
    ap.add_argument("-j", "--jobs", type=int, default=2, help="weft runs at once")
    return ap


def run_cases(todo, one, jobs, keep_going):
    """one(x) for each x of todo, `jobs` at once: one returns (checks, a
    failure's text or None). Prints each failure; stops at the first unless
    keep_going. Returns (checks, failures)."""
    total, bad = 0, 0
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for n, failure in pool.map(one, todo):
            total += n
            if failure:
                bad += 1
                print(failure)
                if not keep_going:
                    pool.shutdown(cancel_futures=True)
                    break
    return total, bad


def main():
    a = common_args(__doc__, "also the bundled traces in data/ (about 15 s)").parse_args()
    if not os.access(a.weft, os.X_OK):
        print(f"format_check: no weft at {a.weft} (set WEFT_BIN)", file=sys.stderr)
        return 2
    def one(seed):
        """A seed, or a function of fixed cases."""
        fixed = callable(seed)
        tmp = tempfile.mkdtemp(prefix=f"format_check.{'fixed' if fixed else seed}.")
        try:
            n = seed(a.weft, tmp) if fixed else one_seed(a.weft, tmp, seed)
            shutil.rmtree(tmp)
            return n, None
        except Mismatch as e:
            what = seed.__name__ if fixed else f"seed {seed}"
            return 0, f"format_check: {what}: {e}\n  (the input is kept in {tmp})"
    todo = [fixed_cases_1, fixed_cases_2] + parse_seeds(a.seeds)
    if a.data:
        todo.insert(0, data_check)
    total, bad = run_cases(todo, one, a.jobs, a.keep_going)
    if bad and not a.keep_going:
        return 1
    print(f"format_check: {total} inputs, {bad} failing seeds")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
