#!/bin/sh
# Runs every test: unit binaries, fuzz corpus replays, CLI tests, engine
# tests, end-to-end tests.  Each prints "ok - ..." / "not ok - ..." lines;
# this script counts them and ends with "N passed, N failed".
# TESTS="pattern" runs only the test files whose path matches;
# TEST_TIMEOUT (seconds, default 600) bounds each test file.
O=${O:-build}
export O
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
out=$(mktemp -d)
passed=0
failed=0
failed_files=""

run_one() {
	name=$1
	shift
	case "$name" in *${TESTS:-}*) ;; *) return ;; esac
	log="$out/$(echo "$name" | tr '/' '_').log"
	start=$(date +%s)
	timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
	rc=$?
	[ "$rc" = 124 ] && echo "not ok - $name timed out after ${TEST_TIMEOUT:-600}s" >>"$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited $rc without a failing check" >>"$log"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	secs=$(( $(date +%s) - start ))
	if [ "$f" != 0 ]; then
		echo "FAIL $name ($p passed, $f failed, ${secs}s)"
		grep -E '^not ok |^# ' "$log" | head -n 30 | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
		failed_files="$failed_files $name"
	else
		echo "ok   $name ($p passed, ${secs}s)"
	fi
}

for t in "$O"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
for t in "$O"/tests/replay_*; do
	n=$(basename "$t" | sed 's/^replay_//')
	[ -x "$t" ] && run_one "fuzz/$n" "$t" "tests/fuzz/corpus/$n"
done
for dir in tests/cli tests/engine tests/e2e; do
	for t in "$dir"/*.sh; do
		[ -f "$t" ] && run_one "$t" sh "$t"
	done
done
rm -rf "$out"
[ -n "$failed_files" ] && echo "failed:$failed_files"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
