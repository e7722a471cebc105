#!/bin/sh
# The Debian package (`make deb`) and its units under a real systemd: a copy
# of the fresh Debian 12 root of scripts/fresh-debian.sh, given systemd and
# booted with systemd-nspawn (systemd as its PID 1, sharing this machine's
# network), where an operator's steps of docs/gateway.md ("Running as
# services") run as written: apt install the package, the secrets and a TLS
# certificate in /etc/weft, the settings in /etc/default, `systemctl enable
# --now` of the gateway and four agents, a workload submitted over TLS, a
# reload, the learned policy, a SIGKILL the restart policy answers, an
# agent refused for good, stop, reinstall while running, remove and purge.
# Each is checked through systemctl, journalctl and weft status. A manual
# check, not in make test: it needs root, that root, and systemd-nspawn
# (package systemd-container, installed here if missing); CI containers
# have no systemd to boot. The copy is removed afterwards (KEEP=1 keeps it,
# with systemd installed, for a quicker rerun).
#
#   sh scripts/systemd-check-nspawn.sh [DEB]    # default: build/weft_*.deb
#   BASE=/var/tmp/deb12 ROOT=/var/tmp/sd12 KEEP=1 sh scripts/systemd-check-nspawn.sh
#
# PORT (default 17470) and PORT + 2000 (metrics) must be free on loopback.
# Exit status: 0 when every check held, 1 otherwise (each is printed).
set -eu
BASE=${BASE:-/tmp/weft-fresh-debian12}
ROOT=${ROOT:-/tmp/weft-systemd-root}
PORT=${PORT:-17470}
MPORT=$((PORT + 2000))
REPO=$(cd "$(dirname "$0")/.." && pwd)
DEB=${1:-$(ls "$REPO"/build/weft_*.deb 2>/dev/null | tail -n 1)}

