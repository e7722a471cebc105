#!/usr/bin/env python3
"""readme_check.py - the sessions README.md shows, run: each `$ ...` command
of its examples, in order, and its output against what the README prints.

A README example is a fenced block whose lines start with "$ " (a command;
a line ending in a backslash, or a next line starting with "> ", goes on
with it) followed by the output shown for it. The commands run with bash,
one after another in one temporary directory holding a link to the tree's
data/, so that the files one example writes (sra.weft, ms.weft, sweep/)
are there for the next, and with `weft` on PATH ($WEFT_BIN, else
build/weft). Standard output and standard error are compared together, as
a terminal shows them; a command's status must be 0.

What may differ, in both the shown and the actual lines:
  - a line "..." (indented or not) stands for any number of lines, none
    included;
  - /path/to/weft stands for the tree, /path/to/weft/build for the
    directory weft runs from (where it finds the shipped model);
  - a block's last command shown without output is run for its status;
  - the wall(s) column of weft sim's table, the seconds the LP bound took,
    and the git commit and the library versions `weft --version` names
    (the machine's, not the README's; the libraries' names are) are not
    compared, nor the learned policy's figures where OpenBLAS runs other
    kernels than those the README's `weft --version` names (its scores
    round with them).
A block of `weft status --gateway` examples needs a running gateway: the
README's block before it that starts `weft serve` (its lines: commands run
with bash, `weft ... &` and `for V in ...; do weft ... & done` started in
the background, `weft submit` run, `kill %N` for the end) is run as
written, on a free loopback port in place of the README's, and while
`weft submit` runs, each example is asked again and again until its output
matches, as the README says it printed at some moment of the run. There
what depends on timing is not compared either: the uptime, the epoch, the
decisions, rebuilds, changes pushed, frames in, decision times, a job's
running time, the MB sent and the rates; the structure, states, flow and
job counts, totals, priorities and waits are. The gateway and agents are
killed by their PIDs at the end, and if the check fails or is killed.

With --self-test it first runs itself on small READMEs of its own
(SELF_CASES, and GATEWAY_CASES: the README's gateway blocks with lines
changed, a gateway run each), each of which it must pass or refuse as
written there, so that a mask too wide or a difference missed fails the
check itself.

Usage: readme_check.py [--readme FILE] [--list] [--self-test]
Exit status 0 when every example matches, 1 otherwise (each difference
named by the README's line), 2 on a usage error.
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from tied_child import tied, kill_all  # noqa: E402 (its weft children end with it)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAND_IN = "/path/to/weft"
MODELS = os.path.realpath(os.path.join(ROOT, "models"))

GATEWAY = "weft status --gateway"  # the examples that need a running gateway

# what depends on timing in weft status's output, not compared; applied to
# the gateway's examples only. The value's column moves with its width, so
# the blanks before it go too.
STATUS_MASKS = [
    (re.compile(r"^  (uptime)\s+[0-9.]+ s$"), r"  \1 T s"),
    (re.compile(r"^  (epoch)\s+[0-9a-f]+$"), r"  \1 E"),
    (re.compile(r"^  (decisions|rebuilds|changes pushed|frames in)\s+[0-9]+$"), r"  \1 N"),
    # a done record holds the flows reported done together, as they came
    (re.compile(r"^  (journal|journal syncs)\s+[0-9]+(\s.*)?$"),
     lambda m: "  %s N %s" % (m.group(1), " ".join((m.group(2) or "").split()))),
    (re.compile(r"^  (decision time)\s+(.*)$"),
     lambda m: "  %s %s" % (m.group(1), re.sub(r"[0-9.]+", "N", m.group(2)))),
    (re.compile(r"^(job [0-9]+: running for )[0-9.]+( s; .*)$"), r"\1T\2"),
    # a coflow's row: its MB sent and its rate
    (re.compile(r"^ +([0-9]+) +(\S+) +([0-9]+ of [0-9]+) +[0-9.]+ of ([0-9.]+) +[0-9.]+ +(.*)$"),
     lambda m: "%s %s %s S of %s R %s" % (m.group(1), m.group(2), m.group(3), m.group(4),
                                          " ".join(m.group(5).split()))),
]

# what is not compared: each pattern's match becomes its replacement, in
# the shown and the actual line alike
MASKS = [
    (re.compile(r"^(LP bound: .*), [0-9.]+ s\)$"), r"\1, T s)"),  # the LP bound's seconds
    # weft --version's commit: "unknown" in a tree built outside git
    (re.compile(r"\(git ([0-9a-f]+(-dirty)?|unknown)\)"), "(git C)"),
    # this machine's libraries' versions: their names stay, one an item
    (re.compile(r"^libraries: (.*)"),
     lambda m: "libraries: " + ", ".join(i.split(" ")[0] for i in m.group(1).split(", "))),
]


class Example:
    def __init__(self, line, command):
        self.line = line          # the README's line of its "$ "
        self.command = command
        self.shown = []           # (README line, text)


def examples(path):
    """The README's examples, block by block: [[Example, ...], ...]."""
    blocks, block, fenced = [], None, False
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        text = lines[i]
        if text.startswith("```"):
            if fenced and block:
                blocks.append(block)
            fenced, block = not fenced, None
            i += 1
            continue
        if fenced and text.startswith("$ "):
            start, command = i + 1, text[2:]
            while i + 1 < len(lines) and (command.endswith("\\") or
                                          lines[i + 1].startswith("> ")):
                i += 1
                nxt = lines[i]
                command += "\n" + (nxt[2:] if nxt.startswith("> ") else nxt)
            block = block or []
            block.append(Example(start, command))
        elif fenced and block:
            block[-1].shown.append((i + 1, text))
        i += 1
    return blocks


