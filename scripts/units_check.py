#!/usr/bin/python3
"""contrib/systemd's units run as systemd would run them, without systemd.

CI containers have no systemd as PID 1, so this reads weft-serve.service,
weft-agent@.service and their example /etc/default files, expands the
command lines as systemd does, and runs them for real on loopback: the
gateway, agents 0 and 1 (%i), `weft status --json`, a `weft submit`, each
unit's ExecReload (SIGHUP), then SIGTERM (systemctl stop) and the exit
statuses the restart policy is written for. Paths change as an install
under another root would make them: /etc/default/ -> a copy of the example
files, /etc/weft/ -> a directory of fresh secrets, a CA and certificates
for 127.0.0.1 (openssl), /var/lib/weft -> an empty state directory,
/usr/local -> `cmake --install BUILD --prefix TMP` when --cmake is given
(else /usr/local/bin/weft -> WEFT_BIN). And the copies are edited as a site
would: the gateway and metrics on 127.0.0.1 port 0, the agents told the
port it took and given the example's data certificate option, port 1 a
file of its own (/etc/default/weft-agent-1).
It also runs `systemd-analyze verify` on the units when that program is
there (it says so when it is not: that part is extra).

And it holds the services to the units' SystemCallFilter=@system-service:
every process a unit starts (each ExecStart=, the agent and gateway that must
exit, each ExecReload= command) runs under `strace -D -f -c`, and each
distinct call it made must be in systemd 252's @system-service as stored in
scripts/system-service-252.txt (syscall_set.py; compared with systemd-analyze
where that is the same systemd): under systemd any other call fails with
EPERM. Client commands (status, submit) run under no unit and are not
traced. Without strace, or where ptrace is not permitted, it says so and
skips that part.

The systemd syntax understood, and nothing more (anything else is refused,
naming the file and line, rather than read differently from systemd):
- unit files: [Section] headers, KEY=VALUE lines, # and ; comment lines,
  a line ending in a backslash continued on the next (the backslash read as
  a space), a key given twice kept in order (EnvironmentFile=);
- specifiers in EnvironmentFile=, ExecStart= and ExecReload=: %i (the
  instance) and %% alone;
- EnvironmentFile=PATH, and =-PATH for one that may be missing; read in
  order, a later file's value winning;
- environment files: # comment lines, blank lines, NAME=VALUE with VALUE
  plain (no quote, backslash or $), or wholly in "..." without a backslash
  inside (so "" is empty);
- command lines: words split at whitespace; a word that is exactly $NAME
  becomes the value split at whitespace (zero words if empty or unset);
  ${NAME} inside or as a word becomes the value, in that one word (an
  empty word if unset); $MAINPID is the main process's pid (ExecReload);
  no quotes, no executable prefixes (-, @, +, !), no other $ form.

Usage: units_check.py [--cmake CMAKE]   (WEFT_BIN: the build's weft)
Exits 0 when every check holds, 1 naming those that did not, 2 on a usage error.
"""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from tied_child import kill_all, tied  # noqa: E402 (its weft children end with it, even SIGKILLed)
from check_report import check, summary, wait_for  # noqa: E402
import syscall_set  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS = os.path.normpath(os.path.join(HERE, "..", "contrib", "systemd"))
WEFT = os.path.abspath(os.environ.get("WEFT_BIN", "build/weft"))
PROCS = []
COPIED = {}  # the site's /etc/default files -> the example each was copied from
STRACE = []  # strace and its options, the output file to follow, when it can trace here
TRACES = []  # (the process a unit ran, the file strace counted its calls in)


class SyntaxFault(Exception):
    """Input outside the subset above: the message names the file and line."""


def read_unit(path):
    """{section: [(key, value, line number)]} of a unit file."""
    sections, cur, pending, start = {}, None, "", 0
    with open(path) as f:
        lines = f.read().split("\n")
    for n, raw in enumerate(lines, 1):
        if not pending and (not raw.strip() or raw.lstrip()[0] in "#;"):
            continue
        if not pending:
            start = n
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        m = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), [])
            continue
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)=(.*)", line)
        if not m or cur is None:
            raise SyntaxFault("%s:%d: expected [Section] or KEY=VALUE in a section, got %r"
                              % (path, start, line))
        cur.append((m.group(1), m.group(2).strip(), start))
    if pending:
        raise SyntaxFault("%s:%d: the file ends in a continued line" % (path, start))
    return sections


