#!/usr/bin/env bash
# Acceptance: kill -9 at 20 random moments during the receive of a package
# of about a million records (kluis-gen --rows 1400000 --seed 5); after
# each, the workspace holds either nothing (status: no package, 0 records;
# research, vault and packages tables empty; the audit log as init left it,
# and it verifies) or the whole package (only if the kill came after the
# commit: then the loop stops and says so), and a retry afterwards
# succeeds with every selected record.  The moments are spread over the
# whole run (one in each twentieth of (0.05 D, 0.95 D), D the duration of
# an undisturbed receive measured first), so some land while the
# signature is checked and some while rows are written or indexed; each
# round's moment is in its test name.  Under the sanitizers: a
# 100 000-row register and 5 kills.
. "$(dirname "$0")/lib.sh"

GEN=$(dirname "$KLUIS")/tools/kluis-gen
SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
export KLUIS_PASSPHRASE=t0320-passphrase
ROWS=1400000
KILLS=20
if [ "$KLUIS_SAN" = 1 ]; then
	ROWS=100000
	KILLS=5
fi
cd "$T" || exit 2

now() { date +%s.%N; }

# counts DIR: "research vault packages" as SQLite sees them
counts() {
	sqlite3 "$1/kluis.db" 'select count(*) from research;
		select count(*) from vault; select count(*) from packages' |
		tr '\n' ' ' | sed 's/ $//'
}

# status_is DIR none|full: kluis status --json exits 0 and shows no
# package and no records, or the whole package
status_is() {
	"$KLUIS" status --json "$1" >status.json
	$PY - "$2" "${SEL:-0}" "${PERSONS:-0}" "${AUDIT0:-0}" status.json <<-'EOF'
	import json, sys
	want, sel, persons, audit0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
	d = json.load(open(sys.argv[5], encoding="utf-8"))
	if want == "none":
	    assert d["package"] is None, d["package"]
	    assert d["records"] == 0 and d["persons"] == 0, (d["records"], d["persons"])
	    # a killed receive adds no audit entry (it is in the import's transaction)
	    assert d["audit"]["entries"] == audit0, d["audit"]
	else:
	    assert d["package"]["records"] == sel, d["package"]
	    assert d["records"] == sel and d["persons"] == persons, d
	EOF
}

