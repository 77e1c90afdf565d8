#!/usr/bin/env bash
# make bench — kluis against age 1.1.1 and minisign 0.11 on one big file.
#
#   bench/run.sh KLUIS_BINARY
#
# Environment:
#   BENCH_RUNS=3         timed pairs per operation (at least 3 for the report)
#   BENCH_SIZE_MB=1024   input size in MiB
#   BENCH_OPS=...        comma list of operations (default: all; see bench.py)
#   BENCH_RESULTS=FILE   where to write the report (default bench/RESULTS.md)
#   TMPDIR               where the scratch directory goes (default: next to
#                        the kluis binary, i.e. the build directory, so the
#                        data sits on the same disk as the build)
#
# The scratch directory (several GiB at the default size) is removed on exit,
# also on error or interrupt.  See bench/README.md for what is measured.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: bench/run.sh KLUIS_BINARY" >&2
	exit 2
fi
KLUIS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)

for tool in age age-keygen minisign cmp sqlite3; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench: '$tool' not found (make deps installs it)" >&2
		exit 2
	fi
done
if [ ! -x /usr/bin/time ]; then
	# Peak RSS needs GNU time: see bench/README.md.
	echo "bench: /usr/bin/time (GNU time) not found: apt-get install time" >&2
	exit 2
fi

base=${TMPDIR:-$(dirname "$KLUIS")}
mkdir -p "$base"
work=$(mktemp -d "$base/kluis-bench.XXXXXX")
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 "$top/bench/bench.py" \
	--kluis "$KLUIS" --work "$work" \
	--results "${BENCH_RESULTS:-$top/bench/RESULTS.md}"