def values(unit, section, key):
    return [v for k, v, _ in unit.get(section, []) if k == key]


def one(unit, section, key, path):
    v = values(unit, section, key)
    if len(v) != 1:
        raise SyntaxFault("%s: [%s] %s= is given %d times, expected once"
                          % (path, section, key, len(v)))
    return v[0]


def specifiers(text, instance, where):
    def sub(m):
        if m.group(1) == "%":
            return "%"
        if m.group(1) == "i" and instance is not None:
            return instance
        raise SyntaxFault("%s: specifier %%%s is not one this check expands (%%i, %%%%)"
                          % (where, m.group(1)))
    return re.sub(r"%(.)", sub, text)


def read_env_file(path, env):
    """Adds path's NAME=VALUE lines to env."""
    with open(path) as f:
        for n, raw in enumerate(f.read().split("\n"), 1):
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            m = re.fullmatch(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"\\]*"|[^"\'\\$]*)', line)
            if not m:
                raise SyntaxFault("%s:%d%s: expected NAME=VALUE, VALUE plain or in \"...\" "
                                  "without a backslash, got %r"
                                  % (path, n, " (copied from %s)" % COPIED[path]
                                     if path in COPIED else "", line))
            v = m.group(2)
            env[m.group(1)] = v[1:-1] if v.startswith('"') else v.rstrip()


def expand_command(line, env, where):
    """The argv systemd makes of an ExecStart=/ExecReload= line."""
    argv = []
    for k, word in enumerate(line.split()):
        if (k == 0 and word[0] in "-@+!:") or word[0] in "\"'":
            raise SyntaxFault("%s: %r: prefixes and quotes are not in this check's subset"
                              % (where, word))
        m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if m:
            argv += env.get(m.group(1), "").split()
            continue
        if re.search(r"\$(?!\{[A-Za-z_][A-Za-z0-9_]*\})", word):
            raise SyntaxFault("%s: %r: a $ that is neither a word $NAME nor ${NAME}"
                              % (where, word))
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           lambda m: env.get(m.group(1), ""), word))
    return argv