die() { echo "systemd-check-nspawn: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (systemd-nspawn)"
[ -n "$DEB" ] && [ -f "$DEB" ] || die "no package ${DEB:-build/weft_*.deb}: make deb first"
if ! command -v systemd-nspawn >/dev/null; then
    echo "systemd-check-nspawn: installing systemd-container"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null
fi
for p in $PORT $MPORT; do
    ! ss -Hltn "sport = :$p" | grep -q . || die "port $p is taken on this machine: PORT=..."
done
if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
    [ -x "$BASE/usr/bin/apt-get" ] || die "$BASE is no Debian root (fresh-debian.sh makes it)"
    [ ! -e "$ROOT" ] || die "$ROOT exists but has no systemd: remove it first"
fi

BOOT=""
OURS="" # ROOT is removed only once it is known to be this script's copy
cleanup() {
    if [ -n "$BOOT" ]; then
        kill -TERM "$BOOT" 2>/dev/null || true # nspawn: powers the container off
        i=0
        while kill -0 "$BOOT" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
        kill -KILL "$BOOT" 2>/dev/null || true
    fi
    rm -f "$ROOT.nspawn.log" "$ROOT.boot.log" # shown already where they told of a failure
    [ "${KEEP:-0}" = 1 ] || [ -z "$OURS" ] || rm -rf "$ROOT"
}
# set before the copy: one cut short, or a root whose apt-get failed, is not
# left for the next run to refuse
trap cleanup EXIT
trap 'exit 1' INT TERM
if [ ! -x "$ROOT/lib/systemd/systemd" ]; then
    echo "systemd-check-nspawn: copying $BASE (without its /root) to $ROOT"
    OURS=1
    mkdir -p "$ROOT"
    (cd "$BASE" && tar --exclude=./root --exclude=./proc --exclude=./sys --exclude=./dev \
        -cf - .) | tar -C "$ROOT" -xf -
    mkdir -p "$ROOT/root" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
fi
# --keep-unit --register=no: this machine's PID 1 is no systemd to ask for a
# scope or to register the machine with
NSPAWN="systemd-nspawn -q --keep-unit --register=no -D $ROOT"
echo "systemd-check-nspawn: systemd, dbus and openssl into the root"
# and what a kept root's last run left (the package, the user weft and
# /etc/weft a purge keeps) undone, so each run installs afresh
$NSPAWN --setenv=DEBIAN_FRONTEND=noninteractive sh -c '
    apt-get install -y -qq systemd systemd-sysv dbus openssl >/root/apt.log 2>&1 || exit 1
    dpkg --purge weft >/dev/null 2>&1 || true
    rm -rf /etc/weft /var/lib/weft
    ! getent passwd weft >/dev/null || deluser --quiet --system weft 2>/dev/null || true
    ! getent group weft >/dev/null || delgroup --quiet --system weft || true' \
    2>"$ROOT.nspawn.log" ||
    { cat "$ROOT/root/apt.log" "$ROOT.nspawn.log"; die "apt-get in $ROOT failed"; }
rm -f "$ROOT.nspawn.log" # (nspawn's note that it keeps its mounts, without a systemd here)
OURS=1 # a kept root too, now that nspawn ran in it (it refuses this machine's /)

cp "$DEB" "$ROOT/root/weft.deb"
cp "$REPO/tests/gateway/small.weft" "$ROOT/root/small.weft"
# the same jobs under other ids: a second run the gateway has not seen
awk '/^job /{$2 = $2 + 100} {print}' "$REPO/tests/gateway/small.weft" >"$ROOT/root/again.weft"
setsid $NSPAWN -b --machine weft-systemd-check >"$ROOT.boot.log" 2>&1 </dev/null &
BOOT=$!
# its systemd: the child of nspawn whose command is systemd
in_sd() {
    nsenter -t "$SD" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root "$@"
}
SD=""
i=0
while [ $i -lt 60 ]; do
    SD=$(pgrep -P "$BOOT" -x systemd || true)
    if [ -n "$SD" ]; then
        state=$(in_sd systemctl is-system-running 2>/dev/null || true)
        case "$state" in running | degraded) break ;; esac
    fi
    sleep 1
    i=$((i + 1))
done
[ -n "$SD" ] || { cat "$ROOT.boot.log"; die "the container did not boot"; }
echo "systemd-check-nspawn: booted: $(in_sd systemctl is-system-running || true)," \
    "$(in_sd systemctl --version | head -n 1)"
rm -f "$ROOT.boot.log"

