#!/usr/bin/env python3
"""Children of a check that must not outlive it, as tests/tied_child.h for the C tests.

A check stops its `weft serve` and `weft agent` children in `finally:`, which a SIGKILL
(ctest's timeout) skips: they would stay behind holding ports, files and ctest's output
pipe. `subprocess.Popen(..., preexec_fn=tied_child.tied())` has Linux send the child
SIGTERM (prctl(2), PR_SET_PDEATHSIG), on which weft stops as by hand, once the thread
that started it ends: start children from the main thread. The setting survives exec.
Standard library only (ctypes), so /usr/bin/python3 alone runs it; import it after
setting sys.dont_write_bytecode, from a script in this directory.

Run as a script, it checks itself against WEFT_BIN (else build/weft): a process that
starts two `weft serve`, one tied and one not, is SIGKILLed; the tied one must end, the
other (the control: nothing else ends it) must not. Exits 0 when that holds, 1 naming
what did not. Under a second.
"""
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_PDEATHSIG = 1  # <sys/prctl.h>

# loaded here, in the parent: the child between fork and exec should do no more than it must
_libc = ctypes.CDLL(None, use_errno=True)


def kill_all(procs):
    """SIGKILLs and reaps those of procs (subprocess.Popen) still running: a check's
    finally, for the children its steps did not stop."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def tied(also=None):
    """A preexec_fn that ties the child to this process, after running also() if given
    (another preexec_fn, such as a resource limit)."""
    parent = os.getpid()

    def preexec():
        if also:
            also()
        if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os._exit(127)

    return preexec


def _running(pid):
    """Whether pid runs (a zombie waiting for its new parent to reap it has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _check(weft, work):
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:  # the check that is SIGKILLed, its finally: never run
        try:
            os.close(r)
            pids = []
            for name, fn in (("tied", tied()), ("untied", None)):
                pf = os.path.join(work, name + ".port")
                p = subprocess.Popen([weft, "serve", "--ports", "1", "--token", "t", "--listen",
                                      "127.0.0.1:0", "--port-file", pf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=fn)
                pids.append(p.pid)
                for _ in range(1000):  # listening: past its exec and its start
                    if os.path.exists(pf) or p.poll() is not None:
                        break
                    time.sleep(0.01)
            os.write(w, ("%d %d\n" % tuple(pids)).encode())
            time.sleep(60)
        finally:  # never back into the check's own code
            os._exit(1)
    os.close(w)
    with os.fdopen(r) as f:
        pids = [int(x) for x in f.readline().split()]
    if len(pids) != 2 or not all(_running(p) for p in pids):
        print(f"tied_child: the two weft serve did not start ({weft})", file=sys.stderr)
        return 1
    os.kill(middle, signal.SIGKILL)
    os.waitpid(middle, 0)
    for _ in range(500):
        if not _running(pids[0]):
            break
        time.sleep(0.01)
    tied_left, untied_left = _running(pids[0]), _running(pids[1])
    if untied_left:
        os.kill(pids[1], signal.SIGTERM)
    if tied_left:
        os.kill(pids[0], signal.SIGTERM)
        print("tied_child: FAIL: the tied weft serve outlived its SIGKILLed parent",
              file=sys.stderr)
    if not untied_left:
        print("tied_child: FAIL: the untied weft serve ended too: the check proves nothing",
              file=sys.stderr)
    if tied_left or not untied_left:
        return 1
    print("tied_child: a weft serve tied to its parent ends with it, even SIGKILLed")
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="weft-tied-") as work:
        sys.exit(_check(os.environ.get("WEFT_BIN", "build/weft"), work))