class Unit:
    """One unit file (an instance of a template when instance is given), its paths
    mapped by roots: {absolute prefix: where this check put it}."""

    def __init__(self, name, instance, roots):
        self.path = os.path.join(UNITS, name)
        self.u = read_unit(self.path)
        self.instance, self.roots = instance, roots
        where = "%s [Service]" % self.path
        self.env = {}
        for spec in values(self.u, "Service", "EnvironmentFile"):
            optional = spec.startswith("-")
            f = self.mapped(specifiers(spec.lstrip("-"), instance, where))
            if optional and not os.path.exists(f):
                continue
            read_env_file(f, self.env)
        self.start = self.command("ExecStart")
        self.reload_line = specifiers(one(self.u, "Service", "ExecReload", self.path), instance,
                                      where)
        self.cwd = self.mapped(one(self.u, "Service", "WorkingDirectory", self.path))
        nofile = one(self.u, "Service", "LimitNOFILE", self.path)
        self.nofile = int(nofile)
        self.umask = int(one(self.u, "Service", "UMask", self.path), 8)
        self.prevent = [int(s) for s in one(self.u, "Service", "RestartPreventExitStatus",
                                            self.path).split()]

    def mapped(self, path):
        for root, to in self.roots.items():
            if path == root or path.startswith(root + "/"):
                return to + path[len(root):]
        return path

    def command(self, key, mainpid=None):
        where = "%s [Service] %s=" % (self.path, key)
        line = specifiers(one(self.u, "Service", key, self.path), self.instance, where)
        env = dict(self.env, **({"MAINPID": str(mainpid)} if mainpid else {}))
        argv = expand_command(line, env, where)
        # each word's paths, wherever they stand (--journal PATH, --tls-ca PATH)
        return [re.sub(r"(?<![^\s=])/\S*", lambda m: self.mapped(m.group(0)), w) for w in argv]

    def preexec(self):
        """Its limits and umask, as systemd sets them before exec."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = self.nofile if hard == resource.RLIM_INFINITY else min(self.nofile, hard)
        umask = self.umask

        def limits():
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            os.umask(umask)
        return tied(also=limits)


class Service:
    """A unit's main process: started from its ExecStart, its output in a file (journald's
    place), reloaded by running its ExecReload, stopped by SIGTERM."""

    def __init__(self, unit, log, argv=None, blas_threads=1):
        self.unit, self.log = unit, log
        # systemd's PATH, the files' variables; and OpenBLAS's threads, which systemd
        # would not set: one, as every check here runs (the machine is shared), unless
        # blas_threads says otherwise
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "OPENBLAS_NUM_THREADS": str(blas_threads), **unit.env}
        name = os.path.basename(unit.path).replace("@.", "@%s." % unit.instance)
        self.what = "%s (%s)" % (name, os.path.basename(log))
        with open(log, "w") as out:
            self.p = subprocess.Popen(traced(argv or unit.start, self.what, log), stdout=out,
                                      stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, cwd=unit.cwd, env=env,
                                      preexec_fn=unit.preexec())
        PROCS.append(self.p)

    def text(self):
        with open(self.log) as f:
            return f.read()

    def wait_log(self, pattern, seconds=10):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            m = re.search(pattern, self.text(), re.M)
            if m or self.p.poll() is not None:
                return m or re.search(pattern, self.text(), re.M)
            time.sleep(0.02)
        return None

    def reload(self):
        argv = self.unit.command("ExecReload", mainpid=self.p.pid)
        return subprocess.run(traced(argv, self.what + " ExecReload=", self.log),
                              capture_output=True, text=True, timeout=10)

    def exit_status(self, seconds=20):
        """Its exit status once it ends by itself, or None if it still runs."""
        try:
            return self.p.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, seconds=10):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(seconds)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None


def set_lines(path, settings):
    """The site's edit of an example file: each NAME= line given a new value. A NAME
    the file does not set is a failure (the example lost a setting)."""
    with open(path) as f:
        lines = f.read().split("\n")
    for name, value in settings.items():
        at = [i for i, l in enumerate(lines) if l.startswith(name + "=")]
        check(len(at) == 1, "%s sets %s once" % (os.path.basename(path), name))
        if value is None:
            lines = [l for i, l in enumerate(lines) if i not in at]
        else:
            for i in at:
                lines[i] = "%s=%s" % (name, value)
    with open(path, "w") as f:
        f.write("\n".join(lines))


def verify(tmp, weft):
    """systemd-analyze verify on the units, their binary being this build's."""
    sa = shutil.which("systemd-analyze")
    if not sa:
        print("note systemd-analyze not found: the units' syntax is not verified by systemd "
              "here (the command lines are run all the same)")
        return
    d = os.path.join(tmp, "verify")
    os.makedirs(d)
    for name in ("weft-serve.service", "weft-agent@.service"):
        with open(os.path.join(UNITS, name)) as f:
            text = f.read().replace("/usr/local/bin/weft", weft)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    for name in ("weft-serve.service", "weft-agent@0.service"):
        r = subprocess.run([sa, "verify", os.path.join(d, name)], capture_output=True, text=True,
                           timeout=60)
        said = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not said,
              "systemd-analyze verify %s: nothing to say (status %d)\n%s"
              % (name, r.returncode, said))


def traced(argv, what, log):
    """argv under strace when it can trace here, its calls counted in a file beside log."""
    if not STRACE:
        return argv
    out = "%s.%d.strace" % (log, len(TRACES))
    TRACES.append((what, out))
    return STRACE + [out] + argv


