#!/usr/bin/python3
"""The Debian package `make deb` writes (cmake/weft_deb.cmake), built and taken apart.

Runs cpack on the build of WEFT_BIN into a temporary directory, then reads
weft_VERSION_ARCH.deb with dpkg-deb alone, as dpkg would: its control fields
(Package, Version as `weft --version` gives it, Architecture, Depends naming
the libraries weft links and what the maintainer scripts and units run), its
files (exactly the program, the model, the units, the two example settings,
README.md, docs/*.md and the copyright file, all root's), its conffiles (both
/etc/default files), its maintainer scripts (executable, `sh -n` clean). Then
it unpacks the data into a temporary root, compares the files with the tree's
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
    """conffiles, and the maintainer scripts: executable, `sh -n` clean."""
    ctrl = os.path.join(tmp, "DEBIAN")
    r = run(["dpkg-deb", "-e", deb, ctrl])
    if not check(r.returncode == 0, "dpkg-deb -e extracts the control files\n" + r.stderr):
        return
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
            maintainer(deb, tmp)
            unpacked(deb, tmp, version_line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
