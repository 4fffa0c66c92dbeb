#!/bin/sh
# tests/demo.sh twice in a row without stop (each time the mount must work
# and be the only one), then stop: the mount and the state are gone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/dexmafs-demo-test-XXXXXX)
export DEXMAFS_DEMO_STATE="$tmp/state"
mnt=$tmp/mnt
fail() { echo "FAIL: $*"; sh "$here/demo.sh" stop >/dev/null 2>&1 || true; exit 1; }
for run in 1 2; do
	sh "$here/demo.sh" "$mnt" >"$tmp/out.$run" 2>&1 || { cat "$tmp/out.$run"; fail "run $run"; }
	ls "$mnt/demo/devices" | grep -q "Main Meter" || fail "run $run: no devices"
	n=$(grep -c " $mnt fuse" /proc/mounts || true)
	[ "$n" = 1 ] || fail "run $run: $n mounts on $mnt"
done
# The suggested head shows one CSV: its header names the zone, no twin
# (.svg, .xlsx) is printed.
suggested=$(sed -n 's/^ *head /head /p' "$tmp/out.2")
[ -n "$suggested" ] || fail "no head command suggested"
sh -c "$suggested" >"$tmp/head" 2>&1 || fail "$suggested: $(cat "$tmp/head")"
[ "$(wc -l <"$tmp/head")" = 10 ] || fail "$suggested printed $(wc -l <"$tmp/head") lines"
head -n 1 "$tmp/head" | grep -q 'local_time (Europe/Madrid)[,;]utc_time[,;]EACTIVE (kWh)$' ||
	fail "$suggested: not the CSV: $(head -n 1 "$tmp/head")"
grep -q -e '==>' -e '<svg' -e 'PK' "$tmp/head" && fail "$suggested shows more than the CSV"
sh "$here/demo.sh" stop >/dev/null
grep -q " $mnt fuse" /proc/mounts && fail "still mounted after stop"
[ -e "$DEXMAFS_DEMO_STATE" ] && fail "state left after stop"
rmdir "$mnt"
rm -rf "$tmp"
echo "demo ran twice and stopped"