setup() {
	parties "$T" "$SEED" &&
	"$GEN" --rows "$ROWS" --seed 5 --out reg.csv &&
	mkdir -p pkg &&
	"$KLUIS" export -q -p proto.json -r reg.csv -t rcpt.pub \
		-s disc.minisign.key -o pkg --ledger led.db &&
	rm -f reg.csv &&
	PKG=$(ls pkg/*.age) &&
	SEL=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["counts"]["selected"])' \
		"${PKG%.age}.report.json") &&
	"$KLUIS" init ws -p proto.json -i rcpt.age.key -u anna >/dev/null &&
	AUDIT0=$(sqlite3 ws/kluis.db 'select count(*) from audit')
}
setup || { echo "not ok 1 - setup"; exit 1; }
echo "# package of $SEL selected records (of $ROWS rows)"

# The duration D of an undisturbed receive, into a scratch workspace, and
# W, when its first rows reached the write-ahead log (polled: before W
# it logs in, checks the signature and starts decrypting); its counts are
# the reference for "the whole package".
t "an undisturbed receive of $SEL records (the reference)" '
	"$KLUIS" init scratch -p proto.json -i rcpt.age.key -u anna >/dev/null
	t0=$(now)
	"$KLUIS" receive -q scratch "$PKG" &
	pid=$!
	w=
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$w" ] && [ -s scratch/kluis.db-wal ]; then
			w=$(now)
		fi
		sleep 0.02
	done
	wait "$pid"
	t1=$(now)
	echo "$t0 $t1 ${w:-$t1}" |
		awk "{ printf \"%.3f %.3f\n\", \$2 - \$1, \$3 - \$1 }" >DW
	c=$(counts scratch)
	set -- $c
	[ "$1" = "$SEL" ] && [ "$3" = 1 ] && [ "$2" -gt 0 ] && [ "$2" -le "$SEL" ]
	echo "$2" >persons
	rm -rf scratch
'
read -r D W < <(cat DW 2>/dev/null || echo 0 0)
PERSONS=$(cat persons 2>/dev/null || echo 0)
echo "# undisturbed receive: D = $D s, first rows written at W = $W s; $SEL records, $PERSONS persons"
if [ "$PERSONS" = 0 ]; then
	skip "kill -9 during receive (x$KILLS)" 'no reference receive'
	done_testing
	exit
fi

# Rounds 1 and 2 (extra): kill -9 early, at a moment in (0.1 E, 0.9 E),
# E = min(W, 0.05 D): before any row reached the disk, while it logs in,
# checks the signature or starts decrypting.  Rounds 3..: the KILLS random
# moments, the I-th in the I-th of KILLS equal slices of (0.05 D, 0.95 D),
# uniformly within it.  The test name says when.
committed=0
for i in $(seq $((KILLS + 2))); do
	if [ "$i" -le 2 ]; then
		read -r at frac < <(awk -v d="$D" -v w="$W" -v r="$RANDOM" \
			'BEGIN { e = w < 0.05 * d ? w : 0.05 * d;
				 t = e * (0.1 + 0.8 * r / 32768);
				 printf "%.3f %.3f\n", t, (d > 0 ? t / d : 0) }')
		what="early round $i (login, signature check)"
	else
		read -r at frac < <(awk -v d="$D" -v i="$((i - 2))" -v n="$KILLS" \
			-v r="$RANDOM" \
			'BEGIN { f = 0.05 + 0.9 * (i - 1 + r / 32768) / n;
				 printf "%.3f %.3f\n", d * f, f }')
		what="receive $((i - 2))/$KILLS"
	fi
	rm -f state
	t "kill -9 at $at s ($frac D) into $what: nothing or everything" '
		"$KLUIS" receive -q ws "$PKG" 2>recv.err &
		pid=$!
		sleep "$at"
		if kill -9 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null && rc=0 || rc=$?
			# 137: killed; 0: it had just finished
			[ "$rc" = 137 ] || [ "$rc" = 0 ] || { cat recv.err; exit 1; }
		else
			wait "$pid" && rc=0 || { rc=$?; cat recv.err; exit 1; }
		fi
		# how far it got: the uncommitted write-ahead log left behind
		wal=$(stat -c %s ws/kluis.db-wal 2>/dev/null || echo 0)
		c=$(counts ws)
		echo "kill at $at s: receive exit $rc, counts $c, wal $wal bytes" |
			tee round.txt
		if [ "$c" = "0 0 0" ]; then
			status_is ws none
			echo none >state
		else
			# only a finished commit may show anything, and then all of it
			[ "$c" = "$SEL $PERSONS 1" ]
			status_is ws full
			echo full >state
		fi
		"$KLUIS" audit verify ws >/dev/null
	'
	[ -s round.txt ] && sed "s/^/# /" round.txt && rm -f round.txt
	if [ "$(cat state 2>/dev/null)" = full ]; then
		echo "# round $i: the kill came after the commit: the whole package is there; no more rounds"
		committed=1
		break
	fi
	[ -s state ] || break # a failed round: stop, the state is unknown
done

if [ "$committed" = 1 ]; then
	t 'after a committed receive, a second one is refused and changes nothing' '
		expect_exit 1 "$KLUIS" receive -q ws "$PKG" 2>err
		grep -Eq "already (received|accepted)" err
		[ "$(counts ws)" = "$SEL $PERSONS 1" ]
		"$KLUIS" audit verify ws >/dev/null
	'
else
	t 'after the kills, a retry receives the whole package' '
		"$KLUIS" receive -q ws "$PKG"
		[ "$(counts ws)" = "$SEL $PERSONS 1" ]
		status_is ws full
		sqlite3 ws/kluis.db "select count(*) from research" >n
		[ "$(cat n)" = "$SEL" ]
		"$KLUIS" audit verify ws >verify.out
		cat verify.out
		grep -q "chain intact" verify.out
	'
fi

done_testing
