#!/bin/sh
# Installs the Debian 12 packages dexmafs needs to build, run and test.
# Skips apt-get entirely when everything is already there.
set -e
pkgs="gcc pkg-config meson ninja-build libfuse3-dev fuse3 libcurl4-openssl-dev
libjansson-dev liblmdb-dev libcmocka-dev libinih-dev python3 tzdata ca-certificates curl"
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs gnumeric rsync mandoc valgrind tar coreutils findutils grep"
	pkgs="$pkgs clang libfuzzer-14-dev"  # tests/fuzz
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
