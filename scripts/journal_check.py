#!/usr/bin/env python3
"""journal_check.py - journals written from docs/journal.md alone, read by `weft journal`.

Each case builds a journal file byte by byte as docs/journal.md says (the
header, 4-byte big-endian lengths, msgpack maps, the chained SHA-256 "sum"
seal), predicts from the same page what `weft journal FILE --ports N` prints
or which refusal it gives, and compares: the sealing of small and 15-entry
maps, format 1 files sealed from a point on, every record kind replayed
(flow ids, releases, cancels and their "sent", compaction's gone and base
records, forget and forgotten), torn tails that may and may not be cut off,
and damage: a changed bit, records swapped, a missing seal, a later format,
a file that is no journal, a record over the cap. Since the mending of the
faults this page's first version found (docs/testing.md), also: records
whose fields replay refuses, a second job record, gone entries that name a
job twice, job ends due before now, a torn registration of 100,000 flows
and the count of epoch records. And for each, that `weft serve --journal`
starts on a copy exactly when `weft journal` accepts the journal (keeping
the torn tail it names) and otherwise stops with the same message, the
file left as it was: the two commands share one reading of a journal, and
must not drift apart. About 2.5 s.

    python3 scripts/journal_check.py [--weft PATH] [--keep DIR] [-v]

WEFT_BIN, else build/weft, is the weft it runs. Exits 0 when all holds, 1
naming the case that failed, 2 if it cannot run.
"""
import argparse
import hashlib
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from weft_msgpack import msgpack  # noqa: E402
from tied_child import tied  # noqa: E402 (its weft children end with it, even SIGKILLed)

HEADER = b"\xffweft journal 2\n"
CAP = 4 * 1024 * 1024 + 15  # the record cap without --max-frame


def map_header(n):
    if n <= 15:
        return bytes([0x80 | n])
    return b"\xde" + struct.pack(">H", n)


def sealed(rec, chain):
    """One sealed record (its length included) and its 8 seal bytes."""
    body = b"".join(msgpack.packb(k) + msgpack.packb(v) for k, v in rec.items())
    payload = map_header(len(rec) + 1) + body + b"\xa3sum\xcf"
    length = struct.pack(">I", len(payload) + 8)
    seal = hashlib.sha256(chain + length + payload).digest()[:8]
    return length + payload + seal, seal


def plain(rec):
    """One unsealed record (format 1)."""
    payload = msgpack.packb(rec)
    return struct.pack(">I", len(payload)) + payload


def records(recs, chain=bytes(8)):
    """The sealed records of recs, chained from chain: (bytes, offsets of their ends)."""
    out, ends = b"", []
    for rec in recs:
        frame, chain = sealed(rec, chain)
        out += frame
        ends.append(len(out))
    return out, ends


def journal(recs):
    body, ends = records(recs)
    return HEADER + body, [16 + e for e in ends]


def job(jid, coflows, **extra):
    return {"r": "job", "job": dict({"id": jid, "coflows": coflows}, **extra)}


def coflow(cid, flows, **extra):
    return dict({"id": cid, "flows": flows}, **extra)


EPOCH = {"r": "epoch", "id": 0xBEEF, "at": 1.7e9}


def summary(path, n_records, kinds, nbytes, jobs, flows, epoch="beef", fmt1=None,
            forgets=None, forgotten=None, torn=None, epochs=1):
    """The lines docs/journal.md says `weft journal` prints for an accepted journal."""
    if fmt1 is None:
        first = (f"{path}: weft serve would start with it; format 2, every record's "
                 "checksum matches")
    else:
        first = (f"{path}: weft serve would start with it; format 1 (from before checksums): "
                 f"its {fmt1} records read unchecked, weft serve would rewrite it in format 2")
    lines = [first, "  epoch        " + (epoch or "none (weft serve would journal a new one)")]
    counts = ", ".join(f"{kinds.get(k, 0)} {k}" for k in
                       ("job", "done", "cancel", "gone", "base"))
    if forgets is not None:
        counts += f", {forgets[0]} forget, {forgets[1]} forgotten"
    lines.append(f"  records      {n_records}: {f'{epochs} epoch, ' if epoch else ''}{counts}; "
                 f"{nbytes} bytes")
    held, fin, canc, gone = jobs
    line = (f"  jobs         {held} in the table, {fin} of them finished ({canc} cancelled); "
            f"{gone} compacted away")
    if forgotten:
        line += f"; {forgotten} finished and forgotten"
    lines.append(line)
    n, done, dropped, nxt = flows
    lines.append(f"  flows        {n} in the table, {done} of them done, {dropped} dropped by "
                 f"cancels; next flow id {nxt}")
    if torn:
        at, n = torn
        lines.append(f"  torn tail    {n} bytes at byte {at}, a record cut short by a crash: "
                     f"weft serve would cut them off and keep them in {path}.torn-{at}")
    return "\n".join(lines) + "\n"


