#!/usr/bin/python3
"""The system calls weft's units allow: systemd 252's `@system-service`, every
nested @group in it expanded, as SystemCallFilter=@system-service applies it.

units_check.py runs the services under strace and holds each call they make to
the stored list, scripts/system-service-252.txt, since a fresh Debian has no
systemd-analyze; where one is there it compares the list with it (compare()).

Run as a script, it writes that file from this host's systemd-analyze (which
must be systemd 252), the header saying which systemd it came from:
    python3 scripts/syscall_set.py > scripts/system-service-252.txt
Standard library only; import it after setting sys.dont_write_bytecode.
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STORED = os.path.join(HERE, "system-service-252.txt")
NAME = re.compile(r"[a-z_][a-z0-9_]*")
SOURCE = "# from: "  # the header line naming the systemd the list came from


def analyze_version(sa):
    """systemd-analyze's first --version line, as `systemd 252 (252.39-1~deb12u2)`."""
    r = subprocess.run([sa, "--version"], capture_output=True, text=True, timeout=30)
    return r.stdout.split("\n")[0].strip()


def expand(sa, group="@system-service", seen=None):
    """The calls `systemd-analyze syscall-filter GROUP` lists, its @groups expanded.
    Raises ValueError on output it does not know, naming the group and the line."""
    seen = set() if seen is None else seen
    seen.add(group)
    r = subprocess.run([sa, "syscall-filter", group], capture_output=True, text=True,
                       timeout=30)
    lines = r.stdout.rstrip("\n").split("\n")
    if r.returncode != 0 or lines[0] != group:
        raise ValueError("systemd-analyze syscall-filter %s: status %d, first line %r: %s"
                         % (group, r.returncode, lines[0], r.stderr.strip()))
    calls = set()
    for n, line in enumerate(lines[1:], 2):
        word = line.strip()
        if word.startswith("#"):
            continue
        if word.startswith("@") and NAME.fullmatch(word[1:].replace("-", "_")):
            if word not in seen:
                calls |= expand(sa, word, seen)
        elif NAME.fullmatch(word) and line.startswith("    "):
            calls.add(word)
        else:
            raise ValueError("systemd-analyze syscall-filter %s, line %d: expected a call or "
                             "an @group, indented, got %r" % (group, n, line))
    return calls


def read_stored(path=STORED):
    """(the calls, the systemd it came from) of the stored list. Raises ValueError naming
    the file and line of anything but # comments and one call name a line."""
    calls, source = set(), None
    with open(path) as f:
        for n, line in enumerate(f.read().split("\n"), 1):
            if line.startswith(SOURCE):
                source = line[len(SOURCE):].strip()
            elif line and not line.startswith("#"):
                if not NAME.fullmatch(line) or line in calls:
                    raise ValueError("%s:%d: expected a system call's name, once, got %r"
                                     % (path, n, line))
                calls.add(line)
    if not calls or not source:
        raise ValueError("%s: no %s line or no call" % (path, SOURCE.strip()))
    return calls, source


def compare(sa, stored, source):
    """(whether the host's systemd is the one the list came from, what differs) between
    the stored list and this host's expansion: '' when nothing does."""
    host = analyze_version(sa)
    calls = expand(sa)
    diff = ["-" + c for c in sorted(stored - calls)] + ["+" + c for c in sorted(calls - stored)]
    return host == source, host, " ".join(diff)


def main():
    sa = shutil.which("systemd-analyze")
    if not sa:
        print("syscall_set.py: no systemd-analyze (Debian's systemd) on PATH", file=sys.stderr)
        return 1
    version = analyze_version(sa)
    if not re.match(r"systemd 252 ", version):
        print("syscall_set.py: %s is %r, not systemd 252" % (sa, version), file=sys.stderr)
        return 1
    calls = sorted(expand(sa))
    print("# SystemCallFilter=@system-service of weft's units: the system calls systemd 252's\n"
          "# `systemd-analyze syscall-filter @system-service` lists, each nested @group\n"
          "# expanded (other architectures' names included), one a line; %d calls.\n"
          "# Written by `python3 scripts/syscall_set.py > scripts/system-service-252.txt`;\n"
          "# read by scripts/units_check.py, which compares it with systemd-analyze where\n"
          "# that is there.\n%s%s" % (len(calls), SOURCE, version))
    print("\n".join(calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
