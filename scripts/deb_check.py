#!/usr/bin/python3
"""The Debian package `make deb` writes (cmake/weft_deb.cmake), built and taken apart.

Runs cpack on the build of WEFT_BIN into a temporary directory, then reads
weft_VERSION_ARCH.deb with dpkg-deb alone, as dpkg would: its control fields
(Package, Version as `weft --version` gives it, Architecture, Depends naming
the libraries weft links and what the maintainer scripts and units run), its
files (exactly the program, the model, the units, the two example settings,
README.md, docs/*.md and the copyright file, all root's), its conffiles (both
/etc/default files), its maintainer scripts (executable, `sh -n` clean), which
it then runs with each argument dpkg passes them, and an unknown one: on a
root of their own ($DPKG_ROOT), with stand-ins for the commands that act on the
system (adduser, systemctl, deb-systemd-helper, deb-systemd-invoke, ...) that
log what the scripts asked and answer as the case needs (a fresh install
starts nothing, an upgrade restarts what runs through deb-systemd-invoke, a
failure of the helpers fails nothing, purge deletes what it must and no more).
Then it unpacks the data into a temporary root, compares the files with the tree's
(the units' only change: ExecStart= runs /usr/bin/weft, which the package
holds), and runs the unpacked /usr/bin/weft from another directory without
$WEFT_MODEL: `--version`, and `sim --policy learned`, which must load the
unpacked model (the binary's fallback, this source tree's models/, would
pass a check that only looked for a result).

Usage: deb_check.py --cpack CPACK   (WEFT_BIN: the build's weft)
Exits 0 when every check holds, 1 naming those that did not, 77 (skipped)
without dpkg-deb.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__
from check_report import check, summary  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TREE = os.path.normpath(os.path.join(HERE, ".."))
UNITS = os.path.join(TREE, "contrib", "systemd")
WEFT = os.path.abspath(os.environ.get("WEFT_BIN", "build/weft"))
# the libraries weft links (CMakeLists.txt's pkg_check_modules and GLPK), by
# the start of their Debian package names, which carry sonames
LIBS = ("libigraph", "libopenblas", "libevent", "libmsgpack", "libssl", "libjansson",
        "libglpk")
CONFFILES = ["/etc/default/weft-serve", "/etc/default/weft-agent"]
SCRIPTS = ("postinst", "prerm", "postrm")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)


def expected_files():
    """Every file the package must hold (its paths as dpkg-deb -c prints them)."""
    docs = sorted(f for f in os.listdir(os.path.join(TREE, "docs")) if f.endswith(".md"))
    return {"./usr/bin/weft", "./usr/share/weft/models/weft-policy.msgpack",
            "./lib/systemd/system/weft-serve.service",
            "./lib/systemd/system/weft-agent@.service",
            "./etc/default/weft-serve", "./etc/default/weft-agent",
            "./usr/share/doc/weft/copyright", "./usr/share/doc/weft/README.md"} | \
        {"./usr/share/doc/weft/docs/" + d for d in docs}


def build_deb(cpack, tmp):
    """cpack on WEFT_BIN's build, its package written in tmp/out: the .deb, or None."""
    build = os.path.dirname(WEFT)
    config = os.path.join(build, "CPackConfig.cmake")
    if not check(os.path.exists(config), "%s exists (cmake configured the package)" % config):
        return None
    out = os.path.join(tmp, "out")
    r = run([cpack, "--config", config, "-B", out], cwd=tmp)
    if not check(r.returncode == 0, "cpack --config %s -B TMP (%d)\n%s%s"
                 % (config, r.returncode, r.stdout, r.stderr)):
        return None
    debs = sorted(f for f in os.listdir(out) if f.endswith(".deb"))
    check(len(debs) == 1, "cpack wrote one .deb: %s" % debs)
    return os.path.join(out, debs[0]) if debs else None