def setup_block(path, line):
    """The last fenced block before the README's line that starts `weft
    serve` and shows no "$ " command: the steps the gateway's examples are
    printed in, as [(README line, text)] (a line ending in a backslash
    joined with the next), or None."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")[:line - 1]
    found, block, fenced = None, [], False
    for i, text in enumerate(lines):
        if text.startswith("```"):
            if fenced and any(t.startswith("weft serve") for _, t in block) \
                    and not any(t.startswith("$ ") for _, t in block):
                found = block
            fenced, block = not fenced, []
        elif fenced and block and block[-1][1].endswith("\\"):
            block[-1] = (block[-1][0], block[-1][1][:-1] + text)
        elif fenced:
            block.append((i + 1, text))
    return found


KERNELS = re.compile(r"\(kernels ([^)]+)\)")


def masked(text, table, learned_too, status=False):
    for pattern, repl in MASKS + (STATUS_MASKS if status else []):
        text = pattern.sub(repl, text)
    if table:  # a row of weft sim's table: its last column is wall(s)
        text = re.sub(r"\s+[0-9.]+$", " W", text)
        if learned_too and text.startswith("learned "):
            text = " ".join(text.split()[:2]) + " N"
    return text.rstrip()


def normalised(lines, learned_too=False, status=False):
    """lines with the masks applied (with status, weft status's too); the
    rows under a header that ends in wall(s) lose that column, and with
    learned_too the learned policy's rows all their figures."""
    out, table = [], False
    for text in lines:
        if text.rstrip().endswith("wall(s)"):
            out.append(masked(text, False, learned_too))
            table = True
            continue
        if not text.strip():
            table = False
        out.append(masked(text, table, learned_too, status))
    return out


def readme_kernels(blocks):
    """The OpenBLAS kernels the README's `weft --version` names, or None."""
    for block in blocks:
        for ex in block:
            if ex.command.strip() == "weft --version":
                for _, text in ex.shown:
                    m = KERNELS.search(text)
                    if m:
                        return m.group(1)
    return None


def matches(shown, actual):
    """True when actual fits shown, "..." lines taking any number of lines
    (a search over the positions: the examples are a few dozen lines)."""
    memo = {}

    def fit(i, j):
        if (i, j) in memo:
            return memo[i, j]
        if i == len(shown):
            r = j == len(actual)
        elif shown[i].strip() == "...":
            r = any(fit(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            r = j < len(actual) and shown[i] == actual[j] and fit(i + 1, j + 1)
        memo[i, j] = r
        return r
    return fit(0, 0)


def first_difference(shown, actual):
    """The first shown line (its index) that does not stand in actual, in
    order, and the actual line there; for a message."""
    j = 0
    for i, s in enumerate(shown):
        if s.strip() == "...":
            continue
        while j < len(actual) and actual[j] != s:
            j += 1
        if j == len(actual):
            return i
        j += 1
    return len(shown) - 1 if shown else 0


def run(example, work, env, build_dir, addr=None):
    """Runs example's command: its status and lines. addr: (the gateway's
    address, the README's), the first in place of the second in the
    command, the second in place of the first in the output."""
    command = example.command.replace(addr[1], addr[0]) if addr else example.command
    # every part's standard error, not only the last one's as an appended
    # 2>&1 would take ("a; b", "a | b", a trailing comment)
    r = subprocess.run(["bash", "-c", command], cwd=work, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=300)
    text = r.stdout.decode("utf-8", "replace")
    # the shipped model is found beside weft's own directory (its build/)
    text = text.replace(build_dir + "/", STAND_IN + "/build/").replace(ROOT, STAND_IN)
    if addr:
        text = text.replace(addr[0], addr[1])
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line; a last line without one stays
        lines.pop()
    return r.returncode, [shipped_model(t, work) for t in lines]


def free_port():
    """A loopback port free now (the gateway's, in place of the README's)."""
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


class Gateway:
    """The README's steps that start a gateway, its agents and weft submit,
    run in work as written, at addr in place of the README's address."""

    def __init__(self, setup, name, work, env, readme_addr, addr):
        self.setup, self.name, self.work, self.env = setup, name, work, env
        self.readme_addr, self.addr = readme_addr, addr
        self.procs = []  # the weft processes started, killed by PID at the end

    def start(self, command, out=subprocess.DEVNULL):
        argv = shlex.split(command.replace(self.readme_addr, self.addr), comments=True)
        p = subprocess.Popen(argv, cwd=self.work, env=self.env, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=tied())
        self.procs.append(p)
        return p

    def run(self, poll):
        """Runs the steps; poll() while weft submit runs, until it returns
        True. Problems with the steps themselves, as messages."""
        submit = None
        for line, step in self.setup:
            where = "%s:%d: %s" % (self.name, line, step.strip())
            plain = step.split("#", 1)[0].strip()
            loop = re.match(r"^for (\w+) in ([^;]+); do (weft .*) & done$", plain)
            if not plain:
                continue
            if loop:
                for v in loop.group(2).split():
                    self.start(loop.group(3).replace("$" + loop.group(1), v))
            elif plain.startswith("weft ") and plain.endswith("&"):
                self.start(plain[:-1])
            elif plain.startswith("weft submit "):
                with tempfile.TemporaryFile(dir=self.work) as log:
                    submit = self.start(plain, out=log)
                    # a gateway that never listened (its port taken since
                    # free_port) leaves weft submit retrying
                    end = time.monotonic() + 120
                    while submit.poll() is None and time.monotonic() < end and not poll():
                        time.sleep(0.1)
                    try:
                        submit.wait(max(0, end - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        return ["%s: still running after 120 s" % where]
                    if submit.returncode != 0:
                        log.seek(0)
                        return ["%s: exit status %d\n  %s" % (
                            where, submit.returncode, log.read().decode(
                                "utf-8", "replace").rstrip().replace("\n", "\n  "))]
            elif re.match(r"^kill( %[0-9]+)+$", plain):
                self.stop()
            else:
                r = subprocess.run(["bash", "-c", plain], cwd=self.work, env=self.env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, timeout=60)
                if r.returncode != 0:
                    return ["%s: exit status %d" % (where, r.returncode)]
        return [] if submit else ["%s:%d: no `weft submit` in the steps" % (
            self.name, self.setup[0][0])]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        kill_all(self.procs)


def run_gateway(setup, blocks, work, env, build_dir, name):
    """Runs the setup steps and, while weft submit runs, each of blocks'
    examples until it matches; how many commands ran and the messages of
    those that never matched."""
    addr = "127.0.0.1:%d" % free_port()
    m = re.search(r"--listen (\S+)", " ".join(t for _, t in setup))
    readme_addr = m.group(1) if m else addr
    pending = [ex for block in blocks for ex in block]
    closest = {}  # example: (its first shown line not held, status, output)

    def poll():
        for ex in list(pending):
            status, actual = run(ex, work, env, build_dir, (addr, readme_addr))
            shown, got = (normalised([t for _, t in ex.shown], status=True),
                          normalised(actual, status=True))
            if status == 0 and matches(shown, got):
                pending.remove(ex)
                continue
            k = first_difference(shown, got) if status == 0 else -1
            if ex not in closest or k > closest[ex][0]:
                closest[ex] = (k, status, actual)
        return not pending

    gw = Gateway(setup, name, work, env, readme_addr, addr)
    try:
        problems = gw.run(poll)
    finally:
        gw.stop()
    for ex in pending:
        k, status, actual = closest.get(ex, (0, None, []))
        k = max(k, 0)
        problems.append("%s:%d: the README shows\n    %s\n  which no output of `%s` held "
                        "while weft submit ran (%s); the closest:\n    %s"
                        % (name, ex.shown[k][0] if ex.shown else ex.line,
                           ex.shown[k][1] if ex.shown else "(nothing)",
                           ex.command.split("\n")[0],
                           "never asked" if status is None else "exit status %d" % status,
                           "\n    ".join(actual) or "(nothing)"))
    return sum(len(b) for b in blocks), problems


def shipped_model(text, work):
    """A line "model: P" of the tree's models/ as the README shows it: a
    build directory outside the tree finds the shipped model at the tree's
    models/, not at build/../models/ as the README's build does."""
    if not text.startswith("model: "):
        return text
    path = os.path.join(work, text[len("model: "):].replace(STAND_IN, ROOT, 1))
    if os.path.dirname(os.path.realpath(path)) != MODELS:
        return text
    return "model: %s/build/../models/%s" % (STAND_IN, os.path.basename(path))


# (what the case shows, the README, the status readme_check must end with
# [, "outside": with weft copied to a build directory outside the tree])
SELF_CASES = [
    ("a commit masked", "$ echo 'weft 0.1.0 (git 0123abc-dirty)'\nweft 0.1.0 (git a569b2d66023)\n",
     0),
    ("a tree built outside git", "$ echo 'weft 0.1.0 (git unknown)'\n"
     "weft 0.1.0 (git a569b2d66023)\n", 0),
    ("the version beside the commit compared", "$ echo 'weft 0.1.0 (git unknown)'\n"
     "weft 0.2.0 (git a569b2d66023)\n", 1),
    ("the first command's standard error shown", "$ echo err >&2; echo out\nerr\nout\n", 0),
    ("the first command's standard error left out", "$ echo err >&2; echo out\nout\n", 1),
    ("a last line without a newline shown", "$ printf 'a\\nb'\na\nb\n", 0),
    ("a last line without a newline left out", "$ printf 'a\\nb'\na\n", 1),
    ("no example at all", "weft sim ms.weft\n", 1),
    ("the shipped model, weft in the tree's build",
     "$ weft sim data/wfcommons/srasearch-chameleon-10a-001.json --policy learned\n"
     "model: /path/to/weft/build/../models/weft-policy.msgpack\n...\n", 0),
    ("the shipped model, weft in a build directory outside the tree",
     "$ weft sim data/wfcommons/srasearch-chameleon-10a-001.json --policy learned\n"
     "model: /path/to/weft/build/../models/weft-policy.msgpack\n...\n", 0, "outside"),
    ("the LP bound's seconds masked",
     "$ echo 'LP bound: 1 s (2 cuts in 1 rounds, converged, 0.03 s)'\n"
     "LP bound: 1 s (2 cuts in 1 rounds, converged, 0.07 s)\n", 0),
    ("seconds elsewhere compared", "$ echo 'bound: 1 s (2 cuts, 0.03 s)'\n"
     "bound: 1 s (2 cuts, 0.07 s)\n", 1),
    ("the libraries' versions masked", "$ echo 'libraries: igraph 0.10.3, GLPK 5.1 (x)'\n"
     "libraries: igraph 0.10.2, GLPK 5.0\n", 0),
    ("a library left out", "$ echo 'libraries: igraph 0.10.2, GLPK 5.0'\n"
     "libraries: igraph 0.10.2, Jansson 2.14, GLPK 5.0\n", 1),
    ("a model elsewhere", "$ echo 'model: /elsewhere/models/weft-policy.msgpack'\n"
     "model: /path/to/weft/build/../models/weft-policy.msgpack\n", 1),
]


# (what the case shows, [(a line of the README's gateway blocks, the line
# in its place)], the status readme_check must end with): each run on the
# README's own block that starts the gateway and its `weft status` examples
# (gateway_readme), some lines changed
GATEWAY_CASES = [
    ("the gateway's timing masked",
     [("  uptime                        4.2 s", "  uptime                       14.2 s"),
      ("  epoch                74d09b8736798278", "  epoch                0123456789abcdef"),
      ("  decisions                    1109", "  decisions                       7"),
      ("  journal                        14   records in gw.journal",
       "  journal                       140   records in gw.journal"),
      ("job 2: running for 1.532 s; 1 of 3 coflows done",
       "job 2: running for 10.532 s; 1 of 3 coflows done"),
      ("           1    active       0 of 1           1.06 of 8.00        2.107       3 of 4",
       "           1    active       0 of 1           7.77 of 8.00       12.345       3 of 4")], 0),
    ("a flow count changed",
     [("  flows unfinished                8", "  flows unfinished                9")], 1),
    ("a coflow's total changed",
     [("           1    active       0 of 1           1.06 of 8.00        2.107       3 of 4",
       "           1    active       0 of 1           1.06 of 9.00        2.107       3 of 4")], 1),
    ("a done coflow given a priority",
     [("           2      done       1 of 1           2.00 of 2.00        0.000            -",
       "           2      done       1 of 1           2.00 of 2.00        0.000       1 of 4")], 1),
]


def gateway_readme():
    """README.md's block that starts the gateway and its `weft status`
    examples after it, as a README of their own."""
    path = os.path.join(ROOT, "README.md")
    blocks = [b for b in examples(path) if any(ex.command.startswith(GATEWAY) for ex in b)]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = setup_block(path, blocks[0][0].line)[0][0]
    text = "```sh\n" + "\n".join(lines[start - 1:lines.index("```", start - 1)]) + "\n```\n"
    for b in blocks:
        end = lines.index("```", b[0].line - 1)
        text += "\n```\n" + "\n".join(lines[b[0].line - 1:end]) + "\n```\n"
    return text


def self_test(weft):
    """Runs this script on each of SELF_CASES and GATEWAY_CASES; the cases
    it got wrong."""
    wrong = []
    with tempfile.TemporaryDirectory(prefix="readme_check_self.") as d:
        # weft as a build directory outside the tree has it
        outside = os.path.join(d, "build-elsewhere", "weft")
        os.mkdir(os.path.dirname(outside))
        shutil.copy(weft, outside)
        cases = list(SELF_CASES)
        gw = gateway_readme()
        for what, changes, want in GATEWAY_CASES:
            text = gw
            for old, new in changes:
                if old not in text.split("\n"):
                    wrong.append("%s: the README's gateway blocks have no line %r" % (what, old))
                text = text.replace(old + "\n", new + "\n")
            cases.append((what, text, want, "whole"))  # fenced already
        for what, text, want, *where in cases:
            readme = os.path.join(d, "README.md")
            with open(readme, "w", encoding="utf-8") as f:
                f.write(text if where == ["whole"] else "```\n" + text + "```\n")
            bin_ = outside if where == ["outside"] else weft
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--readme", readme],
                               env=dict(os.environ, WEFT_BIN=bin_), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120)
            if r.returncode != want:
                wrong.append("%s: exit status %d, expected %d\n  %s" % (
                    what, r.returncode, want,
                    r.stdout.decode("utf-8", "replace").rstrip().replace("\n", "\n  ")))
    return wrong


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    ap.add_argument("--list", action="store_true", help="list the examples, run none")
    ap.add_argument("--self-test", action="store_true",
                    help="first check this script on the small READMEs of SELF_CASES")
    a = ap.parse_args()
    weft = os.environ.get("WEFT_BIN", os.path.join(ROOT, "build", "weft"))
    blocks = examples(a.readme)
    if a.list:
        for block in blocks:
            for ex in block:
                print("%s:%d: $ %s (%d lines shown)" % (
                    os.path.basename(a.readme), ex.line, ex.command.split("\n")[0],
                    len(ex.shown)))
        return 0
    if not os.access(weft, os.X_OK):
        print("readme_check: no weft at %s (set WEFT_BIN)" % weft, file=sys.stderr)
        return 2
    if a.self_test:
        wrong = self_test(weft)
        for w in wrong:
            print("readme_check: self-test: %s" % w)
        print("readme_check: self-test: %d cases, %d wrong" % (
            len(SELF_CASES) + len(GATEWAY_CASES), len(wrong)))
        if wrong:
            return 1
    build_dir = os.path.dirname(os.path.realpath(weft))
    work = tempfile.mkdtemp(prefix="readme_check.")
    bad = ran = 0
    try:
        os.symlink(os.path.join(ROOT, "data"), os.path.join(work, "data"))
        # the gateway's example submits tests/gateway/small.weft
        os.symlink(os.path.join(ROOT, "tests"), os.path.join(work, "tests"))
        bindir = os.path.join(work, ".bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(weft), os.path.join(bindir, "weft"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                   OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        env.pop("WEFT_MODEL", None)  # the shipped model, as the README's runs
        name = os.path.basename(a.readme)
        # The learned policy's scores round as OpenBLAS's kernels for this
        # CPU round them (docs/training.md, "Reproducing the shipped model"): its figures are
        # compared only on the kernels the README's came from.
        version = subprocess.run([weft, "--version"], stdout=subprocess.PIPE,
                                 env=env).stdout.decode("utf-8", "replace")
        here, there = KERNELS.search(version), readme_kernels(blocks)
        learned_too = not here or here.group(1) != there
        if learned_too:
            print("readme_check: the learned policy's figures not compared: OpenBLAS's kernels "
                  "here are %s, the README's %s" % (here.group(1) if here else "unknown", there))
        done = set()  # the gateway's blocks, run with the first of them
        for b, block in enumerate(blocks):
            if b in done:
                continue
            if any(ex.command.startswith(GATEWAY) for ex in block):
                setup = setup_block(a.readme, block[0].line)
                if not setup:
                    bad += 1
                    print("readme_check: %s:%d: no block before it starts `weft serve`, "
                          "for its `%s`" % (name, block[0].line, GATEWAY))
                    continue
                same = [c for c in range(b, len(blocks))
                        if any(ex.command.startswith(GATEWAY) for ex in blocks[c])
                        and setup_block(a.readme, blocks[c][0].line) == setup]
                done.update(same)
                n, problems = run_gateway(setup, [blocks[c] for c in same], work, env,
                                          build_dir, name)
                ran += n
                bad += len(problems)
                for p in problems:
                    print("readme_check: %s" % p)
                continue
            for ex in block:
                ran += 1
                status, actual = run(ex, work, env, build_dir)
                shown = normalised([t for _, t in ex.shown], learned_too)
                got = normalised(actual, learned_too)
                where = "%s:%d: $ %s" % (name, ex.line, ex.command.split("\n")[0])
                if status != 0:
                    bad += 1
                    print("readme_check: %s: exit status %d\n  %s" % (
                        where, status, "\n  ".join(actual[-5:])))
                elif not ex.shown and ex is block[-1]:
                    pass  # a command the README names without its output: its status
                elif not matches(shown, got):
                    bad += 1
                    k = first_difference(shown, got)
                    line = ex.shown[k][0] if ex.shown else ex.line
                    print("readme_check: %s:%d: the README shows\n    %s\n  which the "
                          "output of `%s` does not hold in that place; it printed:\n    %s"
                          % (name, line, ex.shown[k][1] if ex.shown else "(nothing)",
                             ex.command.split("\n")[0], "\n    ".join(actual) or
                             "(nothing)"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("readme_check: %d commands run, %d differ" % (ran, bad))
    if not ran:  # a README whose examples the parser no longer finds checks nothing
        print("readme_check: %s: no example found (a fenced block of \"$ \" lines)" % name)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
