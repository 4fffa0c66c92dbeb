#!/bin/sh
# The whole test suite, as CI runs it: install packages, build, run every
# test (unit, simulator, client, mount), then the unit and mount tests again
# under AddressSanitizer and UndefinedBehaviorSanitizer, lint the man page,
# and fuzz for about two minutes.
# Exit status is non-zero when any test fails.
set -eu
cd "$(dirname "$0")/.."
sh tests/install-deps.sh --test
# Every C source is formatted as .clang-format says.
clang-format --dry-run --Werror src/*.c src/*.h include/*.h tests/unit/*.c \
	tests/tools/*.c tests/fuzz/*.c
[ -d build ] || meson setup build >/dev/null
meson compile -C build
meson test -C build --print-errorlogs
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
meson compile -C build-asan
# The unit tests, the client tests and most mount tests again with the
# sanitized daemon (the suite 'sanitize' in tests/meson.build says which):
# a memory error aborts it, and the mount test that used it fails. An
# allocation too big to make returns NULL (the code's -ENOMEM, which
# test_buf checks) instead of aborting.
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --suite sanitize --print-errorlogs
sh tests/man_check.sh man/dexmafs.1
# Fuzzing (clang only): the API answer decoders, name sanitising, the
# file-name and date-range parser and the CSV renderer, 30 s each. A crash
# fails the run; the reproducer is kept in build-fuzz/.
if command -v clang >/dev/null; then
	[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null
	meson compile -C build-fuzz
	meson test -C build-fuzz --suite fuzz --print-errorlogs
	sh tests/fuzz/run.sh build-fuzz "${DX_FUZZ_SECONDS:-30}"
else
	echo "no clang: tests/install-deps.sh --test should have installed it" >&2
	exit 1
fi
# The Debian package (issue 11): build, lintian, install, mount through
# mount -t fuse.dexmafs and the man page's fstab line, remove.
sh tests/package.sh
echo "all tests passed"