def control(deb, name, version, arch):
    """The control fields."""
    r = run(["dpkg-deb", "-f", deb])
    if not check(r.returncode == 0, "dpkg-deb -f reads the control file\n" + r.stderr):
        return
    fields = dict(re.findall(r"^(\S+): (.*)$", r.stdout, re.M))
    want = "weft_%s_%s.deb" % (version, arch)
    check(name == want, "the file is named %s: %s" % (want, name))
    check(fields.get("Package") == "weft", "Package: weft: %r" % fields.get("Package"))
    check(fields.get("Version") == version,
          "Version: %r is weft --version's %s" % (fields.get("Version"), version))
    check(fields.get("Architecture") == arch,
          "Architecture: %r is dpkg's %s" % (fields.get("Architecture"), arch))
    depends = [d.strip().split()[0] for d in fields.get("Depends", "").split(",") if d.strip()]
    for lib in LIBS:
        check(any(d.startswith(lib) for d in depends),
              "Depends names %s* (dpkg-shlibdeps): %s" % (lib, depends))
    for pkg in ("adduser", "procps"):  # postinst's adduser; the units' /bin/kill
        check(pkg in depends, "Depends names %s: %s" % (pkg, depends))
    check(fields.get("Maintainer") and fields.get("Description"),
          "Maintainer and Description are given: %r" % fields)


def contents(deb):
    """The data's file list: exactly the expected files, root's, weft executable."""
    r = run(["dpkg-deb", "-c", deb])
    if not check(r.returncode == 0, "dpkg-deb -c lists the files\n" + r.stderr):
        return
    files, owners = {}, set()
    for line in r.stdout.splitlines():
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        owners.add(owner)
        if not mode.startswith("d"):
            files[path] = mode
    want = expected_files()
    check(not want - files.keys(), "the package holds %d files, among them every one "
          "expected; missing: %s" % (len(files), sorted(want - files.keys())))
    check(not files.keys() - want, "the package holds nothing else (no data/, no tests): %s"
          % sorted(files.keys() - want))
    check(owners == {"root/root"}, "every entry is root/root: %s" % sorted(owners))
    check(files.get("./usr/bin/weft", "").startswith("-rwxr-xr-x"),
          "/usr/bin/weft is -rwxr-xr-x: %s" % files.get("./usr/bin/weft"))


def maintainer(deb, tmp):
    """conffiles, and the maintainer scripts: executable, `sh -n` clean. Returns the
    directory they are in, or None."""
    ctrl = os.path.join(tmp, "DEBIAN")
    r = run(["dpkg-deb", "-e", deb, ctrl])
    if not check(r.returncode == 0, "dpkg-deb -e extracts the control files\n" + r.stderr):
        return None
    conffiles = []
    if os.path.exists(os.path.join(ctrl, "conffiles")):
        with open(os.path.join(ctrl, "conffiles")) as f:
            conffiles = f.read().split()
    check(sorted(conffiles) == sorted(CONFFILES),
          "conffiles are %s (an operator's edits survive an upgrade): %s"
          % (CONFFILES, conffiles))
    for s in SCRIPTS:
        path = os.path.join(ctrl, s)
        if not check(os.path.exists(path), "the package has a %s" % s):
            continue
        check(os.stat(path).st_mode & 0o777 == 0o755,
              "%s is mode 0755: %o" % (s, os.stat(path).st_mode & 0o777))
        r = run(["sh", "-n", path])
        check(r.returncode == 0, "sh -n %s: clean (%d)\n%s" % (s, r.returncode, r.stderr))
    return ctrl


# The commands the maintainer scripts may run: stand-ins for those acting on the
# system (they log their name and arguments, and answer as a scenario says), the
# real ones for the rest, and nothing else on their PATH (a command the scripts
# gained unseen fails them). Their contract is which commands they run.
STANDINS = ("getent", "addgroup", "adduser", "install", "systemctl",
            "deb-systemd-helper", "deb-systemd-invoke")
REAL = ("rm", "rmdir", "find", "awk", "sort", "cat")
STANDIN = """#!/bin/sh
# a stand-in for the command it is named as: logs that name and its arguments
# to $STANDIN_LOG, prints $STANDIN_ANSWERS/KEY.out and exits with KEY.status
# if there (KEY: the line logged, blanks as _, slashes as %), else exits 0
PATH=$STANDIN_PATH
line="${0##*/} $*"
printf '%s\\n' "$line" >>"$STANDIN_LOG"
key=$(printf '%s' "$line" | tr ' /' '_%')
[ ! -f "$STANDIN_ANSWERS/$key.out" ] || cat "$STANDIN_ANSWERS/$key.out"
[ ! -f "$STANDIN_ANSWERS/$key.status" ] || exit "$(cat "$STANDIN_ANSWERS/$key.status")"
exit 0
"""
# the questions the scripts ask, answered below
NO_GROUP, NO_USER = "getent group weft", "getent passwd weft"
LIST = "systemctl list-units --plain --no-legend %sweft-serve.service weft-agent@*.service"
ACTIVE, LOADED = LIST % "--state=active ", LIST % ""
INSTALLED = "deb-systemd-helper debian-installed weft-serve.service"
WAS_ENABLED = "deb-systemd-helper --quiet was-enabled weft-serve.service"
RELOAD = "systemctl --system daemon-reload"
RUNNING = ("weft-serve.service loaded active running weft coflow scheduler gateway\n"
           "\u25cf weft-agent@3.service loaded active running weft agent for fabric port 3\n"
           "weft-agent@7.service loaded active running weft agent for fabric port 7\n")


