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
echo "man page ok"
