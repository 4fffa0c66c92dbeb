#!/bin/sh
# The man page: mandoc lint clean down to style warnings, and a header that
# names the volume, not "BSD General Commands Manual" (groff 1.22 adds
# "BSD" unless the page says otherwise). Exit 77 (skip) without mandoc.
set -eu
page=${1:-$(dirname "$0")/../man/dexmafs.1}
command -v mandoc >/dev/null || { echo "SKIP: no mandoc"; exit 77; }
out=$(mandoc -Tlint -Wstyle "$page" 2>&1 | grep -v 'outdated mandoc.db' || true)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
for render in "mandoc -Tascii" "groff -mandoc -Tascii"; do
	command -v ${render%% *} >/dev/null || continue
	head=$($render "$page" 2>/dev/null | head -1)
	case $head in
	*BSD*) echo "$render header: $head"; exit 1 ;;
	*"General Commands Manual"*) ;;
	*) echo "$render header lacks the volume: $head"; exit 1 ;;
	esac
done
# A list of quoted commands and cross references renders as written (a
# .Ql on one line with other macros once swallowed them).
if ! mandoc -Tascii -Owidth=300 "$page" | grep -qF "(\`ls -l', du(1), rsync(1), \`cp -a', tar(1))"; then
	echo "the (ls -l, du(1), rsync(1), cp -a, tar(1)) list renders wrong"
	exit 1
fi
# The section the example config points to exists in the page.
example=$(dirname "$page")/../dist/config.example
if [ -f "$example" ]; then
	section=$(sed -n 's/.*See dexmafs(1), section \(.*\)\.$/\1/p' "$example")
	grep -qx ".Sh $section" "$page" || { echo "config.example: no section '$section'"; exit 1; }
fi
echo "man page ok"