class Maintscripts:
    """The extracted maintainer scripts, run as dpkg runs them but on a root of their
    own ($DPKG_ROOT, dpkg's variable for the root the scripts act on) with the
    stand-ins. As root they run as nobody: a path that escaped $DPKG_ROOT cannot
    touch this machine's."""

    def __init__(self, ctrl, tmp):
        self.ctrl, self.tmp = ctrl, os.path.join(tmp, "maintscripts")
        self.bin = os.path.join(self.tmp, "bin")
        os.makedirs(self.bin)
        with open(os.path.join(self.bin, "standin"), "w") as f:
            f.write(STANDIN)
        os.chmod(os.path.join(self.bin, "standin"), 0o755)
        for name in STANDINS:
            os.symlink("standin", os.path.join(self.bin, name))
        for name in REAL:
            os.symlink(shutil.which(name), os.path.join(self.bin, name))
        self.runs = 0
        self.user = None
        if os.geteuid() == 0:
            import pwd
            self.user = pwd.getpwnam("nobody")
            for d in (tmp, self.tmp):  # nobody passes through to its own
                os.chmod(d, 0o711)
            os.chmod(ctrl, 0o755)

    def drop(self):
        if self.user:
            os.setgroups([])
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)

    def __call__(self, script, args, answers=(), systemd=True, setup=None):
        """Runs script with args: answers maps a command line to (status, output),
        systemd says whether systemd runs, setup(root) fills the root first.
        Returns (status, stdout, stderr, the commands run as lines, root)."""
        self.runs += 1
        run_dir = os.path.join(self.tmp, "%d" % self.runs)
        root, said = os.path.join(run_dir, "root"), os.path.join(run_dir, "answers")
        os.makedirs(root)
        os.makedirs(said)
        if systemd:
            os.makedirs(os.path.join(root, "run", "systemd", "system"))
        for line, (status, out) in dict(answers).items():
            key = os.path.join(said, line.replace(" ", "_").replace("/", "%"))
            with open(key + ".status", "w") as f:
                f.write("%d\n" % status)
            with open(key + ".out", "w") as f:
                f.write(out)
        if setup:
            setup(root)
        log = os.path.join(run_dir, "log")
        open(log, "w").close()
        if self.user:
            for d, dirs, files in os.walk(run_dir):
                for n in [d] + [os.path.join(d, x) for x in dirs + files]:
                    os.lchown(n, self.user.pw_uid, self.user.pw_gid)
        env = {"PATH": self.bin, "LC_ALL": "C", "DPKG_ROOT": root,
               "DPKG_MAINTSCRIPT_PACKAGE": "weft", "DPKG_MAINTSCRIPT_NAME": script,
               "STANDIN_PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "STANDIN_LOG": log,
               "STANDIN_ANSWERS": said}
        r = subprocess.run([os.path.join(self.ctrl, script)] + args, capture_output=True,
                           text=True, timeout=60, cwd=run_dir, env=env,
                           preexec_fn=self.drop)
        with open(log) as f:
            ran = [line.replace(root, "$ROOT") for line in f.read().splitlines()]
        return r.returncode, r.stdout, r.stderr, ran, root


def link(root, path, to="/lib/systemd/system/unit.service"):
    """A symbolic link at root/path, its directory made."""
    os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
    os.symlink(to, os.path.join(root, path))


def put(root, path, text=""):
    os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
    with open(os.path.join(root, path), "w") as f:
        f.write(text)


def ran_as(what, result, status, want):
    """Checks a run's exit status and that it ran exactly the commands want."""
    code, out, err, ran, _root = result
    return check(code == status and ran == want,
                 "%s: exits %d, running %s\ngot %d, ran %s\n%s%s"
                 % (what, status, want, code, ran, out, err))


