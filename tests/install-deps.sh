#!/bin/sh
# Installs the Debian 12 packages dexmafs needs to build, run and test.
# Skips apt-get entirely when everything is already there.
set -e
pkgs="gcc pkg-config meson ninja-build libfuse3-dev fuse3 libcurl4-openssl-dev
libjansson-dev liblmdb-dev libcmocka-dev libinih-dev python3 tzdata ca-certificates curl"
pkgs="$pkgs zlib1g-dev"  # the views: .xlsx twins (deflate)
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs gnumeric rsync mandoc valgrind tar coreutils findutils grep"
	# the views' readers: openpyxl, LibreOffice in German, xmllint, Chromium
	pkgs="$pkgs python3-openpyxl python3-pandas libreoffice-calc-nogui libxml2-utils chromium locales"
	# Samba mount test and the Debian package (tests/package.sh)
	pkgs="$pkgs samba smbclient debhelper dpkg-dev lintian adduser"
	pkgs="$pkgs clang libfuzzer-14-dev"  # tests/fuzz
	pkgs="$pkgs clang-format"  # the format check in tests/run.sh
fi
# LibreOffice is tested under de_DE.UTF-8 (tests/render/): generate it.
german_locale() {
	locale -a 2>/dev/null | grep -qx 'de_DE.utf8' && return 0
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
}
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ "${1:-}" = "--test" ] && german_locale
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "${1:-}" = "--test" ] && german_locale
exit 0
