#!/usr/bin/env bash
# The community age test vectors (C2SP CCTV), run against the binary.
# Vectors live outside the project: $KLUIS_CCTV_DIR, else
# ../shared/testdata/age-cctv beside the repository (or one level up, or
# the workplace's /work/shared).
. "$(dirname "$0")/lib.sh"

dir=${KLUIS_CCTV_DIR:-}
if [ -z "$dir" ]; then
	for d in "$KLUIS_SRC/../shared/testdata/age-cctv" \
		"$KLUIS_SRC/../../shared/testdata/age-cctv" \
		/work/shared/testdata/age-cctv; do
		if [ -d "$d" ]; then
			dir=$d
			break
		fi
	done
	dir=${dir:-$KLUIS_SRC/../shared/testdata/age-cctv}
fi
if [ ! -d "$dir" ]; then
	echo "# age CCTV vectors not found at $dir (set KLUIS_CCTV_DIR)"
	skip 'age CCTV vectors' "vectors absent at $dir"
	done_testing
	exit
fi
# cctv.py prints its own TAP lines, one per vector, and the tally.
"$PY" "$KLUIS_SRC/tests/cctv.py" "$KLUIS" "$dir"