def postinst_runs(m):
    fresh = {NO_GROUP: (2, ""), NO_USER: (2, ""), INSTALLED: (1, ""), WAS_ENABLED: (0, "")}
    r = m("postinst", ["configure"], fresh)
    # no `enable`: on a unit without a record the helper's was-enabled says yes, and
    # its enable would then enable by preset
    ran_as("postinst configure (a fresh install, systemd running) makes the user and "
           "/etc/weft, records the units' state, reloads systemd, starts nothing", r, 0,
           [NO_GROUP, "addgroup --system --quiet weft", NO_USER,
            "adduser --system --quiet --ingroup weft --home /var/lib/weft "
            "--no-create-home --gecos weft coflow scheduler weft",
            "install -d -m 0750 -o root -g weft $ROOT/etc/weft", INSTALLED,
            "deb-systemd-helper update-state weft-serve.service", RELOAD])
    check("neither enabled nor started" in r[1] and "/etc/weft" in r[1],
          "and says it started nothing, the secrets to be written first\n" + r[1])

    r = m("postinst", ["configure"], {INSTALLED: (1, "")}, systemd=False,
          setup=lambda root: os.makedirs(os.path.join(root, "etc", "weft")))
    ran_as("postinst configure, the user and /etc/weft there, no systemd: neither "
           "made again, systemctl not run", r, 0,
           [NO_GROUP, NO_USER, INSTALLED, "deb-systemd-helper update-state weft-serve.service"])

    upgrade = {INSTALLED: (0, ""), WAS_ENABLED: (0, ""), ACTIVE: (0, RUNNING)}
    restart = ("deb-systemd-invoke restart weft-serve.service weft-agent@3.service "
               "weft-agent@7.service")
    r = m("postinst", ["configure", "0.0.9"], upgrade,
          setup=lambda root: os.makedirs(os.path.join(root, "etc", "weft")))
    ran_as("postinst configure 0.0.9 (an upgrade), weft-serve enabled, it and two agents "
           "running: the links of its [Install] kept, the running units restarted through "
           "deb-systemd-invoke", r, 0,
           [NO_GROUP, NO_USER, INSTALLED, WAS_ENABLED,
            "deb-systemd-helper enable weft-serve.service",
            "deb-systemd-helper update-state weft-serve.service", RELOAD, ACTIVE, restart])
    check("neither enabled" not in r[1], "and no word of a fresh install\n" + r[1])

    r = m("postinst", ["configure", "0.0.9"],
          {INSTALLED: (0, ""), WAS_ENABLED: (1, ""), ACTIVE: (0, "")})
    ran_as("postinst configure 0.0.9, weft-serve disabled, nothing running (a reinstall "
           "after remove): nothing enabled, nothing restarted", r, 0,
           [NO_GROUP, NO_USER, "install -d -m 0750 -o root -g weft $ROOT/etc/weft",
            INSTALLED, WAS_ENABLED, "deb-systemd-helper update-state weft-serve.service",
            RELOAD, ACTIVE])

    # (a policy-rc.d refusal is no failure: deb-systemd-invoke says it and exits 0;
    # a unit that fails to restart makes it die, 255)
    refused = dict(upgrade)
    refused[restart] = (255, "")
    refused["deb-systemd-helper update-state weft-serve.service"] = (1, "")
    r = m("postinst", ["configure", "0.0.9"], refused)
    check(r[0] == 0 and restart in r[3] and "restart" in r[2] and "update-state" in r[2],
          "postinst configure 0.0.9: deb-systemd-invoke failing the restart (255, a unit "
          "that failed) and the helper failing are said, not fatal (%d)\n%s%s"
          % (r[0], r[1], r[2]))

    def enabled(root):  # the operator's `systemctl enable`s, and a unit of another
        for unit in ("weft-serve.service", "weft-agent@3.service", "other.service"):
            link(root, "etc/systemd/system/multi-user.target.wants/" + unit)
        link(root, "etc/systemd/system/network-online.target.wants/weft-agent@3.service")
        link(root, "etc/systemd/system/weft-agent@5.service", "/dev/null")  # a mask
    ran_as("postinst abort-remove (prerm remove stopped the services): the enabled "
           "ones started again through deb-systemd-invoke",
           m("postinst", ["abort-remove"], setup=enabled), 0,
           ["deb-systemd-invoke start weft-serve.service weft-agent@3.service"])
    ran_as("postinst abort-remove without systemd: nothing run",
           m("postinst", ["abort-remove", "in-favour", "other", "1.0"], systemd=False), 0, [])
    ran_as("postinst abort-upgrade 0.2.0: the units reread, nothing restarted",
           m("postinst", ["abort-upgrade", "0.2.0"]), 0, [RELOAD])
    ran_as("postinst abort-deconfigure: the units reread, nothing restarted",
           m("postinst", ["abort-deconfigure", "in-favour", "other", "1.0"]), 0, [RELOAD])


