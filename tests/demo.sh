#!/bin/sh
# Demo: install, build, start the bundled DEXMA simulator and mount its demo
# deployment on ./dexma-demo (or $1). `tests/demo.sh stop` unmounts it.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
mnt=${1:-$top/dexma-demo}
state=${XDG_RUNTIME_DIR:-/tmp}/dexmafs-demo
if [ "$mnt" = stop ] || [ "${1:-}" = stop ]; then
	fusermount3 -u "$(cat "$state/mnt")" 2>/dev/null || true
	[ -f "$state/sim.pid" ] && kill "$(cat "$state/sim.pid")" 2>/dev/null || true
	rm -rf "$state"
	echo "demo stopped"
	exit 0
fi
sh tests/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
mkdir -p "$state" "$mnt"
echo "$mnt" >"$state/mnt"
if mountpoint -q "$mnt"; then fusermount3 -u "$mnt"; fi
[ -f "$state/sim.pid" ] && kill "$(cat "$state/sim.pid")" 2>/dev/null || true
python3 tests/sim/dexma_sim.py --port 0 --port-file "$state/port" \
	--log "$state/requests.jsonl" >/dev/null 2>"$state/sim.err" &
echo $! >"$state/sim.pid"
i=0
while [ ! -s "$state/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$state/port")
DEXMA_TOKEN=0123456789abcdef0123 build/src/dexmafs \
	-o "api_url=http://127.0.0.1:$port/v3,cache_dir=$state/cache,deployment=demo" "$mnt"
echo "mounted the demo deployment on $mnt"
echo "try:  ls \"$mnt/demo/devices\""
echo "      head \"$mnt/demo/devices/Main Meter (1200001)/EACTIVE/hourly/\"*2024-10-01*"
echo "stop: tests/demo.sh stop"
