#!/bin/sh
# Runs the README's commands on a fresh Debian 12: a minimal bookworm root
# made by debootstrap, with nothing in it but Debian's base packages and
# make (which the commands themselves are), a copy of this repository's
# committed HEAD, and `make TARGET` run as root inside it with a clean
# environment. So it sees what a new machine sees: every package weft needs
# installed by scripts/install-deps.sh, none inherited from this one.
#
#   sh scripts/fresh-debian.sh                 # as root: make test
#   sh scripts/fresh-debian.sh run             # make run
#   ROOT=/var/tmp/deb12 KEEP=1 sh scripts/fresh-debian.sh test
#
# ROOT (default /tmp/weft-fresh-debian12) is made anew unless KEEP=1, which
# reuses it with the packages already installed there (a quicker rerun).
# Needs root, network access to deb.debian.org, and about 2 GB in ROOT.
# Exit status: that of make.
set -eu
TARGET=${1:-test}
ROOT=${ROOT:-/tmp/weft-fresh-debian12}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
REPO=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-debian: needs root (debootstrap, chroot, mounts)" >&2
    exit 1
fi
command -v git >/dev/null || { echo "fresh-debian: needs git to copy HEAD" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
    echo "fresh-debian: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

MOUNTS="proc sys dev dev/pts dev/shm"
unmount_all() {
    for m in dev/shm dev/pts dev sys proc; do
        mountpoint -q "$ROOT/$m" 2>/dev/null && umount "$ROOT/$m" || true
    done
}
# a trapped INT used to unmount and go on with the next command
trap unmount_all EXIT
trap 'exit 1' INT TERM

if [ "${KEEP:-0}" != 1 ] || [ ! -x "$ROOT/usr/bin/make" ]; then
    unmount_all
    # ROOT/dev is the host's /dev bound in: an umount refused (busy: a
    # process of a run before still in the chroot) must stop the removal,
    # or rm would delete the host's device nodes through it
    for m in $MOUNTS; do
        if mountpoint -q "$ROOT/$m" 2>/dev/null; then
            echo "fresh-debian: $ROOT/$m is still mounted (busy?); not removing $ROOT" >&2
            exit 1
        fi
    done
    rm -rf --one-file-system "$ROOT"
    echo "fresh-debian: debootstrap bookworm (minbase) into $ROOT"
    debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || {
        echo "fresh-debian: debootstrap failed; see $ROOT.debootstrap.log" >&2
        exit 1
    }
fi
for m in $MOUNTS; do
    mkdir -p "$ROOT/$m"
    if mountpoint -q "$ROOT/$m"; then
        continue # KEEP=1 after a run that was killed: mounted already
    elif [ "$m" = dev/shm ]; then
        mount -t tmpfs tmpfs "$ROOT/$m"
    else
        mount --bind "/$m" "$ROOT/$m"
    fi
done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# what Debian's installer writes; debootstrap writes none, and the tests
# resolve "localhost"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"

chroot "$ROOT" sh -c 'command -v make >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null; }'

rm -rf "$ROOT/root/weft"
git clone -q "$REPO" "$ROOT/root/weft"
echo "fresh-debian: make $TARGET at $(git -C "$REPO" rev-parse --short HEAD) in $ROOT/root/weft"
t0=$(date +%s)
status=0
chroot "$ROOT" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=dumb sh -c "cd /root/weft && make $TARGET" || status=$?
echo "fresh-debian: make $TARGET exited $status after $(( $(date +%s) - t0 )) s"
exit $status
