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
Blocks that need what a temporary directory cannot give (a running
gateway) are listed as skipped, with the reason.

With --self-test it first runs itself on small READMEs of its own
(SELF_CASES), each of which it must pass or refuse as written there, so
that a mask too wide or a difference missed fails the check itself.

Usage: readme_check.py [--readme FILE] [--list] [--self-test]
Exit status 0 when every example matches, 1 otherwise (each difference
named by the README's line), 2 on a usage error.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAND_IN = "/path/to/weft"
MODELS = os.path.realpath(os.path.join(ROOT, "models"))

# (a command's start, why its block is not run)
SKIP = [
    ("weft status --gateway", "needs a running weft serve (clients_check.py runs weft status)"),
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


KERNELS = re.compile(r"\(kernels ([^)]+)\)")


def masked(text, table, learned_too):
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    if table:  # a row of weft sim's table: its last column is wall(s)
        text = re.sub(r"\s+[0-9.]+$", " W", text)
        if learned_too and text.startswith("learned "):
            text = " ".join(text.split()[:2]) + " N"
    return text.rstrip()


def normalised(lines, learned_too=False):
    """lines with the masks applied; the rows under a header that ends in
    wall(s) lose that column, and with learned_too the learned policy's
    rows all their figures."""
    out, table = [], False
    for text in lines:
        if text.rstrip().endswith("wall(s)"):
            out.append(masked(text, False, learned_too))
            table = True
            continue
        if not text.strip():
            table = False
        out.append(masked(text, table, learned_too))
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


def run(example, work, env, build_dir):
    # every part's standard error, not only the last one's as an appended
    # 2>&1 would take ("a; b", "a | b", a trailing comment)
    r = subprocess.run(["bash", "-c", example.command], cwd=work, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=300)
    text = r.stdout.decode("utf-8", "replace")
    # the shipped model is found beside weft's own directory (its build/)
    text = text.replace(build_dir + "/", STAND_IN + "/build/").replace(ROOT, STAND_IN)
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line; a last line without one stays
        lines.pop()
    return r.returncode, [shipped_model(t, work) for t in lines]


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


def self_test(weft):
    """Runs this script on each of SELF_CASES; the cases it got wrong."""
    wrong = []
    with tempfile.TemporaryDirectory(prefix="readme_check_self.") as d:
        # weft as a build directory outside the tree has it
        outside = os.path.join(d, "build-elsewhere", "weft")
        os.mkdir(os.path.dirname(outside))
        shutil.copy(weft, outside)
        for what, text, want, *where in SELF_CASES:
            readme = os.path.join(d, "README.md")
            with open(readme, "w", encoding="utf-8") as f:
                f.write("```\n" + text + "```\n")
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
        print("readme_check: self-test: %d cases, %d wrong" % (len(SELF_CASES), len(wrong)))
        if wrong:
            return 1
    build_dir = os.path.dirname(os.path.realpath(weft))
    work = tempfile.mkdtemp(prefix="readme_check.")
    bad = ran = skipped = 0
    try:
        os.symlink(os.path.join(ROOT, "data"), os.path.join(work, "data"))
        bindir = os.path.join(work, ".bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(weft), os.path.join(bindir, "weft"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                   OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        env.pop("WEFT_MODEL", None)  # the shipped model, as the README's runs
        name = os.path.basename(a.readme)
        # The learned policy's scores round as OpenBLAS's kernels for this
        # CPU round them (README, "Training the policy"): its figures are
        # compared only on the kernels the README's came from.
        version = subprocess.run([weft, "--version"], stdout=subprocess.PIPE,
                                 env=env).stdout.decode("utf-8", "replace")
        here, there = KERNELS.search(version), readme_kernels(blocks)
        learned_too = not here or here.group(1) != there
        if learned_too:
            print("readme_check: the learned policy's figures not compared: OpenBLAS's kernels "
                  "here are %s, the README's %s" % (here.group(1) if here else "unknown", there))
        for block in blocks:
            why = next((w for start, w in SKIP
                        if any(ex.command.startswith(start) for ex in block)), None)
            if why:
                skipped += 1
                print("readme_check: %s:%d skipped: %s" % (name, block[0].line, why))
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
    print("readme_check: %d commands run, %d blocks skipped, %d differ" % (ran, skipped, bad))
    if not ran:  # a README whose examples the parser no longer finds checks nothing
        print("readme_check: %s: no example found (a fenced block of \"$ \" lines)" % name)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