def prerm_runs(m):
    stop = "deb-systemd-invoke stop weft-serve.service weft-agent@3.service weft-agent@7.service"
    ran_as("prerm remove: the weft units systemd has stopped through deb-systemd-invoke",
           m("prerm", ["remove"], {LOADED: (0, RUNNING)}), 0, [LOADED, stop])
    r = m("prerm", ["remove"], {LOADED: (0, RUNNING), stop: (1, "")})
    check(r[0] == 0 and r[3] == [LOADED, stop] and "stop" in r[2],
          "prerm remove: deb-systemd-invoke failing (1, systemctl stop's) is said, not "
          "fatal (%d)\n%s%s" % (r[0], r[1], r[2]))
    ran_as("prerm remove, none running: nothing stopped",
           m("prerm", ["remove"], {LOADED: (0, "")}), 0, [LOADED])
    ran_as("prerm remove without systemd: nothing run", m("prerm", ["remove"], systemd=False),
           0, [])
    for args in (["upgrade", "0.2.0"], ["failed-upgrade", "0.0.9"],
                 ["deconfigure", "in-favour", "other", "1.0", "removing", "lib", "2.0"]):
        ran_as("prerm %s: the services left running" % " ".join(args), m("prerm", args), 0, [])


def postrm_runs(m):
    def installed(root):  # what postinst, the operator and the service left
        put(root, "var/lib/weft/gateway.journal", "journal")
        put(root, "etc/weft/client.token", "secret")
        for unit in ("weft-serve.service", "weft-agent@3.service", "other.service"):
            link(root, "etc/systemd/system/multi-user.target.wants/" + unit)
        link(root, "etc/systemd/system/weft-serve.service", "/dev/null")  # a mask
        put(root, "etc/systemd/system/weft-agent@.service.d/override.conf", "[Service]\n")

    def there(root, *paths):
        return [p for p in paths if os.path.lexists(os.path.join(root, p))]
    wants = "etc/systemd/system/multi-user.target.wants/"
    kept = ["var/lib/weft/gateway.journal", "etc/weft/client.token", wants + "other.service",
            "etc/systemd/system/weft-serve.service",
            "etc/systemd/system/weft-agent@.service.d/override.conf"]
    ours = [wants + "weft-serve.service", wants + "weft-agent@3.service"]

    r = m("postrm", ["remove"], setup=installed)
    ran_as("postrm remove: the units reread", r, 0, [RELOAD])
    check(there(r[4], *kept + ours) == kept + ours,
          "postrm remove keeps the journal, /etc/weft, the enablement: %s"
          % there(r[4], *kept + ours))

    r = m("postrm", ["purge"], setup=installed)
    ran_as("postrm purge: deb-systemd-helper purges its record, the units reread", r, 0,
           ["deb-systemd-helper purge weft-serve.service", RELOAD])
    left = there(r[4], *kept + ours)
    check(left == kept[1:], "postrm purge deletes the journal and the enablement links, "
          "keeps /etc/weft with its secret, a mask, an override, another unit's link: %s"
          % left)
    check("/etc/weft is not empty" in r[1], "and says /etc/weft stays\n" + r[1])

    r = m("postrm", ["purge"], systemd=False,
          setup=lambda root: os.makedirs(os.path.join(root, "etc", "weft")))
    ran_as("postrm purge without systemd: no systemctl", r, 0,
           ["deb-systemd-helper purge weft-serve.service"])
    check(not there(r[4], "etc/weft"), "postrm purge removes an empty /etc/weft")

    for args in (["upgrade", "0.2.0"], ["failed-upgrade", "0.0.9"], ["abort-install"],
                 ["abort-upgrade", "0.0.9"], ["disappear", "other", "1.0"]):
        r = m("postrm", args, setup=installed)
        ran_as("postrm %s: nothing run" % " ".join(args), r, 0, [])
        check(there(r[4], *kept + ours) == kept + ours, "and nothing deleted")


def maintscripts_run(ctrl, tmp):
    """The maintainer scripts run with each argument dpkg passes, and an unknown one."""
    m = Maintscripts(ctrl, tmp)
    postinst_runs(m)
    prerm_runs(m)
    postrm_runs(m)
    for script in SCRIPTS:
        code, _out, err, ran, _root = m(script, ["bogus"])
        check(code == 1 and script in err and "'bogus'" in err and not ran,
              "%s bogus: fails naming the script and the argument (%d)\n%s"
              % (script, code, err))