def damaged(path, k, good, what):
    """The start of docs/journal.md's damage message, case 1."""
    return f"journal {path}: damaged after record #{k} (byte {good}): {what}"


class Checker:
    def __init__(self, weft, tmp, verbose):
        self.weft, self.tmp, self.verbose = weft, tmp, verbose
        self.failed = []

    def run(self, name, data, ports=2, stdout=None, stderr=None, extra=(), whole_stderr=None):
        """Writes data to name, runs weft journal on it, and checks the
        exit status (0 with stdout exactly, or 1 with stderr containing
        every string given, or being whole_stderr exactly) and that the
        file is unchanged."""
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        r = subprocess.run([self.weft, "journal", name, "--ports", str(ports), *extra],
                           cwd=self.tmp, capture_output=True, text=True, timeout=60)
        want_rc = 0 if stdout is not None else 1
        problems = []
        if r.returncode != want_rc:
            problems.append(f"exit status {r.returncode}, expected {want_rc}")
        if stdout is not None and r.stdout != stdout:
            problems.append(f"stdout\n{r.stdout}expected\n{stdout}")
        if whole_stderr is not None and r.stderr != whole_stderr:
            problems.append(f"stderr\n{r.stderr}expected\n{whole_stderr}")
        for s in stderr or ():
            if s not in r.stderr:
                problems.append(f"stderr lacks {s!r}:\n{r.stderr}")
        with open(path, "rb") as f:
            if f.read() != data:
                problems.append("the file was changed")
        if os.path.exists(path + f".torn-{len(data)}") or any(
                n.startswith(name + ".torn") for n in os.listdir(self.tmp)):
            problems.append("a torn tail was kept beside the file")
        self.serve_agrees(name, data, ports, extra, r, problems)
        if problems:
            self.failed.append(name)
            print(f"journal_check: {name}: " + "; ".join(problems), file=sys.stderr)
        elif self.verbose:
            print(f"ok {name}")

    def serve_agrees(self, name, data, ports, extra, said, problems):
        """Starts weft serve on a copy of the journal under the same name: it
        must start exactly when weft journal (which said `said`) accepts the
        journal, keeping a torn tail that summary names in NAME.torn-AT, and
        otherwise stop with weft journal's message (its own prefix) and leave
        the file as it is."""
        where = os.path.join(self.tmp, "serve")
        shutil.rmtree(where, ignore_errors=True)
        os.makedirs(where)
        path = os.path.join(where, name)
        with open(path, "wb") as f:
            f.write(data)
        p = subprocess.Popen([self.weft, "serve", "--journal", name, "--ports", str(ports),
                              "--token", "t", "--listen", "127.0.0.1:0", *extra], cwd=where,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=tied())
        err = ""
        try:
            # its first line says it listens; it ends at once if it refused the journal
            ready = select.select([p.stdout], [], [], 60)[0]
            started = bool(ready) and "listening on" in p.stdout.readline()
            if started or not ready:
                p.terminate()
            err = p.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            ready = False
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if not ready:
            problems.append("weft serve neither started nor stopped within 60 s, or did not "
                            "stop on SIGTERM")
        elif said.returncode == 0 and not started:
            problems.append(f"weft journal accepts it, weft serve refused it:\n{err}")
        elif said.returncode != 0 and started:
            problems.append("weft journal refuses it, weft serve started on it")
        elif started:
            if p.returncode != 0:
                problems.append(f"weft serve stopped with {p.returncode}:\n{err}")
            torn = [n for n in os.listdir(where) if n.startswith(name + ".torn")]
            cut = re.search(r"^  torn tail    (\d+) bytes at byte (\d+),", said.stdout, re.M)
            want = [f"{name}.torn-{cut[2]}"] if cut else []
            if torn != want:
                problems.append(f"weft serve kept {torn}, expected {want}")
            elif cut:
                with open(os.path.join(where, want[0]), "rb") as f:
                    if f.read() != data[int(cut[2]):]:
                        problems.append(f"{want[0]} holds other bytes than the torn tail")
        else:
            want = said.stderr.replace("weft journal: ", "weft serve: ", 1)
            if p.returncode != 1 or want not in err.splitlines(keepends=True):
                problems.append(f"weft serve stopped with {p.returncode}, stderr\n{err}"
                                f"expected it to hold\n{want}")
            with open(path, "rb") as f:
                if f.read() != data:
                    problems.append("weft serve changed the file it refused")
            if sorted(os.listdir(where)) != [name]:
                problems.append(f"weft serve left {sorted(os.listdir(where))} beside it")


