#!/bin/sh
# The Debian package (`make deb`) installed for real into the fresh Debian 12
# root of scripts/fresh-debian.sh (made by a run of it, left in place), with
# apt-get so its Depends resolve: what postinst made (the user weft,
# /etc/weft), the conffiles, `weft serve` run as weft-serve.service runs it
# (the user weft, the operator's /etc/default/weft-serve, its journal in
# /var/lib/weft), the units enabled by hand and a reinstall keeping that
# and the operator's edit, then `apt-get remove` and `purge`, checking what
# stays and what goes (deb-systemd-helper's record among them). Afterwards, or
# after a run stopped half-way, the root is as it was: the user weft and
# /etc/weft, which a purge keeps on purpose, are removed too (the package
# purged, if a failure left it). A manual check, not in make test: it needs
# root, that root, and no fresh-debian.sh running on it (which would remove
# the root).
#
#   sh scripts/deb-check-chroot.sh [DEB]    # default: build/weft_*.deb
#   ROOT=/var/tmp/deb12 sh scripts/deb-check-chroot.sh
#
# Exit status: 0 when every check held, 1 otherwise (each is printed).
set -eu
ROOT=${ROOT:-/tmp/weft-fresh-debian12}
REPO=$(cd "$(dirname "$0")/.." && pwd)
DEB=${1:-$(ls "$REPO"/build/weft_*.deb 2>/dev/null | tail -n 1)}

die() { echo "deb-check-chroot: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (chroot, mounts)"
[ -n "$DEB" ] && [ -f "$DEB" ] || die "no package ${DEB:-build/weft_*.deb}: make deb first"
[ -x "$ROOT/usr/bin/apt-get" ] || die "$ROOT is no Debian root (fresh-debian.sh makes it)"
! pgrep -f fresh-debian.sh >/dev/null || die "fresh-debian.sh is running on it: try later"
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
known() { in_root dpkg-query -W -f='${db:Status-Abbrev}' weft 2>/dev/null || true; }
# dpkg forgets a purged package made from a file, or keeps it as "un"
forgotten() { case "$(known)" in "" | un*) true ;; *) echo "     dpkg: '$(known)'"; false ;; esac; }
forgotten >/dev/null || die "dpkg in $ROOT has a weft already: $(known)"
! in_root getent passwd weft >/dev/null || die "$ROOT has a user weft already"
! in_root getent group weft >/dev/null || die "$ROOT has a group weft already"
# the links `systemctl enable` makes, a mask, deb-systemd-helper's record
WANTS=/etc/systemd/system/multi-user.target.wants
MASK=/etc/systemd/system/weft-agent@5.service
RECORD=/var/lib/systemd/deb-systemd-helper-enabled/weft-serve.service.dsh-also
for d in /etc/weft /var/lib/weft $WANTS/weft-serve.service $WANTS/weft-agent@3.service \
    $MASK $RECORD; do
    if [ -e "$ROOT$d" ] || [ -L "$ROOT$d" ]; then
        die "$ROOT$d exists already (left by an earlier run?)"
    fi
done