def same(path, want, what):
    with open(path, "rb") as f, open(want, "rb") as g:
        return check(f.read() == g.read(), "%s is %s" % (what, os.path.relpath(want, TREE)))


def unpacked(deb, tmp, version_line):
    """The data in a root of its own: the files as in the tree, the program run."""
    root = os.path.join(tmp, "root")
    r = run(["dpkg-deb", "-x", deb, root])
    if not check(r.returncode == 0, "dpkg-deb -x unpacks the data\n" + r.stderr):
        return
    at = lambda p: os.path.join(root, p.lstrip("/"))
    for name in ("weft-serve", "weft-agent"):
        if os.path.exists(at("/etc/default/" + name)):
            same(at("/etc/default/" + name), os.path.join(UNITS, name + ".default"),
                 "/etc/default/" + name)
    model = at("/usr/share/weft/models/weft-policy.msgpack")
    if os.path.exists(model):
        same(model, os.path.join(TREE, "models", "weft-policy.msgpack"), "the packaged model")
    for unit in ("weft-serve.service", "weft-agent@.service"):
        path = at("/lib/systemd/system/" + unit)
        if not os.path.exists(path):
            continue
        with open(path) as f, open(os.path.join(UNITS, unit)) as g:
            text, tree = f.read(), g.read()
        start = re.findall(r"^ExecStart=(\S+)", text, re.M)
        check(start == ["/usr/bin/weft"], "%s's ExecStart= runs /usr/bin/weft: %s"
              % (unit, start))
        check(text == tree.replace("ExecStart=/usr/local/bin/weft ", "ExecStart=/usr/bin/weft "),
              "%s is contrib/systemd's but for ExecStart='s path" % unit)
    weft = at("/usr/bin/weft")
    if not check(os.access(weft, os.X_OK), "the unpacked /usr/bin/weft is executable"):
        return
    # from a directory of its own, where nothing of this tree is found
    cwd = os.path.join(tmp, "elsewhere")
    os.makedirs(cwd)
    env = {k: v for k, v in os.environ.items() if k != "WEFT_MODEL"}
    r = run([weft, "--version"], cwd=cwd, env=env)
    check(r.returncode == 0 and r.stdout.splitlines()[:1] == [version_line],
          "the unpacked weft --version says %r (%d)\n%s%s"
          % (version_line, r.returncode, r.stdout, r.stderr))
    work = os.path.join(cwd, "two.weft")
    with open(work, "w") as f:  # two jobs on 2 ports, 1 and 2 MB
        f.write("weft-workload 1\nports 2\n"
                "job 0 0 1 0 1\ncoflow 1 0 1 -\n0 1 1000000\n"
                "job 1 0 1 0 1\ncoflow 1 0 1 -\n1 0 2000000\nend 2\n")
    r = run([weft, "sim", work, "--policy", "learned"], cwd=cwd, env=env)
    m = re.search(r"^model: (.*)$", r.stdout, re.M)
    loaded = os.path.realpath(m.group(1)) if m else None
    check(r.returncode == 0 and loaded == os.path.realpath(model),
          "the unpacked weft sim --policy learned loads the unpacked model %s: %s (%d)\n%s%s"
          % (model, loaded, r.returncode, r.stdout, r.stderr))
    check(re.search(r"^learned\s+\S+\s+[0-9.]+", r.stdout, re.M),
          "and simulates the workload under it\n" + r.stdout)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "--cpack":
        print("usage: deb_check.py --cpack CPACK   (WEFT_BIN: the build's weft)",
              file=sys.stderr)
        return 2
    cpack = sys.argv[2]
    if not shutil.which("dpkg-deb") or not shutil.which("dpkg"):
        print("skip: no dpkg-deb here (Debian's dpkg): the package is not checked")
        return 77
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="weft-deb-")
    try:
        deb = build_deb(cpack, tmp)
        # after cpack, whose make of the build would relink a stale weft
        r = run([WEFT, "--version"])
        m = re.match(r"weft (\S+) ", r.stdout)
        if deb and check(r.returncode == 0 and m, "%s --version names a version: %r"
                         % (WEFT, r.stdout[:80])):
            version_line, version = r.stdout.splitlines()[0], m.group(1)
            control(deb, os.path.basename(deb), version, arch)
            contents(deb)
            ctrl = maintainer(deb, tmp)
            if ctrl:
                maintscripts_run(ctrl, tmp)
            unpacked(deb, tmp, version_line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