def check_sealing(c):
    # docs/journal.md's example, byte for byte: flow ids 0, 1 for coflow 1, 2 for coflow 2
    j7 = job(7, [coflow(1, [[0, 1, 1000.0], [1, 0, 500]]),
                 coflow(2, [[0, 1, 10]], parents=[1])])
    j7["at"] = 1.7e9 + 1
    data, ends = journal([EPOCH, j7, {"r": "done", "flows": [0, 1], "at": 1.7e9 + 2}])
    c.run("example", data, stdout=summary("example", 3, {"job": 1, "done": 1}, len(data),
                                          (1, 0, 0, 0), (3, 2, 0, 3)))
    # the flow of coflow 2, released by the first done, finishes the job
    data2, _ = journal([EPOCH, j7, {"r": "done", "flows": [0, 1]}, {"r": "done", "flows": [2]}])
    c.run("example_finished", data2,
          stdout=summary("example_finished", 4, {"job": 1, "done": 2}, len(data2),
                         (1, 1, 0, 0), (3, 3, 0, 3)))
    # a completion before its job's registration
    bad, ends = journal([EPOCH, {"r": "done", "flows": [2]}, j7])
    c.run("done_first", bad, stderr=[f"weft journal: not found: journal done_first: record #2 "
                                     f"ending at byte {ends[1]}: flow 2 does not exist "
                                     "(0 flows registered)"])
    # a record of 15 entries before its seal: the map header grows to map16
    wide = {"r": "done", "flows": []}
    wide.update({f"x{i}": i for i in range(13)})
    data, ends = journal([EPOCH, wide])
    assert data[ends[0] + 4] == 0xDE
    c.run("map16", data, stdout=summary("map16", 2, {"done": 1}, len(data), (0, 0, 0, 0),
                                        (0, 0, 0, 0)))
    # the header alone, an empty file, a header cut short
    c.run("header_only", HEADER, stdout=summary("header_only", 0, {}, 16, (0, 0, 0, 0),
                                                (0, 0, 0, 0), epoch=None))
    for name, d in (("empty", b""), ("half_header", HEADER[:9])):
        c.run(name, d, stdout=f"{name}: no records; weft serve would start a new journal here\n")


