#!/bin/sh
# The systemd user unit: no After=network-online.target (a user manager has
# none), and its wait for the network, as systemd hands it to sh (with $$
# and \\ unescaped), runs and ends at once on a machine with a default route.
set -eu
unit=$1
grep -q '^After=network-online.target' "$unit" && { echo "After=network-online.target"; exit 1; }
cmd=$(sed -n "s/^ExecStartPre=\/bin\/sh -c '\(.*\)'$/\1/p" "$unit" | sed 's/\$\$/$/g; s/\\\\/\\/g')
[ -n "$cmd" ] || { echo "no network wait in $unit"; exit 1; }
if grep -qE '^[^[:space:]]+[[:space:]]+00000000[[:space:]]' /proc/net/route 2>/dev/null; then
	start=$(date +%s)
	sh -c "$cmd"
	[ $(($(date +%s) - start)) -le 2 ] || { echo "the wait did not see the default route"; exit 1; }
fi
grep -q '^Restart=on-failure' "$unit" && grep -q '^StartLimitBurst=' "$unit" || {
	echo "no bounded restart"; exit 1; }
if command -v systemd-analyze >/dev/null; then
	# Only the binary's absence (not installed here) may be reported.
	out=$(systemd-analyze verify "$unit" 2>&1 | grep -v "is not executable\|man dexmafs\|Command 'man" || true)
	[ -z "$out" ] || { echo "$out"; exit 1; }
fi
echo "unit ok"
