#!/usr/bin/env bash
# tools/kluis-gen, the register generator the export tests and the
# benchmark rely on: its rows check out against the protocol with
# libkluis's own rules (--check), and, independently, with Python's csv
# module in every writing it offers (tests/gen_check.py).
. "$(dirname "$0")/lib.sh"

GEN=$(dirname "$KLUIS")/tools/kluis-gen
SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json

t 'kluis-gen --check: every row is what the generator meant, by the protocol' '
	"$GEN" --rows 20000 --dirty 5 --seed 3 --check "$SEED" --out /dev/null 2>err
	grep -q ": 0 problems" err
'

t 'same options, same bytes; another seed, other bytes' '
	"$GEN" --rows 2000 --dirty 5 --seed 8 --out a.csv
	"$GEN" --rows 2000 --dirty 5 --seed 8 --out b.csv
	"$GEN" --rows 2000 --dirty 5 --seed 9 --out c.csv
	cmp a.csv b.csv
	! cmp -s a.csv c.csv
'

t 'the generated files, read independently in every writing' '
	$PY "$KLUIS_SRC/tests/gen_check.py" "$GEN" "$SEED" 20000 >out
	! grep -q "^not ok" out
	[ "$(grep -c "^ok" out)" -ge 20 ]
'

t 'usage errors exit 2' '
	expect_exit 2 "$GEN"
	expect_exit 2 "$GEN" --rows x
	expect_exit 2 "$GEN" --rows 10 --encoding latin1
'

done_testing