def strace_summary(path, seconds=10):
    """{call: count} of the report `strace -c -U name,calls` writes in path once its
    tracee has ended (-D: strace ends after it), or None if none came in time. Raises
    ValueError naming the file and line of anything else in it (such as the header of
    another personality's calls, which SystemCallArchitectures=native refuses)."""
    end = time.monotonic() + seconds
    while True:
        with open(path) as f:
            text = f.read()
        if re.search(r"^total +\d+\n", text, re.M):
            break
        if time.monotonic() > end:
            return None
        time.sleep(0.02)
    calls = {}
    for n, line in enumerate(text.split("\n"), 1):
        m = re.fullmatch(r"([a-z_][a-z0-9_]*) +(\d+)", line)
        if m and m.group(1) != "total":
            calls[m.group(1)] = int(m.group(2))
        elif line and not re.fullmatch(r"syscall +calls|-+ -+|total +\d+", line):
            raise ValueError("%s:%d: expected a call and its count, got %r" % (path, n, line))
    return calls


def strace_setup(tmp, weft):
    """Sets STRACE when strace is there and may trace (a container may not permit
    ptrace); else says why the system call filter is not checked."""
    st = shutil.which("strace")
    if not st:
        print("note strace not found: the units' SystemCallFilter= is not checked here "
              "(scripts/install-deps.sh installs it)")
        return
    # -D: the tracee is the process started, so its pid, signals, exit status and
    # PR_SET_PDEATHSIG are weft's own; strace, a grandchild, ends when it does
    argv = [st, "-D", "-f", "-qq", "-c", "-U", "name,calls", "-o"]
    out = os.path.join(tmp, "probe.strace")
    r = subprocess.run(argv + [out, weft, "--version"], capture_output=True, text=True,
                       timeout=60)
    # strace says nothing under -qq unless it fails (to attach, with weft run untraced)
    calls = strace_summary(out, 5) if r.returncode == 0 and not r.stderr else None
    if not calls:
        print("note strace cannot trace weft --version here (is ptrace permitted?): the "
              "units' SystemCallFilter= is not checked (status %d)\n%s"
              % (r.returncode, r.stderr.strip()))
        return
    STRACE[:] = argv


def allowed_calls():
    """The stored @system-service, compared with systemd-analyze's where that is the
    systemd it came from (another one's differences are noted); None if unreadable."""
    try:
        allowed, source = syscall_set.read_stored()
    except (OSError, ValueError) as e:
        check(False, "the stored @system-service reads: %s" % e)
        return None
    sa = shutil.which("systemd-analyze")
    if not sa:
        print("note systemd-analyze not found: %s is not compared with it"
              % os.path.basename(syscall_set.STORED))
        return allowed
    try:
        same, host, diff = syscall_set.compare(sa, allowed, source)
    except ValueError as e:
        check(False, "systemd-analyze expands @system-service: %s" % e)
        return allowed
    if same:
        check(not diff, "%s is %s's @system-service, expanded%s"
              % (os.path.basename(syscall_set.STORED), host, "; differs: " + diff if diff
                 else ""))
    else:
        print("note %s is %s's @system-service; this host's %s %s"
              % (os.path.basename(syscall_set.STORED), source, host,
                 "differs: " + diff if diff else "expands it alike"))
    return allowed


def filter_check():
    """Each traced process's calls in the units' SystemCallFilter=@system-service (the
    stored list read and compared even when strace cannot run)."""
    # what the units say is what the calls are held to: a filter added to one
    # (a ~@group, another set) would go unchecked
    for name in ("weft-serve.service", "weft-agent@.service"):
        path = os.path.join(UNITS, name)
        got = values(read_unit(path), "Service", "SystemCallFilter")
        check(got == ["@system-service"], "%s: SystemCallFilter= is @system-service alone, the "
              "set the traced calls are held to: %s" % (path, got))
    allowed = allowed_calls()
    if allowed is None or not STRACE:
        return
    every = set()
    for what, path in TRACES:
        try:
            calls = strace_summary(path)
        except (OSError, ValueError) as e:
            check(False, "%s: strace's report reads: %s" % (what, e))
            continue
        if calls is None:
            check(False, "%s: strace wrote no count of its calls in %s" % (what, path))
            continue
        every |= set(calls)
        outside = ["%s (%d)" % (c, n) for c, n in sorted(calls.items()) if c not in allowed]
        # its execve counted: traced from its start, not from some later point
        check("execve" in calls and not outside,
              "%s: traced from its execve, its %d distinct calls in @system-service%s"
              % (what, len(calls), "; outside it (EPERM under SystemCallFilter=): %s"
                 % ", ".join(outside) if outside else ""))
    print("note %d distinct calls over %d traced processes" % (len(every), len(TRACES)))