FAILS=0
check() { # DESCRIPTION COMMAND...: the command's status is the check's
    what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; FAILS=$((FAILS + 1)); fi
}
is() { [ "$1" = "$2" ] || { echo "     got '$1', want '$2'"; false; }; }
# none of the paths (globs) exists in the container; `! ls A B` would hold
# as soon as one of them is gone. $@ unquoted inside: the globs expand there
# (the paths hold no blanks)
none() { # PATH...
    left=$(in_sd sh -c 'ls -d $@ 2>/dev/null' sh "$@" | tr '\n' ' ')
    [ -z "$left" ] || { echo "     left: $left"; false; }
}
has() { # TEXT PATTERN: grep -E
    printf '%s\n' "$1" | grep -q -E -- "$2" || { printf '     no /%s/ in:\n%s\n' "$2" "$1"; false; }
}
active() { in_sd systemctl is-active "$@" 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
prop() { in_sd systemctl show -p "$1" --value "$2"; }
log() { in_sd journalctl -u "$1" --no-pager -o cat; }
last_log() { log "$1" | tail -n 1; }
# waits up to 15 s for COMMAND's output to hold PATTERN (a service's start
# or restart takes its time), then prints that output
await() { # PATTERN COMMAND...
    pat=$1
    shift
    i=0
    while ! "$@" 2>/dev/null | grep -q -E -- "$pat" && [ $i -lt 30 ]; do
        sleep 0.5
        i=$((i + 1))
    done
    "$@" 2>/dev/null || true
}
apt() {
    in_sd env DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" >"$ROOT/root/apt.log" 2>&1 ||
        { cat "$ROOT/root/apt.log"; die "apt-get $* failed"; }
    cat "$ROOT/root/apt.log"
}
GW=127.0.0.1:$PORT
CLIENT="--gateway $GW --token-file /etc/weft/client.token --tls-ca /etc/weft/ca.pem"

out=$(apt install /root/weft.deb)
check "install: says it enabled and started nothing" has "$out" "neither enabled nor started"
check "install: nothing enabled" is "$(in_sd systemctl is-enabled weft-serve || true)" disabled
check "install: the user weft and /etc/weft (root:weft 0750)" \
    is "$(in_sd stat -c '%U:%G %a' /etc/weft)" "root:weft 750"

# docs/gateway.md, "Running as services": the secrets, a CA and the
# gateway's certificate (for 127.0.0.1 here), the settings
in_sd sh -eu -c '
for role in agent client; do
    (umask 027; head -c 24 /dev/urandom | base64 >/etc/weft/$role.token)
    chgrp weft /etc/weft/$role.token
done
cd /root
EC="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $EC -keyout ca.key -out ca.pem -days 365 -subj /CN=weft-ca 2>/dev/null
openssl req $EC -keyout gw.key -out gw.csr -subj /CN=weft-gateway 2>/dev/null
printf "subjectAltName=IP:127.0.0.1\n" >gw.ext
openssl x509 -req -in gw.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
    -extfile gw.ext -out gw.pem 2>/dev/null
install -m 0640 -g weft gw.pem /etc/weft/gateway.pem
install -m 0640 -g weft gw.key /etc/weft/gateway.key
install -m 0640 -g weft ca.pem /etc/weft/ca.pem'
in_sd sed -i "s/^WEFT_LISTEN=.*/WEFT_LISTEN=$GW/;
    s/^WEFT_METRICS=.*/WEFT_METRICS=\"--metrics 127.0.0.1:$MPORT\"/" /etc/default/weft-serve
in_sd sed -i "s/^WEFT_GATEWAY=.*/WEFT_GATEWAY=$GW/" /etc/default/weft-agent
in_sd systemctl enable --now -q weft-serve weft-agent@0 weft-agent@1 weft-agent@2 weft-agent@3
out=$(await "listening on" log weft-serve)
check "enable --now: the gateway and four agents run" \
    is "$(active weft-serve weft-agent@0 weft-agent@1 weft-agent@2 weft-agent@3)" \
    "active active active active active"
check "the gateway runs as weft" is "$(prop User weft-serve)" weft
check "its journal: listening with TLS, metrics on" \
    has "$out" "listening on $GW with TLS .*policy sebf.*metrics on"

out=$(in_sd timeout 120 weft submit /root/small.weft $CLIENT 2>&1 || true)
check "a workload submitted over TLS: its 5 jobs finish" has "$out" "^5 jobs, average JCT"
st=$(in_sd weft status $CLIENT 2>&1 || true)
check "weft status: 4 agents on ports 0..3" has "$st" "agents connected +4 +on ports 0, 1, 2, 3"
check "weft status: 5 jobs finished" has "$st" "jobs finished +5"

in_sd systemctl reload weft-serve
in_sd systemctl reload weft-agent@1
check "reload: the gateway reads its tokens and certificate again" \
    has "$(await "SIGHUP: TLS" log weft-serve)" "SIGHUP: TLS certificate /etc/weft/gateway.pem re"
check "reload: an agent says what it reloads" \
    has "$(await SIGHUP log weft-agent@1)" "SIGHUP: nothing to reload"

in_sd sed -i 's/^WEFT_POLICY=.*/WEFT_POLICY=learned/' /etc/default/weft-serve
in_sd systemctl restart weft-serve
check "restart: the journal replayed, the learned policy's model found" \
    has "$(await "policy learned" log weft-serve)" \
    "policy learned\\); journal .*5 jobs, 5 finished; model /usr/.*sha256"
out=$(in_sd timeout 120 weft submit /root/again.weft $CLIENT 2>&1 || true)
check "the learned policy schedules 5 new jobs (MemoryDenyWriteExecute=yes)" \
    has "$out" "^5 jobs, average JCT"
check "weft status: policy learned, 10 jobs finished" \
    has "$(in_sd weft status $CLIENT 2>&1 | tr -s ' ')" "policy learned allocator madd"

before=$(prop NRestarts weft-serve)
in_sd systemctl kill -s KILL weft-serve
out=$(await "10 jobs, 10 finished" last_log weft-serve)
check "SIGKILL: restarted (Restart=on-failure)" \
    is "$(active weft-serve) $(prop NRestarts weft-serve)" "active $((before + 1))"
check "... from its journal" has "$out" "10 jobs, 10 finished"

in_sd systemctl start weft-agent@9 || true
await failed active weft-agent@9 >/dev/null
check "an agent for a port the gateway lacks: failed, status 1, not restarted" \
    is "$(active weft-agent@9) $(prop ExecMainStatus weft-agent@9) $(prop NRestarts weft-agent@9)" \
    "failed 1 0"
check "... saying why" has "$(log weft-agent@9)" "--id 9 is not one of the gateway's ports"
in_sd systemctl reset-failed weft-agent@9

in_sd systemctl stop weft-serve
check "stop: exit status 0" is "$(prop ExecMainStatus weft-serve)" 0
in_sd systemctl start weft-serve
await "listening on" last_log weft-serve >/dev/null

pids() { echo "$(prop MainPID weft-serve) $(prop MainPID weft-agent@0)"; }
# an image build's or a chroot's policy-rc.d forbids starting services: the
# package's scripts must ask it (deb-systemd-invoke), not systemctl
in_sd sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d'
was=$(pids)
apt install --reinstall /root/weft.deb >/dev/null
sleep 2
check "reinstall under a policy-rc.d that forbids: nothing restarted" \
    is "$(active weft-serve weft-agent@0) $(pids)" "active active $was"
in_sd rm /usr/sbin/policy-rc.d
apt install --reinstall /root/weft.deb >/dev/null
sleep 2
now=$(pids)
check "reinstall: the gateway and the agent restarted with the new weft" \
    is "$(active weft-serve weft-agent@0) $([ "${now% *}" != "${was% *}" ] && echo gateway) \
$([ "${now#* }" != "${was#* }" ] && echo agent)" "active active gateway agent"

# (the logs read first: a journalctl that failed would show no refusal either)
logs=$(in_sd journalctl --no-pager -o cat -u 'weft*' 2>&1 || true)
check "no call refused by the units' SystemCallFilter (EPERM) in any weft log" \
    sh -c 'printf "%s\n" "$1" | grep -q "listening on" &&
        ! printf "%s\n" "$1" | grep -i "not permitted"' sh "$logs"

apt remove weft >/dev/null
check "remove: the services stopped" is "$(active weft-serve weft-agent@0)" "inactive inactive"
check "remove: settings and secrets kept" \
    in_sd test -f /etc/default/weft-serve -a -f /etc/weft/agent.token -a -d /var/lib/weft
out=$(apt purge weft)
check "purge: says it keeps the secrets" has "$out" "/etc/weft is not empty"
check "purge: settings, journal and enable links gone" \
    none '/etc/default/weft-*' /var/lib/weft '/etc/systemd/system/*/weft*'
check "purge: the secrets and the user weft stay" in_sd sh -c \
    'test -f /etc/weft/agent.token && getent passwd weft >/dev/null'

if [ "$FAILS" -ne 0 ]; then
    echo "systemd-check-nspawn: $FAILS checks failed"
    exit 1
fi
echo "systemd-check-nspawn: every check held"
