#!/bin/sh
# Fuzzes each libFuzzer target for a bounded time, starting from seeds
# made from the fixtures and tests/data (plus what earlier runs found, in
# BUILD/fuzz-corpus/). A crash, leak, timeout or sanitizer report fails
# with the reproducer saved as BUILD/fuzz-crash-TARGET-*.
#     tests/fuzz/run.sh BUILD [SECONDS_PER_TARGET]   (default 30)
set -eu
build=$1
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for t in json names dates csv; do
	corpus=$build/fuzz-corpus/$t
	python3 "$here/seeds.py" "$t" "$corpus" >/dev/null
	echo "fuzz_$t: $secs s"
	if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$build/fuzz-crash-$t-" \
		"$corpus" >"$build/fuzz-$t.log" 2>&1; then
		tail -40 "$build/fuzz-$t.log"
		echo "fuzz_$t: FAILED (reproducer: $build/fuzz-crash-$t-*)"
		status=1
	else
		grep -E "stat::number_of_executed_units" "$build/fuzz-$t.log" || true
	fi
done
exit $status
