#!/bin/sh
# Regenerates the chart shown in README.md (doc/views-demo.svg and .png)
# from the simulator's demo account: the side-by-side view of Main Meter
# (1200001), EACTIVE and POWER, hourly, October 2024 (a DST month), as the
# mount would render devices/Main Meter (1200001)/hourly/2024-10-01--2024-10-31.svg.
# Needs a build (meson setup build && meson compile -C build).
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
work=$(mktemp -d)
trap 'kill "$(cat "$work/sim.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 tests/sim/dexma_sim.py --port 0 --port-file "$work/port" >/dev/null 2>&1 &
echo $! >"$work/sim.pid"
i=0
while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
url="http://127.0.0.1:$(cat "$work/port")/v3"
export DEXMA_TOKEN=0123456789abcdef0123
build/tests/dxprobe "$url" readings 1200001 EACTIVE hourly 2024-10-01 2024-10-31 DELTA \
	>"$work/eactive.json"
build/tests/dxprobe "$url" readings 1200001 POWER hourly 2024-10-01 2024-10-31 AVG \
	>"$work/power.json"
cat >"$work/case.txt" <<CASE
range=2024-10-01--2024-10-31
res=hourly
title=Main Meter (1200001)
timezone=Europe/Madrid
series=eactive.json DELTA EACTIVE (kWh)
series=power.json AVG POWER (kW)
CASE
mkdir -p doc
build/tests/dxrender "$work" svg >doc/views-demo.svg
echo "wrote doc/views-demo.svg"
