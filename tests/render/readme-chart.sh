#!/bin/sh
# Regenerates the chart shown in README.md (doc/views-demo.svg) from the
# simulator's demo account, through a real mount: it is the file
# devices/Main Meter (1200001)/hourly/2024-10-01--2024-10-31.svg, the
# side-by-side chart of EACTIVE and POWER in October 2024 (a DST month).
# Needs a build (meson setup build && meson compile -C build) and FUSE.
set -eu
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
cleanup() {
	fusermount3 -u "$work/mnt" 2>/dev/null || true
	kill "$(cat "$work/dexmafs.pid" 2>/dev/null)" 2>/dev/null || true
	kill "$(cat "$work/sim.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
python3 tests/sim/dexma_sim.py --port 0 --port-file "$work/port" >/dev/null 2>&1 &
echo $! >"$work/sim.pid"
i=0
while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir "$work/mnt"
# the simulator's demo token; no config file of whoever runs this
DEXMA_TOKEN=0123456789abcdef0123 XDG_CONFIG_HOME="$work/config" build/src/dexmafs -f \
	-o "api_url=http://127.0.0.1:$(cat "$work/port")/v3,cache_dir=$work/cache,deployment=demo" \
	"$work/mnt" 2>"$work/log" &
echo $! >"$work/dexmafs.pid"
i=0
while ! mountpoint -q "$work/mnt" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p doc
cp "$work/mnt/demo/devices/Main Meter (1200001)/hourly/2024-10-01--2024-10-31.svg" \
	doc/views-demo.svg
echo "wrote doc/views-demo.svg"