def make_site(tmp):
    """/etc/weft of a site: the two roles' secrets, a CA and the gateway's certificate
    for 127.0.0.1; /etc/default with the example files."""
    etc, default = os.path.join(tmp, "etc-weft"), os.path.join(tmp, "etc-default")
    os.makedirs(etc)
    os.makedirs(default)
    for role in ("agent", "client"):
        with open(os.path.join(etc, role + ".token"), "w") as f:
            f.write("units-check-%s-secret\n" % role)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ossl = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True,
                                     cwd=etc, timeout=60)
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
         "-subj", "/CN=units-check-ca")
    with open(os.path.join(etc, "gateway.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    for name in ("gateway", "agent"):  # the agents' data certificate: this machine's address
        ossl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
        ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", "gateway.ext", "-out", name + ".pem")
    for name in ("weft-serve", "weft-agent"):
        COPIED[os.path.join(default, name)] = os.path.join(UNITS, name + ".default")
        shutil.copy(COPIED[os.path.join(default, name)], os.path.join(default, name))
    return etc, default


def install(tmp, cmake):
    """cmake --install of WEFT_BIN's build into a prefix: the prefix, or None."""
    if not cmake:
        print("note no --cmake: /usr/local/bin/weft is WEFT_BIN, and the installed model "
              "is not checked")
        return None
    prefix = os.path.join(tmp, "prefix")
    r = subprocess.run([cmake, "--install", os.path.dirname(WEFT), "--prefix", prefix],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "cmake --install %s --prefix TMP (%d: %s)"
          % (os.path.dirname(WEFT), r.returncode, r.stderr.strip()))
    return prefix


def workload(path):
    """Two jobs on ports 0 and 1 (the agents started), 1 and 2 MB."""
    with open(path, "w") as f:
        f.write("weft-workload 1\nports 2\n"
                "job 0 0 1 0 1\ncoflow 1 0 1 -\n0 1 1000000\n"
                "job 1 0 1 0 1\ncoflow 1 0 1 -\n1 0 2000000\nend 2\n")
    return path


def main():
    # anything else is refused: a mistyped --cmake would skip the installed model's check
    if len(sys.argv) not in (1, 3) or len(sys.argv) == 3 and sys.argv[1] != "--cmake":
        print("usage: units_check.py [--cmake CMAKE]   (WEFT_BIN: the build's weft); got %s"
              % " ".join(sys.argv[1:]), file=sys.stderr)
        return 2
    cmake = sys.argv[2] if len(sys.argv) == 3 else None
    tmp = tempfile.mkdtemp(prefix="weft-units-")
    try:
        prefix = install(tmp, cmake)
        weft = os.path.join(prefix, "bin", "weft") if prefix else WEFT
        verify(tmp, weft)
        strace_setup(tmp, weft)
        etc, default = make_site(tmp)
        state = os.path.join(tmp, "var-lib-weft")
        roots = {"/etc/default": default, "/etc/weft": etc, "/var/lib/weft": state}
        roots.update({"/usr/local": prefix} if prefix else {"/usr/local/bin/weft": weft})
        run_services(tmp, roots, weft, default, state)
        if prefix:
            learned(tmp, roots, default, prefix)
        kill_all(PROCS)  # each strace writes its count once its weft has ended
        filter_check()
    except SyntaxFault as e:
        check(False, "the units and example files read as systemd reads them: %s" % e)
    finally:
        kill_all(PROCS)
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


def run_services(tmp, roots, weft, default, state):
    serve_default = os.path.join(default, "weft-serve")
    set_lines(serve_default, {"WEFT_LISTEN": "127.0.0.1:0",
                              "WEFT_METRICS": '"--metrics 127.0.0.1:0"'})
    unit = Unit("weft-serve.service", None, roots)
    sd = values(unit.u, "Service", "StateDirectory")
    check(sd == ["weft"] and unit.mapped("/var/lib/weft") == state,
          "weft-serve's StateDirectory= is weft (/var/lib/weft): %s" % sd)
    check(unit.start[0] == weft, "ExecStart runs the installed weft: %s" % unit.start[0])
    journal = unit.env.get("WEFT_JOURNAL", "")
    check(journal.startswith("/var/lib/weft/"),
          "the example journal is in the state directory: %r" % journal)
    max_conns = int(unit.start[unit.start.index("--max-conns") + 1])
    check(unit.nofile >= max_conns + 64, "LimitNOFILE=%d holds --max-conns %d + 64"
          % (unit.nofile, max_conns))
    os.makedirs(state, mode=0o750)  # systemd makes StateDirectory= before ExecStart
    log = os.path.join(tmp, "serve.log")
    serve = Service(unit, log)
    m = serve.wait_log(r"^weft serve: listening on 127\.0\.0\.1:(\d+) with TLS .*metrics on "
                       r"http://127\.0\.0\.1:(\d+)/metrics")
    if not check(m, "weft-serve starts: TLS, journal, metrics\n" + serve.text()):
        return
    check(not re.search(r"needs about \d+ open files", serve.text()),
          "no open-files warning under LimitNOFILE=%d\n%s" % (unit.nofile, serve.text()))
    check(os.path.exists(os.path.join(state, os.path.basename(journal))),
          "the journal is written in the state directory")
    port = m.group(1)
    # the site's edits: the gateway's address, the data connections in TLS (the
    # example's commented option), and port 1's own file (read after the other)
    data_tls = "--data-cert /etc/weft/agent.pem --data-key /etc/weft/agent.key"
    set_lines(os.path.join(default, "weft-agent"), {"WEFT_GATEWAY": "127.0.0.1:" + port,
                                                    "WEFT_AGENT_OPTS": '"%s"' % data_tls})
    with open(os.path.join(default, "weft-agent-1"), "w") as f:
        f.write('# port 1 alone: verbose\nWEFT_AGENT_OPTS="%s -v"\n' % data_tls)
    agents = {}
    for i in ("0", "1"):
        a = Unit("weft-agent@.service", i, roots)
        check(a.start[:4] == [weft, "agent", "--id", i], "weft-agent@%s's --id is %%i: %s"
              % (i, a.start[:4]))
        agents[i] = Service(a, os.path.join(tmp, "agent%s.log" % i))
    client = ["--gateway", "127.0.0.1:" + port, "--token-file",
              os.path.join(roots["/etc/weft"], "client.token"),
              "--tls-ca", os.path.join(roots["/etc/weft"], "ca.pem")]

    def status():
        r = subprocess.run([weft, "status", "--json", *client], capture_output=True,
                           text=True, timeout=20)
        return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}

    check(wait_for(lambda: status().get("agent_ports") == [0, 1], 10),
          "weft status --json: agents 0 and 1 connected: %s" % status())
    # the example's bound on finished jobs a long-running service keeps
    check(status().get("keep_finished") == 100000,
          "weft-serve.default's --keep-finished 100000 is in effect: %s"
          % status().get("keep_finished"))
    check(re.search(r"data port \d+ on 127\.0\.0\.1, TLS only", agents["1"].text())
          and "data port" not in agents["0"].text(),
          "/etc/default/weft-agent-1 is read for port 1 alone (-v: its data port logged)\n"
          + agents["1"].text() + agents["0"].text())
    r = subprocess.run([weft, "submit", workload(os.path.join(tmp, "two.weft")), *client,
                        "--timeout", "60"], capture_output=True, text=True, timeout=90)
    check(r.returncode == 0 and len(re.findall(r"^job \d done: JCT", r.stdout, re.M)) == 2,
          "weft submit: both jobs done (%d)\n%s%s" % (r.returncode, r.stdout, r.stderr))

    # ExecReload: SIGHUP; the gateway reads its secrets and certificate again
    r = serve.reload()
    check(r.returncode == 0, "weft-serve's ExecReload runs (%d: %s)" % (r.returncode, r.stderr))
    check(serve.wait_log(r"SIGHUP: TLS certificate \S+ reloaded") and
          re.search(r"SIGHUP: tokens reloaded", serve.text()),
          "weft-serve logs the reload of its tokens and certificate\n" + serve.text())
    r = agents["0"].reload()
    check(r.returncode == 0 and agents["0"].wait_log(r"weft agent 0: SIGHUP: data certificate "
                                                     r"\S+/agent\.pem reloaded"),
          "weft-agent@0's ExecReload: it reloads its data certificate\n" + agents["0"].text())
    time.sleep(0.3)  # a signal that ended one would have by now
    check(serve.p.poll() is None and agents["0"].p.poll() is None
          and status().get("agent_ports") == [0, 1],
          "the gateway and agent 0 run on after the reload, both agents in: %s" % status())

    # an --id the gateway has no port for stops at once, in RestartPreventExitStatus=
    n_ports = unit.start[unit.start.index("--ports") + 1]
    bad = Unit("weft-agent@.service", n_ports, roots)
    s = Service(bad, os.path.join(tmp, "agent-bad.log"))
    rc = s.exit_status()
    check(rc is not None and rc != 0 and rc in bad.prevent
          and "not one of the gateway's ports" in s.text(),
          "weft-agent@%s (no such port) exits %s, a status weft-agent@ is not restarted on "
          "(%s)\n%s" % (n_ports, rc, bad.prevent, s.text()))

    # systemctl stop: SIGTERM, status 0 (no restart under Restart=on-failure)
    for i, a in agents.items():
        rc = a.stop()
        check(rc == 0, "weft-agent@%s stops on SIGTERM with status 0 (%s)\n%s"
              % (i, rc, a.text()))
    rc = serve.stop()
    check(rc == 0 and "weft serve: stopped:" in serve.text(),
          "weft-serve stops on SIGTERM with status 0 (%s)\n%s" % (rc, serve.text()))

    # a restart finds its jobs in the state directory's journal
    again = Service(unit, os.path.join(tmp, "serve2.log"))
    check(again.wait_log(r"journal \S+: \d+ records, 2 jobs, 2 finished"),
          "a restart replays the journal: 2 jobs, 2 finished\n" + again.text())
    check(again.stop() == 0, "the restarted weft-serve stops with status 0")

    # a setting left out of /etc/default/weft-serve: a usage error, not restarted
    set_lines(serve_default, {"WEFT_PORTS": None})
    broken = Unit("weft-serve.service", None, roots)
    s = Service(broken, os.path.join(tmp, "serve-usage.log"))
    rc = s.exit_status()
    check(rc is not None and rc != 0 and rc in broken.prevent and "--ports" in s.text(),
          "weft-serve without WEFT_PORTS exits %s, a status it is not restarted on (%s)\n%s"
          % (rc, broken.prevent, s.text()))


def learned(tmp, roots, default, prefix):
    """--policy learned from the example file's policy line: the installed weft takes
    the model the install put in PREFIX/share/weft/models, and reloads it on SIGHUP."""
    serve_default = os.path.join(default, "weft-serve")
    with open(serve_default, "a") as f:  # the site's edit: WEFT_PORTS back, learned
        f.write("\nWEFT_PORTS=4\n")
    set_lines(serve_default, {"WEFT_POLICY": "learned"})
    unit = Unit("weft-serve.service", None, roots)
    # OpenBLAS's threads, as a unit without OPENBLAS_NUM_THREADS has them (one a core,
    # two here at most): their calls (clone3, mbind, ...) are under the filter too
    serve = Service(unit, os.path.join(tmp, "serve-learned.log"), blas_threads=2)
    model = os.path.join(prefix, "share", "weft", "models", "weft-policy.msgpack")
    m = serve.wait_log(r"policy learned\); .*model (\S+) \(sha256")
    check(m and os.path.realpath(m.group(1)) == os.path.realpath(model),
          "the installed weft serve --policy learned takes the installed model %s\n%s"
          % (model, serve.text()))
    r = serve.reload()
    check(r.returncode == 0 and serve.wait_log(r"SIGHUP: model \S+ reloaded"),
          "ExecReload reloads the model\n" + serve.text())
    check(serve.stop() == 0, "the learned weft-serve stops with status 0")


if __name__ == "__main__":
    sys.exit(main())
