#!/usr/bin/env python3
"""How a check script reports: a passing check in one line, a failing one with what it
found, and the count of failures at the end, whose exit status is 1 if there were any; and
how it waits for what a live process will do. Shared by clients_check.py, units_check.py
and deb_check.py; standard library only. Import it after setting sys.dont_write_bytecode,
from a script in this directory."""
import time

FAILURES = []


def check(cond, what):
    """Reports cond under what (its first line when it holds, all of it when not, the
    failure counted); returns cond."""
    print("ok   " + what.splitlines()[0][:96] if cond else "FAIL " + what)
    if not cond:
        FAILURES.append(what)
    return cond


def summary():
    """Prints how many checks failed; returns the exit status, 1 if any did."""
    print("%d failure(s)" % len(FAILURES))
    return 1 if FAILURES else 0


def wait_for(cond, seconds=5.0):
    """True as soon as cond() holds, False if it has not within seconds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False
