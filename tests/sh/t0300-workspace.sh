#!/usr/bin/env bash
# kluis init, receive, status, reidentify, audit: a generated dirty register
# exported with kluis export and received into a workspace.  Counts match the
# export report; every record's code resolves to the right person; no
# name, e-mail or phone number of the package is anywhere on disk in the
# workspace, also mid-import; codes carry no order and differ between
# workspaces; the audit log has an entry per command and its chain holds.
. "$(dirname "$0")/lib.sh"

GEN=$(dirname "$KLUIS")/tools/kluis-gen
SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
CHECK=$KLUIS_SRC/tests/receive_check.py
ROWS=100000
WALMIN=4000000
[ "$KLUIS_SAN" = 1 ] && ROWS=10000 && WALMIN=500000
export KLUIS_PASSPHRASE=een-lange-zin

setup() {
	parties "$T" "$SEED" && cd "$T" &&
	"$GEN" --rows "$ROWS" --seed 11 --dirty 8 --out reg.csv &&
	mkdir -p pkg &&
	"$KLUIS" export -q -p proto.json -r reg.csv -t rcpt.pub \
		-s disc.minisign.key -o pkg --ledger led.db &&
	cp pkg/*.age p.age && cp pkg/*.age.minisig p.age.minisig &&
	cp pkg/*.report.json report.json &&
	"$KLUIS" decrypt -i rcpt.age.key p.age >plain.txt
}
setup || { echo "not ok 1 - setup"; exit 1; }

t 'init makes a private workspace (0700, files 0600) with nothing received' '
	"$KLUIS" init ws -p proto.json -i rcpt.age.key -u anna >init.out
	grep -q "created for user anna (admin + custodian)" init.out
	sed -n "s/^audit key \([0-9a-f]\{64\}\)\$/\1/p" init.out >audit.key
	[ -s audit.key ]
	[ "$(stat -c %a ws)" = 700 ]
	for f in ws/*; do [ "$(stat -c %a "$f")" = 600 ] || { ls -la ws; exit 1; }; done
	"$KLUIS" status --json ws >st0.json
	$PY -c "
import json; d = json.load(open(\"st0.json\"))
assert d[\"package\"] is None and d[\"records\"] == 0 and d[\"persons\"] == 0
assert d[\"audit\"][\"entries\"] == 1 and d[\"audit\"][\"signed\"] == 1
assert d[\"protocol\"][\"id\"] == \"opgroeien-serv-2021\""
	"$KLUIS" audit verify ws
'

t 'init refuses an existing directory, a non-recipient identity, a protocol without keys' '
	expect_exit 2 "$KLUIS" init ws -p proto.json -i rcpt.age.key 2>e1
	grep -q "already exists" e1
	expect_exit 1 "$KLUIS" init ws-o -p proto.json -i other.age.key 2>e2
	grep -q "not the recipient" e2
	no_file ws-o
	expect_exit 1 "$KLUIS" init ws-n -p "$SEED" -i rcpt.age.key 2>e3
	grep -q "public keys are not in the protocol" e3
	no_file ws-n
	[ -z "$(ls -d ws-*.new-* 2>/dev/null)" ]
'

t 'receive: counts match the export report; persons < records' '
	"$KLUIS" receive ws p.age --json >rx.json
	$PY -c "
import json
x = json.load(open(\"rx.json\")); r = json.load(open(\"report.json\"))[\"counts\"]
assert x[\"records\"] == r[\"selected\"], (x, r)
assert x[\"accepted\"] + x[\"rejected\"] == x[\"records\"], x
assert x[\"rejected\"] == 0, x   # export let only valid records through
assert 0 < x[\"persons\"] < x[\"accepted\"], x
print(x[\"records\"], x[\"persons\"])"
	"$KLUIS" status --json ws >st1.json
	$PY -c "
import json
d = json.load(open(\"st1.json\")); x = json.load(open(\"rx.json\"))
assert d[\"records\"] == x[\"accepted\"] and d[\"persons\"] == x[\"persons\"], d
assert d[\"package\"][\"id\"] == x[\"package\"]
assert d[\"retention\"][\"period\"] == \"P1Y\"
assert d[\"retention\"][\"days_left\"] in (365, 366), d[\"retention\"]
assert d[\"package\"][\"received_at\"][4:] == d[\"retention\"][\"end\"][4:]
assert int(d[\"retention\"][\"end\"][:4]) == int(d[\"package\"][\"received_at\"][:4]) + 1
assert d[\"deadlines\"][0][\"due\"] == d[\"retention\"][\"end\"]"
	"$KLUIS" status ws >st1.txt
	grep -q "^retention P1Y from receipt: until 20" st1.txt
'

t 'every record'"'"'s code resolves via reidentify to the right person' '
	$PY "$CHECK" codes ws/kluis.db >codes.txt
	"$KLUIS" reidentify ws --codes codes.txt --purpose "acceptatietest" --json >ids.jsonl
	[ "$(wc -l <ids.jsonl)" -eq "$(wc -l <codes.txt)" ]
	$PY "$CHECK" check plain.txt ws/kluis.db ids.jsonl
	# The checker fails when a record points at the wrong person.
	cp ws/kluis.db wrong.db
	sqlite3 wrong.db "update research set code = (select code from vault where person = 2) where record = (select min(record) from research where code <> (select code from vault where person = 2))"
	! $PY "$CHECK" check plain.txt wrong.db ids.jsonl 2>/dev/null
'

t 'one code: shown to a custodian with a purpose; mistyped and unknown codes refused' '
	c=$(head -n 1 codes.txt)
	"$KLUIS" reidentify ws "$c" --purpose "contact over enquête" >one.txt
	grep -q "^code      $c" one.txt
	grep -q "^e-mailadres" one.txt
	lower=$(echo "$c" | tr A-Z a-z | tr -d -)
	"$KLUIS" reidentify ws "$lower" --purpose x >one2.txt
	cmp one.txt one2.txt
	bad=$(echo "$c" | sed "s/.\$/$( [ "${c: -1}" = 0 ] && echo 1 || echo 0)/")
	expect_exit 2 "$KLUIS" reidentify ws "$bad" --purpose x 2>bad.err
	grep -q "wrong check symbol" bad.err
	expect_exit 2 "$KLUIS" reidentify ws "$c" 2>nop.err
	grep -q "purpose" nop.err
	sqlite3 ws/kluis.db "select outcome, object, purpose from audit where command = '"'"'reidentify'"'"'" >re.log
	grep -q "^shown|$c|contact over enquête\$" re.log
	grep -q "^refused: wrong check symbol" re.log
'

# identities PLAIN OUT: every name, first name, e-mail and phone number of
# the package, one per line, for grep -F -f.  Values shorter than 7 bytes
# are left out: in tens of megabytes of random sealed bytes, 30 000 short
# names would match by chance now and then (7 bytes: about once in 10^5
# runs); e-mails and phones are long.
# Left out: a value that is part of what the workspace legitimately holds
# in the clear, the research attributes ("Martens" in the municipality
# Sint-Martens-Latem) and the protocol text (its signatories' names); how
# many is printed, and must be few.
identities() {
	$PY - "$1" proto.json >"$2" <<-"PYEOF"
	import csv, io, sys
	data = open(sys.argv[1], encoding="utf-8").read()
	rows = list(csv.reader(io.StringIO(data.split("\n", 1)[1].rsplit("\n", 2)[0] + "\n")))
	cols = rows[0]
	ident = ("naam", "voornaam", "e-mailadres", "telefoonnummer")
	want, clear = set(), set()
	for r in rows[1:]:
	    for f, v in zip(cols, r):
	        if f in ident:
	            want.update(x for x in v.splitlines() if len(x.encode()) >= 7)
	        else:
	            clear.add(v)
	clear = "\0".join(clear) + "\0" + open(sys.argv[2], encoding="utf-8").read()
	left = sorted(v for v in want if v not in clear)
	print("# identities: %d, left out as part of clear data: %d" % (
	    len(want), len(want) - len(left)), file=sys.stderr)
	assert len(want) - len(left) < len(want) / 100
	print("\n".join(left))
	PYEOF
}

# What an e-mail address looks like to the checks below.  Sealed bytes are
# random: a loose pattern (x@y.ab) turns up by chance about once in 30 MB
# of them, so the pattern asks for what real addresses have — three
# characters on each side and a common top-level domain.  The package's
# own addresses are checked exactly, with grep -F, besides.
EMAIL_RE="[A-Za-z0-9._%+-]{3,}@[A-Za-z0-9-]{3,}\\.(be|com|net|org|eu|nl)([^A-Za-z]|\$)"

# no_identity DIR: no identity of the package in any file of DIR.
no_identity() {
	local f n=0
	for f in "$1"/*; do
		n=$((n + 1))
		if grep -a -F -q -f ids.txt "$f"; then
			echo "identity found in $f"
			return 1
		fi
		if grep -a -E -q "$EMAIL_RE" "$f"; then
			echo "an e-mail address in $f"
			return 1
		fi
	done
	[ "$n" -gt 0 ]
}

t 'no name, e-mail or phone number of the package is in any workspace file' '
	identities plain.txt ids.txt
	[ "$(wc -l <ids.txt)" -gt 1000 ]
	grep -q @ ids.txt && grep -q "^+32" ids.txt
	# The check finds what it looks for: the decrypted package is full of them.
	grep -a -F -q -f ids.txt plain.txt
	no_identity ws
	! strings ws/kluis.db | grep -E "$EMAIL_RE"
	# The pattern finds what it looks for.
	grep -a -E -q "$EMAIL_RE" plain.txt
'

t 'no identity on disk mid-import either (kill -9: database, WAL and shm)' '
	"$KLUIS" init ws-k -p proto.json -i rcpt.age.key -u anna >/dev/null
	"$KLUIS" receive -q ws-k p.age & pid=$!
	# Kill once the import has written a good part of its transaction to
	# the write-ahead log (it holds uncommitted research and vault pages).
	for i in $(seq 1000); do
		[ "$(stat -c %s ws-k/kluis.db-wal 2>/dev/null || echo 0)" -gt "$WALMIN" ] && break
		sleep 0.01
	done
	kill -9 $pid
	wait $pid 2>/dev/null || true
	ls ws-k >files.txt
	grep -q "kluis.db-wal" files.txt && grep -q "kluis.db-shm" files.txt
	[ "$(stat -c %s ws-k/kluis.db-wal)" -gt "$WALMIN" ]
	identities plain.txt ids.txt
	no_identity ws-k
	"$KLUIS" status ws-k >/dev/null
'

t 'codes do not follow input order and differ between two workspaces' '
	"$KLUIS" init ws2 -p proto.json -i rcpt.age.key -u bert >/dev/null
	"$KLUIS" receive -q ws2 p.age
	$PY - ws/kluis.db ws2/kluis.db <<-"PYEOF"
	import sqlite3, sys
	def ranks(xs):
	    order = sorted(range(len(xs)), key=xs.__getitem__)
	    r = [0] * len(xs)
	    for k, i in enumerate(order): r[i] = k
	    return r
	def rho(a, b):
	    ra, rb = ranks(a), ranks(b); n = len(a)
	    return 1 - 6 * sum((x - y) ** 2 for x, y in zip(ra, rb)) / (n * (n * n - 1))
	one, two = (dict(sqlite3.connect(p).execute("select record, code from research"))
	            for p in sys.argv[1:])
	assert one.keys() == two.keys()
	recs = sorted(one)
	# Persons in the order they were met against their codes.
	v = sqlite3.connect(sys.argv[1]).execute("select first_record, code from vault").fetchall()
	r1 = rho([a for a, _ in v], [b for _, b in v])
	# The same record in the two workspaces.
	r2 = rho([one[k] for k in recs], [two[k] for k in recs])
	same = sum(one[k] == two[k] for k in recs)
	print("persons", len(v), "rho(order, code)", round(r1, 4), "rho(ws1, ws2)", round(r2, 4))
	assert len(v) > 1000 and abs(r1) < 0.05 and abs(r2) < 0.05 and same == 0
	# The same linking: records share a code in one workspace iff in the other.
	pairs = {}
	for k in recs: pairs.setdefault(one[k], set()).add(two[k])
	assert all(len(s) == 1 for s in pairs.values())
	PYEOF
'

t 'the audit log has an entry per command, and its chain checks out' '
	"$KLUIS" audit list ws --json >audit.jsonl
	$PY -c "
import json
e = [json.loads(l) for l in open(\"audit.jsonl\")]
cmds = [x[\"command\"] for x in e]
assert cmds[0] == \"init\" and cmds[1] == \"receive\", cmds
assert cmds.count(\"reidentify\") == 4, cmds   # 3 shown, 1 mistyped (no --purpose: never started)
assert [x[\"seq\"] for x in e] == list(range(1, len(e) + 1))
for x in e: assert x[\"purpose\"] or x[\"outcome\"].startswith(\"refused\"), x
" || { cat audit.jsonl; exit 1; }
	"$KLUIS" audit verify ws >verify.out
	grep -q "chain intact" verify.out
	cp -r ws ws-t
	sqlite3 ws-t/kluis.db "update audit set purpose = '"'"'iets anders'"'"' where seq = 3"
	expect_exit 1 "$KLUIS" audit verify ws-t 2>tamper.err
	grep -q "entry 3.*chain is broken" tamper.err
	# Against the key printed at init (kept outside the workspace).
	"$KLUIS" audit verify ws --key "$(cat audit.key)" | grep -q "the one given"
	other=$(printf "%064d" 7)
	expect_exit 1 "$KLUIS" audit verify ws --key "$other" 2>key.err
	grep -q "not the one given" key.err
	# A swapped public key (to pass off a re-signed log) is caught at login.
	cp -r ws ws-s
	sqlite3 ws-s/kluis.db "update meta set value = '"'"'$other'"'"' where key = '"'"'audit_sign_pk'"'"'"
	expect_exit 1 "$KLUIS" reidentify ws-s "$(head -n 1 codes.txt)" --purpose x 2>swap.err
	grep -q "audit key recorded in the workspace is not" swap.err
'

done_testing