def check_damage(c):
    j1 = job(1, [coflow(1, [[0, 1, 100]])])
    recs = [EPOCH, j1, {"r": "done", "flows": [0]}]
    data, ends = journal(recs)
    # every seal covers its bytes: one bit of the flow's bytes changed
    at = data.index(b"\x93\x00\x01\x64", ends[0]) + 3  # the 100 of the flow
    flipped = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
    c.run("bit_flipped", flipped,
          stderr=[damaged("bit_flipped", 1, ends[0], f"record #2, {ends[1] - ends[0]} bytes: "
                          "its checksum does not match its bytes and the record before it"),
                  f"(its first {ends[0]} bytes hold record #1)"])
    # and the record before it: two records swapped
    r2, r3 = data[ends[0]:ends[1]], data[ends[1]:ends[2]]
    c.run("swapped", data[:ends[0]] + r3 + r2,
          stderr=[damaged("swapped", 1, ends[0], f"record #2, {len(r3)} bytes: its checksum")])
    # a format 2 record whose "sum" is packed the short way is no seal
    nosum = HEADER + plain({"r": "epoch", "id": 5, "sum": 3})
    c.run("short_sum", nosum, stderr=[damaged("short_sum", 0, 16, "record #1, 22 bytes: ") +
                                      "the record has no checksum"])
    c.run("newer", b"\xffweft journal 3\n", stderr=[
        "weft journal: unsupported version: journal newer is of format 3, and this weft "
        "reads formats 1 and 2"])
    c.run("no_journal", b"\xffhello", stderr=[
        "journal no_journal: not a journal weft wrote, or one damaged from its first byte"])
    # a length over the cap whose record is not in the file: damage
    c.run("long_length", data + struct.pack(">I", CAP + 1) + b"\x81",
          stderr=[damaged("long_length", 3, ends[2], "")])
    # a whole record over the cap, sealed: names the --max-frame that reads it
    big = job(2, [coflow(1, [[0, 1, 100.5]] * 370000)])  # 12 bytes, 4 objects a flow
    bdata, bends = journal([EPOCH, big])
    blen = bends[1] - bends[0] - 4
    c.run("too_big", bdata, stderr=[
        f"journal too_big: record #2 (byte {bends[0]}) is of {blen} bytes, more than the "
        f"{CAP}-byte record cap, and whole, its checksum matching",
        f"--max-frame {blen - 15} or more"])
    c.run("too_big_read", bdata, extra=("--max-frame", str(blen - 15)),
          stdout=summary("too_big_read", 2, {"job": 1}, len(bdata), (1, 0, 0, 0),
                         (370000, 0, 0, 370000)))


def check_tails(c):
    data, ends = journal([EPOCH, job(1, [coflow(1, [[0, 1, 100]])])])
    nxt, _ = records([{"r": "done", "flows": [0]}], chain=data[-8:])
    for cut in (1, 3, 4, 9, len(nxt) - 1):
        name = f"torn_{cut}"
        c.run(name, data + nxt[:cut], stdout=summary(
            name, 2, {"job": 1}, len(data), (1, 0, 0, 0), (1, 0, 0, 1),
            torn=(len(data), cut)))
    # a registration of 100,000 flows (400,054 bytes, 400,008 objects: past the 262,144 of
    # a 1 MiB frame's default but within the read cap's) cut 1,000 bytes short
    data, ends = journal([EPOCH, job(1, [coflow(1, [[0, 1, 1]] * 100000)])])
    c.run("torn_large", data[:-1000], stdout=summary(
        "torn_large", 1, {}, ends[0], (0, 0, 0, 0), (0, 0, 0, 0),
        torn=(ends[0], len(data) - 1000 - ends[0])))
    # three bytes whose length is already past the cap; a payload that is no map
    c.run("tail_too_long", data + b"\x7f\x00\x00", stderr=[
        damaged("tail_too_long", 2, len(data), "the 3 bytes from there to the end of the file "
                "are not a record cut short by a crash")])
    c.run("tail_no_map", data + b"\x00\x00\x00\x05\x01", stderr=[
        damaged("tail_no_map", 2, len(data), "the 5 bytes from there")])


def check_format1(c):
    j1 = job(1, [coflow(1, [[0, 1, 100]])])
    old = plain({"r": "epoch", "id": 5}) + plain(j1)
    done, _ = records([{"r": "done", "flows": [0]}])  # the first sealed: chain of zeros
    data = old + done
    c.run("format1", data, stdout=summary("format1", 3, {"job": 1, "done": 1}, len(data),
                                          (1, 1, 0, 0), (1, 1, 0, 1), epoch="5", fmt1=2))
    unsealed = plain({"r": "done", "flows": [0]})
    c.run("format1_unsealed_after", data + unsealed,
          stderr=[damaged("format1_unsealed_after", 3, len(data),
                          f"record #4, {len(unsealed)} bytes: ") +
                  "the record has no checksum (no \"sum\" entry last), and every record "
                  "after the first with one has one"])


