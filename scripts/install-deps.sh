#!/bin/sh
# Installs the Debian packages weft needs to build, test and plot, but only
# those that are missing, so a second run is fast and needs no network.
set -eu
# file: CPack's DEB generator (make deb) runs it to find what dpkg-shlibdeps reads;
# strace: test_units holds the services' calls to their units' SystemCallFilter=
PKGS="build-essential cmake file pkg-config libigraph-dev libopenblas-dev \
libevent-dev libssl-dev openssl libmsgpack-dev libcriterion-dev libjansson-dev libglpk-dev gnuplot-nox \
clang libclang-rt-14-dev valgrind bsdutils procps python3 python3-msgpack locales strace"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
