#!/bin/sh
# quickstart.sh - set up a fresh Debian machine and build gridedge, then either run the demo
# (`./quickstart.sh demo`) or the whole test suite (`./quickstart.sh test`).
# Installs only the Debian packages that are missing (apt-get; as root, or through sudo).
set -eu
cd "$(dirname "$0")"

mode=${1:-demo}
case "$mode" in
    demo|test) ;;
    *) echo "usage: ./quickstart.sh demo|test" >&2; exit 2 ;;
esac

# Build tools and the libraries of DESIGN.md ("Dependencies").
packages="build-essential autoconf automake libtool pkg-config python3 openssl
    libexpat1-dev libxml2-dev libxml2-utils libxmlsec1-dev libssl-dev libevent-dev libcoap3-dev libjansson-dev
    libsqlite3-dev libinih-dev libmodbus-dev libsystemd-dev libcunit1-dev"
# The test suite also renders the status page in headless Chromium.
if [ "$mode" = test ]; then
    packages="$packages chromium xmlsec1"
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "quickstart: installing:$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq $missing
fi

jobs=$(nproc 2>/dev/null || echo 2)
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$jobs"

if [ "$mode" = demo ]; then
    if ./gridedge help demo >/dev/null 2>&1; then
        exec ./gridedge demo
    fi
    exec ./gridedge --version
fi

# Run the whole suite; show each test program's CUnit summary even when all pass.
status=0
make -j"$jobs" check || status=$?
for log in tests/*.log; do
    [ -f "$log" ] || continue
    echo "== $log"
    sed -n '/Run Summary/,$p' "$log"
done
[ -f test-suite.log ] && [ "$status" -ne 0 ] && cat test-suite.log
exit "$status"