def check_kinds(c):
    three = job(1, [coflow(1, [[0, 1, 100], [1, 0, 100], [0, 1, 100]])])
    recs = [EPOCH, three, {"r": "done", "flows": [0]},
            {"r": "cancel", "job": 1, "sent": [[1, 50.0], [0, 7]]}]
    data, _ = journal(recs)
    c.run("cancel", data, stdout=summary("cancel", 4, {"job": 1, "done": 1, "cancel": 1},
                                         len(data), (1, 1, 1, 0), (3, 1, 2, 3)))
    # a dropped flow's done makes it done; a second cancel changes nothing
    data, _ = journal(recs + [{"r": "done", "flows": [2]}, {"r": "cancel", "job": 1}])
    c.run("cancel_then_done", data, stdout=summary(
        "cancel_then_done", 6, {"job": 1, "done": 2, "cancel": 2}, len(data), (1, 1, 1, 0),
        (3, 2, 1, 3)))
    data, ends = journal([EPOCH, three, {"r": "cancel", "job": 1, "sent": [[1, 101]]}])
    c.run("cancel_sent_too_much", data, stderr=[
        f"parse error: journal cancel_sent_too_much: record #3 ending at byte {ends[2]}: "
        "sent entry #0: flow 1: 101 bytes of 100"])
    data, ends = journal([EPOCH, {"r": "cancel", "job": 4}])
    c.run("cancel_unknown", data, stderr=[f"not found: journal cancel_unknown: record #2 "
                                          f"ending at byte {ends[1]}: job 4 was never "
                                          "registered"])
    # a rewrite's shape: forgotten, gone, base, jobs; the ids in a gap are ignored
    a = job(10, [coflow(1, [[0, 1, 5]])])
    b = job(11, [coflow(1, [[1, 0, 5], [0, 1, 5]])], final_compute=3)
    recs = [EPOCH, {"r": "forgotten", "jobs": 4, "runs": [[1, 4]]},
            {"r": "gone", "jobs": [[5, 0, 2.5], [6, 1, 1.0, True]]},
            {"r": "base", "fid": 7}, a, {"r": "base", "fid": 9}, b,
            {"r": "done", "flows": [7, 3]}, {"r": "done", "flows": [9, 10]}]
    data, _ = journal(recs)
    # job 11's last flow is done but its final compute is still pending: unfinished
    c.run("rewrite_shape", data, stdout=summary(
        "rewrite_shape", 9, {"job": 2, "done": 2, "gone": 1, "base": 2}, len(data),
        (2, 1, 0, 2), (3, 3, 0, 11), forgets=(0, 1), forgotten=4))
    # forgetting a gone job and a finished one; one already forgotten changes nothing
    data, _ = journal(recs[:8] + [{"r": "forget", "jobs": [5, 10, 2]}])
    c.run("forget", data, stdout=summary(
        "forget", 9, {"job": 2, "done": 1, "gone": 1, "base": 2}, len(data), (1, 0, 0, 1),
        (3, 1, 0, 11), forgets=(1, 1), forgotten=6))
    # forgetting a job whose final compute is pending finishes it first
    data, _ = journal(recs + [{"r": "forget", "jobs": [11]}])
    c.run("forget_pending_end", data, stdout=summary(
        "forget_pending_end", 10, {"job": 2, "done": 2, "gone": 1, "base": 2}, len(data),
        (1, 1, 0, 2), (3, 3, 0, 11), forgets=(1, 1), forgotten=5))
    data, ends = journal(recs[:7] + [{"r": "forget", "jobs": [11]}])
    c.run("forget_unfinished", data, stderr=[
        f"parse error: journal forget_unfinished: record #8 ending at byte {ends[7]}: job 11 "
        "is forgotten, but it has not finished"])
    data, ends = journal(recs[:7] + [{"r": "base", "fid": 8}])
    c.run("base_back", data, stderr=[
        f"journal base_back: record #8 ending at byte {ends[7]}: a 'base' record moves the "
        "next flow id back from 11 to 8"])
    # a flow whose coflow waits for its parent cannot be done
    dag = job(1, [coflow(1, [[0, 1, 1]]), coflow(2, [[1, 0, 1]], parents=[1])])
    data, ends = journal([EPOCH, dag, {"r": "done", "flows": [1]}])
    c.run("not_released", data, stderr=[
        f"invalid value: journal not_released: record #3 ending at byte {ends[2]}: flow 1 "
        "belongs to coflow 2 of job 1, which is not released yet"])
    # a coflow waiting only for its compute time is released by its flow's done
    comp = job(1, [coflow(1, [[0, 1, 1]], compute=60)])
    data, _ = journal([EPOCH, comp, {"r": "done", "flows": [0]}])
    c.run("compute_done", data, stdout=summary("compute_done", 3, {"job": 1, "done": 1},
                                               len(data), (1, 1, 0, 0), (1, 1, 0, 1)))
    # a record whole and sealed whose field replay refuses (missing, mistyped, out of range,
    # a job map's shape) is refused as itself, not as damage after it
    for name, rec, detail in (
            ("field_missing", {"r": "job"}, "field 'job' is missing or not a map"),
            ("field_type", {"r": "done", "flows": 3}, "field 'flows' is not an array"),
            ("field_range", {"r": "base", "fid": -1},
             "field 'fid' is -1, expected 0..9223372036854775807"),
            ("at_range", {"r": "done", "flows": [], "at": -1}, "field 'at' is -1, expected 0..inf"),
            ("job_shape", job(1, []), "job 1 has no coflows")):
        data, ends = journal([EPOCH, rec])
        c.run(name, data, whole_stderr=f"weft journal: protocol error: journal {name}: record #2 "
              f"ending at byte {ends[1]}: {detail}\n")
    # a second job record of a job held: the same job again (5 bytes as 5.0) changes nothing,
    # another one under its id is refused as the live register refuses it
    one = job(1, [coflow(1, [[0, 1, 5]])])
    data, _ = journal([EPOCH, one, job(1, [coflow(1, [[0, 1, 5.0]])])])
    c.run("job_again", data, stdout=summary("job_again", 3, {"job": 2}, len(data),
                                            (1, 0, 0, 0), (1, 0, 0, 1)))
    data, ends = journal([EPOCH, one, job(1, [coflow(1, [[1, 0, 9]] * 3)])])
    c.run("job_other", data, whole_stderr=(
        f"weft journal: invalid value: journal job_other: record #3 ending at byte {ends[2]}: "
        "job 1 is registered already with other contents (weight, coflows or flows): a job id "
        "names one job\n"))
    # a job whose final compute ended (2023) after its last done record: finished, as weft
    # serve takes that end at start; one whose final compute ends in 2055 is not
    for name, final, finished in (("final_ended", 5, 1), ("final_pending", 1e9, 0)):
        ends_late = job(1, [coflow(1, [[0, 1, 5]])], final_compute=final)
        ends_late["at"] = 1.7e9 + 1
        data, _ = journal([EPOCH, ends_late, {"r": "done", "flows": [0], "at": 1.7e9 + 2}])
        c.run(name, data, stdout=summary(name, 3, {"job": 1, "done": 1}, len(data),
                                         (1, finished, 0, 0), (1, 1, 0, 1)))
    # a gone entry names a job no other record holds, gone or forgot; its 4th element is a
    # boolean
    one = job(1, [coflow(1, [[0, 1, 5]])])
    for name, recs, detail in (
            ("gone_held", [one, {"r": "gone", "jobs": [[1, 99, 3.0]]}],
             "gone job #0: job 1 is in the table already"),
            ("gone_twice", [{"r": "gone", "jobs": [[2, 0, 3.0], [2, 1, 3.0]]}],
             "gone job #1: job 2 is compacted away already"),
            ("gone_forgotten", [{"r": "forgotten", "jobs": 1, "runs": [[2, 2]]},
                                {"r": "gone", "jobs": [[2, 0, 3.0]]}],
             "gone job #0: job 2 is forgotten already"),
            ("gone_not_bool", [{"r": "gone", "jobs": [[2, 0, 3.0, 1]]}],
             "gone job #0: its 4th element (cancelled) is not a boolean")):
        data, ends = journal([EPOCH] + recs)
        c.run(name, data, whole_stderr=f"weft journal: parse error: journal {name}: record "
              f"#{len(ends)} ending at byte {ends[-1]}: {detail}\n")
    # a gone job's first flow id must be below the next flow id the journal ends with (a
    # rewrite's base records come after its gone ones): checked once every record is read
    data, ends = journal([EPOCH, {"r": "gone", "jobs": [[2, 0, 3.0], [3, 4, 1.0]]},
                          {"r": "base", "fid": 4}])
    c.run("gone_past", data, whole_stderr=(
        f"weft journal: parse error: journal gone_past: record #2 ending at byte {ends[1]}: "
        "gone job #1: job 3's first flow id 4 is at or past the next flow id the journal ends "
        "with, 4, so no flow of it was ever given out: the journal is damaged; it is left as "
        "it is: restore it from a copy, or move it away to start without its jobs\n"))
    data, _ = journal([EPOCH, {"r": "gone", "jobs": [[2, 0, 3.0], [3, 4, 1.0]]},
                       {"r": "base", "fid": 5}])
    c.run("gone_below", data, stdout=summary("gone_below", 3, {"gone": 1, "base": 1},
                                             len(data), (0, 0, 0, 2), (0, 0, 0, 5)))
    data, ends = journal([EPOCH, {"r": "nap"}])
    c.run("unknown_kind", data, stderr=[f"parse error: journal unknown_kind: record #2 ending "
                                        f"at byte {ends[1]}: unknown record kind 'nap'"])
    # a kind's C1 (U+009B, CSI) and C0 controls are escaped, not printed to the terminal
    data, ends = journal([EPOCH, {"r": "n\x9b\x1bap"}])
    c.run("control_kind", data, stderr=[f"parse error: journal control_kind: record #2 ending "
                                        f"at byte {ends[1]}: unknown record kind "
                                        "'n\\xc2\\x9b\\x1bap'"])
    data, ends = journal([EPOCH, job(1, [coflow(1, [[0, 2, 1]])])])
    c.run("port_out", data, ports=2, stderr=["invalid value: journal port_out: record #2"])
    c.run("port_in", data, ports=3, stdout=summary("port_in", 2, {"job": 1}, len(data),
                                                   (1, 0, 0, 0), (1, 0, 0, 1)))
    # the last epoch record counts
    data, _ = journal([EPOCH, {"r": "epoch", "id": 0xABC}])
    c.run("two_epochs", data, stdout=summary("two_epochs", 2, {}, len(data), (0, 0, 0, 0),
                                             (0, 0, 0, 0), epoch="abc", epochs=2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weft", default=os.environ.get("WEFT_BIN", "build/weft"))
    ap.add_argument("--keep", help="write the journals into this directory and keep them")
    ap.add_argument("-v", action="store_true", help="name each case that holds")
    a = ap.parse_args()
    weft = os.path.abspath(a.weft)
    if not os.access(weft, os.X_OK):
        print(f"journal_check: no weft at {weft}", file=sys.stderr)
        return 2
    tmp = a.keep or tempfile.mkdtemp(prefix="journal_check.")
    os.makedirs(tmp, exist_ok=True)
    c = Checker(weft, tmp, a.v)
    try:
        for part in (check_sealing, check_damage, check_tails, check_format1, check_kinds):
            part(c)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if c.failed:
        print(f"journal_check: {len(c.failed)} cases failed: {', '.join(c.failed)}",
              file=sys.stderr)
        return 1
    print("journal_check: every case holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