# the root as it was found: what the checks below leave (the user, group
# and /etc/weft a purge keeps), or a run stopped half-way (the package
# installed), undone; else the next run would refuse the root
undo() {
    case "$(known)" in "" | un*) ;; *) in_root dpkg --purge weft >/dev/null 2>&1 || true ;; esac
    rm -rf "$ROOT/etc/weft" "$ROOT/var/lib/weft"
    rm -f "$ROOT$WANTS/weft-serve.service" "$ROOT$WANTS/weft-agent@3.service" "$ROOT$MASK" \
        "$ROOT$RECORD"
    # (deluser's note that the root has no cron is not news)
    ! in_root getent passwd weft >/dev/null ||
        in_root deluser --quiet --system weft 2>/dev/null || true
    ! in_root getent group weft >/dev/null || in_root delgroup --quiet --system weft || true
}
MOUNTED=""
STARTED=""
cleanup() {
    [ -n "${SERVE:-}" ] && kill "$SERVE" 2>/dev/null || true
    [ -z "$STARTED" ] || undo
    rm -f "$ROOT/tmp/$(basename "$DEB")" "$ROOT/tmp/weft-serve.log" "$ROOT/tmp/apt.log"
    for m in $MOUNTED; do umount "$ROOT/$m" || true; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for m in proc dev dev/pts; do
    mountpoint -q "$ROOT/$m" && continue
    mount --bind "/$m" "$ROOT/$m"
    MOUNTED="$m $MOUNTED"
done

FAILS=0
check() { # DESCRIPTION COMMAND...: the command's status is the check's
    what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; FAILS=$((FAILS + 1)); fi
}
gone() { [ ! -e "$ROOT$1" ]; }
there() { [ -e "$ROOT$1" ]; }
# a link in the root: its absolute target is not looked for on this machine
linked() { [ -L "$ROOT$1" ]; }
is() { [ "$1" = "$2" ] || { echo "     got '$1', want '$2'"; false; }; }
apt() { # ARGS...: apt-get in the root, its output in ROOT/tmp/apt.log, shown if it fails
    in_root env DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" >"$ROOT/tmp/apt.log" 2>&1 \
        || { cat "$ROOT/tmp/apt.log"; die "apt-get $* failed"; }
}

cp "$DEB" "$ROOT/tmp/"
STARTED=1
echo "== apt-get install ./tmp/$(basename "$DEB")"
apt install "./tmp/$(basename "$DEB")"
grep -e '^The following NEW' -A1 -e '^Setting up weft' -e '^weft:' "$ROOT/tmp/apt.log" || true
version=$(dpkg-deb -f "$DEB" Version)
check "weft --version is $version" is "$(in_root weft --version | head -n 1 | cut -d' ' -f1-2)" \
    "weft $version"
echo "     $(in_root id weft)"
check "weft is a system user, group weft, home /var/lib/weft, no login" is \
    "$(in_root getent passwd weft | awk -F: '{print ($3 < 1000 ? "system" : $3), $6, $7}')" \
    "system /var/lib/weft /usr/sbin/nologin"
check "its group is weft" is "$(in_root id -gn weft)" weft
# names as the root's /etc/passwd and /etc/group give them
check "/etc/weft is root:weft 750" is "$(in_root stat -c '%U:%G %a' /etc/weft)" "root:weft 750"
in_root ls -ld /etc/weft /etc/default/weft-agent /etc/default/weft-serve
check "dpkg lists both /etc/default files as conffiles" is \
    "$(in_root dpkg-query -W -f='${Conffiles}' weft | awk '{print $1}' | sort | tr '\n' ' ')" \
    "/etc/default/weft-agent /etc/default/weft-serve "
check "the units are in /lib/systemd/system" \
    there /lib/systemd/system/weft-serve.service
check "... both" there /lib/systemd/system/weft-agent@.service
check "deb-systemd-helper recorded weft-serve's link, for purge" \
    grep -qx "$WANTS/weft-serve.service" "$ROOT$RECORD"
check "and it is not enabled" sh -c "! [ -L '$ROOT$WANTS/weft-serve.service' ]"

echo "== weft serve as weft-serve.service runs it, the operator's settings written"
# the docs' steps: the secrets; the operator's edits of the conffile; the
# StateDirectory= systemd makes
in_root sh -c 'umask 027; for r in agent client; do
    head -c 24 /dev/urandom | base64 >/etc/weft/$r.token; chgrp weft /etc/weft/$r.token; done
    sed -i -e "s/^WEFT_LISTEN=.*/WEFT_LISTEN=127.0.0.1:0/" -e "s/^WEFT_TLS=.*/WEFT_TLS=\"\"/" \
        -e "s/^WEFT_POLICY=.*/WEFT_POLICY=learned/" \
        -e "s/^WEFT_METRICS=.*/WEFT_METRICS=\"--metrics 127.0.0.1:0\"/" /etc/default/weft-serve
    install -d -m 0750 -o weft -g weft /var/lib/weft'
# the unit's ExecStart= as a shell reads it (the file has no $ and no
# backslash), as the user weft without new privileges, in its directory
chroot "$ROOT" env -i PATH=/usr/bin:/bin sh -c '. /etc/default/weft-serve
    cd /var/lib/weft; umask 0027
    exec setpriv --reuid=weft --regid=weft --init-groups --no-new-privs \
        /usr/bin/weft serve --ports ${WEFT_PORTS} --listen ${WEFT_LISTEN} \
        --policy ${WEFT_POLICY} --journal ${WEFT_JOURNAL} --max-conns ${WEFT_MAX_CONNS} \
        $WEFT_SECRETS $WEFT_TLS $WEFT_METRICS $WEFT_SERVE_OPTS' >"$ROOT/tmp/weft-serve.log" 2>&1 &
SERVE=$!
i=0
while [ $i -lt 50 ] && ! grep -qs "listening on" "$ROOT/tmp/weft-serve.log"; do
    sleep 0.2
    i=$((i + 1))
done
sed 's/^/     /' "$ROOT/tmp/weft-serve.log"
check "weft serve took the installed model (share/weft/ beside its bin/)" \
    grep -q "model /usr/bin/\.\./share/weft/models/weft-policy.msgpack" "$ROOT/tmp/weft-serve.log"
addr=$(sed -n 's/.*listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$ROOT/tmp/weft-serve.log")
check "weft status answers, with the client secret" in_root sh -c \
    "weft status --gateway $addr --token-file /etc/weft/client.token >/dev/null"
check "it runs as weft" is "$(ps -o uid= -p "$SERVE" | tr -d ' ')" "$(in_root id -u weft)"
kill -TERM "$SERVE"
status=0
wait "$SERVE" || status=$?
SERVE=""
check "SIGTERM: it exits 0" is "$status" 0
check "its journal is weft's, in /var/lib/weft" is \
    "$(in_root stat -c %U /var/lib/weft/gateway.journal 2>&1)" weft

echo "== enabled by hand, apt-get install --reinstall: the edits and enablement kept"
# the links `systemctl enable weft-serve weft-agent@3` and `systemctl mask
# weft-agent@5` make (the root has no systemctl)
in_root sh -c "mkdir -p $WANTS && ln -s /lib/systemd/system/weft-serve.service $WANTS/ &&
    ln -s /lib/systemd/system/weft-agent@.service $WANTS/weft-agent@3.service &&
    ln -s /dev/null $MASK"
apt install --reinstall "./tmp/$(basename "$DEB")"
check "/etc/default/weft-serve keeps WEFT_LISTEN=127.0.0.1:0" \
    grep -qx "WEFT_LISTEN=127.0.0.1:0" "$ROOT/etc/default/weft-serve"
check "weft-serve stays enabled" linked "$WANTS/weft-serve.service"
check "weft-agent@3 stays enabled" linked "$WANTS/weft-agent@3.service"

echo "== apt-get remove weft"
apt remove weft
check "remove: /usr/bin/weft gone" gone /usr/bin/weft
check "remove: the units gone" gone /lib/systemd/system/weft-serve.service
check "remove: the model gone" gone /usr/share/weft
check "remove: the edited /etc/default/weft-serve stays" \
    grep -qx "WEFT_LISTEN=127.0.0.1:0" "$ROOT/etc/default/weft-serve"
check "remove: /etc/default/weft-agent stays" there /etc/default/weft-agent
check "remove: /etc/weft and its secrets stay" there /etc/weft/agent.token
check "remove: the journal stays" there /var/lib/weft/gateway.journal
check "remove: the user stays" in_root sh -c 'getent passwd weft >/dev/null'
check "remove: the enablement stays" linked "$WANTS/weft-agent@3.service"
check "remove: dpkg says rc (config files left)" is "$(known)" "rc "

echo "== apt-get purge weft"
apt purge weft
grep '^weft:' "$ROOT/tmp/apt.log" || true
check "purge: /etc/default/weft-serve gone" gone /etc/default/weft-serve
check "purge: /etc/default/weft-agent gone" gone /etc/default/weft-agent
check "purge: /var/lib/weft gone" gone /var/lib/weft
check "purge: weft-serve's link gone (deb-systemd-helper purge)" \
    sh -c "! [ -L '$ROOT$WANTS/weft-serve.service' ]"
check "purge: and its record" gone "$RECORD"
check "purge: weft-agent@3's link gone" sh -c "! [ -L '$ROOT$WANTS/weft-agent@3.service' ]"
check "purge: the operator's mask of weft-agent@5 stays" linked "$MASK"
check "purge: /etc/weft, the operator's secrets in it, stays" there /etc/weft/client.token
check "purge: the user and group weft stay" in_root sh -c \
    'getent passwd weft >/dev/null && getent group weft >/dev/null'
check "purge: dpkg keeps nothing of weft" forgotten

undo
STARTED=""
check "the root is as found: no user weft" sh -c "! chroot '$ROOT' getent passwd weft"
echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
