#!/usr/bin/env bash
# Run every test against one or more build directories and print one tally.
#
#   tests/run.sh BUILD_DIR...
#
# For each build: the unit tests, the fuzz corpus replay, and every shell
# test in tests/sh (t*.sh, in order).  Each program prints TAP lines; this
# script counts "ok" and "not ok" and ends with "N passed, N failed".
# A program that exits non-zero without a "not ok" line counts as a failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
skipped=0
failed_names=()
wrap=
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { # label command...
	local label=$1
	shift
	$wrap "$@" >"$log" 2>&1
	local rc=$?
	local p f s
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^ok .*# SKIP' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $label exited with status $rc" >>"$log"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		printf '%-50s %4d passed, %d FAILED\n' "$label" "$p" "$f"
		grep -E '^(not ok|#)' "$log" | sed 's/^/    /' | head -n 60
		failed_names+=("$label")
	elif [ "$s" -gt 0 ]; then
		printf '%-50s %4d passed (%d skipped)\n' "$label" "$p" "$s"
		skipped=$((skipped + s))
		grep -E '^ok .*# SKIP' "$log" | sed 's/.*# SKIP */skipped: /' |
			sort | uniq -c | sort -rn | sed 's/^ */    /' | head -n 3
	else
		printf '%-50s %4d passed\n' "$label" "$p"
	fi
}

for build in "$@"; do
	if [ ! -x "$build/kluis" ]; then
		echo "tests/run.sh: $build/kluis is missing; run make first" >&2
		exit 2
	fi
	san=0
	case "$build" in *asan* | *tsan*) san=1 ;; esac
	export KLUIS="$top/$build/kluis" KLUIS_BUILD="$top/$build" \
		KLUIS_SRC="$top" KLUIS_SAN=$san
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87"
	# A data race ends the program with 66, so the test that ran it fails.
	export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
	wrap=
	case "$build" in *tsan*)
		# ThreadSanitizer cannot map its shadow memory under a kernel
		# with more address randomisation than it knows (vm.mmap_rnd_bits
		# above 28); without randomisation it can.
		if ! "$build/kluis" --version >/dev/null 2>&1 &&
			setarch "$(uname -m)" -R "$build/kluis" --version \
				>/dev/null 2>&1; then
			wrap="setarch $(uname -m) -R"
			echo "# $build: without address randomisation (setarch -R)"
		fi
		;;
	esac
	echo "== $build"
	run "$build: unit tests" "$build/unit_tests"
	for replay in "$build"/fuzz/replay_*; do
		[ -x "$replay" ] || continue
		t=${replay##*/replay_}
		run "$build: fuzz corpus $t" "$replay" "fuzz/corpus/$t"
	done
	for t in tests/sh/t[0-9]*.sh; do
		run "$build: ${t#tests/sh/}" bash "$t"
	done
done

echo
if [ "$fail" -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
[ "$skipped" -gt 0 ] && echo "($skipped of the passed tests were skipped; see above)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
