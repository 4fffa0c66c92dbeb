#!/bin/sh
# Demo: install, build, start the bundled DEXMA simulator and mount its demo
# deployment on ./dexma-demo (or $1). `tests/demo.sh stop` unmounts it.
# Runnable again and again: a second run stops what the first left (the
# daemon, the simulator, a stale port file, a dead mount) and starts anew.
#
# State (simulator pid and port, request log, cache) lives in .demo/ of
# this checkout, so two checkouts never share it; DEXMAFS_DEMO_STATE
# overrides the place. DX_DEXMAFS names a dexmafs binary to use instead of
# building one (the tests do that).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
state=${DEXMAFS_DEMO_STATE:-$top/.demo}

# Unmounts the demo's mount point (also a dead one) and ends the simulator.
stop_demo() {
	if [ -f "$state/mnt" ]; then
		old=$(cat "$state/mnt")
		if grep -q " $old fuse" /proc/mounts 2>/dev/null; then
			fusermount3 -u "$old" 2>/dev/null || fusermount3 -uz "$old" 2>/dev/null || true
		fi
	fi
	if [ -f "$state/sim.pid" ]; then
		kill "$(cat "$state/sim.pid")" 2>/dev/null || true
	fi
	rm -f "$state/sim.pid" "$state/port" "$state/mnt"
}

if [ "${1:-}" = stop ]; then
	stop_demo
	rm -rf "$state"
	echo "demo stopped"
	exit 0
fi
mnt=${1:-$top/dexma-demo}
case $mnt in /*) ;; *) mnt=$(pwd)/$mnt ;; esac
if [ -n "${DX_DEXMAFS:-}" ]; then
	dexmafs=$DX_DEXMAFS
else
	sh tests/install-deps.sh
	[ -d build ] || meson setup build >/dev/null
	meson compile -C build >/dev/null
	dexmafs=build/src/dexmafs
fi
mkdir -p "$state"
stop_demo
mkdir -p "$mnt"
echo "$mnt" >"$state/mnt"
python3 tests/sim/dexma_sim.py --port 0 --port-file "$state/port" \
	--log "$state/requests.jsonl" >/dev/null 2>"$state/sim.err" &
echo $! >"$state/sim.pid"
i=0
while [ ! -s "$state/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$state/port" ]; then
	echo "demo: the simulator did not start; see $state/sim.err" >&2
	exit 1
fi
port=$(cat "$state/port")
DEXMA_TOKEN=0123456789abcdef0123 "$dexmafs" \
	-o "api_url=http://127.0.0.1:$port/v3,cache_dir=$state/cache,deployment=demo" "$mnt"
echo "mounted the demo deployment on $mnt"
echo "try:  ls \"$mnt/demo/devices\""
echo "      head \"$mnt/demo/devices/Main Meter (1200001)/EACTIVE/hourly/2024-10-01--2024-10-31.csv\""
echo "stop: tests/demo.sh stop"
