#!/bin/sh
# The whole test suite, as CI runs it: install packages, build, run every
# test (unit, simulator, client, mount), then the unit and mount tests again
# under AddressSanitizer and UndefinedBehaviorSanitizer, and lint the man page.
# Exit status is non-zero when any test fails.
set -eu
cd "$(dirname "$0")/.."
sh tests/install-deps.sh --test
[ -d build ] || meson setup build >/dev/null
meson compile -C build
meson test -C build --print-errorlogs
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
meson compile -C build-asan
# The unit tests and the mount tests again with the sanitized daemon: a
# memory error aborts it, and the mount test that used it fails.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --suite client --suite mount --print-errorlogs
mandoc -Tlint -Wwarning man/dexmafs.1
# The Debian package (issue 11): build, lintian, install, mount through
# mount -t fuse.dexmafs and the README's fstab line, remove.
sh tests/package.sh
echo "all tests passed"
