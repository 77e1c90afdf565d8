#!/usr/bin/env bash
# kluis export on generated registers: the package verifies with the real
# minisign and decrypts with the real age; an independent checker
# (tests/package_check.py) finds every record selected, valid and normalised,
# the counts adding up and no value of a dropped column; Windows-1252 and
# UTF-8-with-BOM registers give the same records; the ledger resolves record
# numbers to dossier numbers; a one-time protocol refuses a second package.
. "$(dirname "$0")/lib.sh"

GEN=$(dirname "$KLUIS")/tools/kluis-gen
CHECK="$PY $KLUIS_SRC/tests/package_check.py"
SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
DROP=(--drop Dossiernummer --drop Rijksregisternummer --drop Adres --drop Opmerkingen)
# Fewer rows under the sanitizers: same paths, a tenth of the time.
ROWS=100000
[ "$KLUIS_SAN" = 1 ] && ROWS=10000

# keys and protocol, shared by the tests below
{ parties "$T" "$SEED" && "$KLUIS" protocol digest "$T/proto.json" >"$T/digest" &&
  mkdir -p "$T/keys" && mv "$T/disc.minisign.key" "$T/keys/"; } ||
	{ echo "not ok 1 - setup"; exit 1; }

# export_ok NAME REGISTER [options]: export into out-NAME, decrypt to NAME.plain
export_ok() {
	local name=$1 reg=$2
	shift 2
	mkdir -p "out-$name"
	"$KLUIS" export -p proto.json -r "$reg" -t rcpt.pub \
		-s keys/disc.minisign.key -o "out-$name" --ledger "ledger-$name.db" \
		"$@" >"$name.out"
	id=$(sed -n "s/^package   //p" "$name.out")
	[ -n "$id" ]
	minisign -V -q -p disc.minisign.pub -m "out-$name/$id.age"
	age -d -i rcpt.age.key -o "$name.plain" "out-$name/$id.age"
	echo "$id" >"$name.id"
}

t "a dirty register of $ROWS rows: verifies, decrypts, every record checks out" '
	"$GEN" --rows '"$ROWS"' --dirty 5 --seed 11 --out dirty.csv
	export_ok dirty dirty.csv --key-column Dossiernummer
	id=$(cat dirty.id)
	$CHECK proto.json dirty.plain --digest "$(cat digest)" \
		--report out-dirty/$id.report.json --register dirty.csv \
		--encoding utf-8 "${DROP[@]}"
	grep -Eq "^records   read '"$ROWS"' = selected [0-9]+ \+ excluded [1-9][0-9]* \+ rejected [1-9][0-9]*$" dirty.out
'

t 'the report: counts add up, rejections name line/field/reason, no values' '
	id=$(cat dirty.id)
	$PY - out-dirty/$id.report.json dirty.csv <<-EOF
	import csv, json, sys
	r = json.load(open(sys.argv[1]))
	c = r["counts"]
	assert c["read"] == c["selected"] + c["excluded"] + c["rejected"], c
	assert c["read"] == '"$ROWS"', c
	assert c["rejected"] > 0 and c["excluded"] > 0 and c["blanked_values"] > 0, c
	rej = [i for i in r["issues"] if i["action"] == "rejected"]
	assert len({i["line"] for i in rej}) == c["rejected"], (len(rej), c)
	for i in r["issues"]:
	    assert set(i) == {"line", "field", "column", "action", "reason"}, i
	    assert i["line"] >= 2 and i["reason"], i
	reasons = {i["reason"] for i in r["issues"]}
	for want in ("not a date", "required value missing"):
	    assert any(want in x for x in reasons), (want, reasons)
	# no register value in the report (below: grep -F over all of them)
	rows = csv.reader(open(sys.argv[2], encoding="utf-8", newline=""), delimiter=";")
	header = next(rows)
	vals = set()
	for row in rows:
	    vals.update(v for v in row if len(v) >= 8 and "\n" not in v and v not in header)
	open("values.txt", "w", encoding="utf-8").write("\n".join(sorted(vals)) + "\n")
	assert set(r["dropped_columns"]) == {"Dossiernummer", "Rijksregisternummer", "Adres", "Opmerkingen"}, r["dropped_columns"]
	EOF
	[ "$(wc -l <values.txt)" -gt 1000 ]
	! grep -F -f values.txt out-dirty/$id.report.json
'

t 'line numbers in the report are the file'"'"'s real lines (quoted newlines counted)' '
	id=$(cat dirty.id)
	$PY - out-dirty/$id.report.json dirty.csv <<-EOF
	import json, sys
	r = json.load(open(sys.argv[1]))
	lines = open(sys.argv[2], encoding="utf-8", newline="").read().split("\n")
	# a rejected impossible date: the named line holds a record start whose
	# startdatum/datum_stopzetting column is not a valid date
	n = 0
	for i in r["issues"]:
	    if i["reason"] == "not a date" and i["field"] == "startdatum":
	        line = lines[i["line"] - 1]
	        assert line.count(";") >= 8, (i, len(line))
	        n += 1
	assert n > 0
	EOF
'

t 'the ledger resolves record numbers to dossier numbers' '
	id=$(cat dirty.id)
	"$KLUIS" ledger resolve --ledger ledger-dirty.db "$id" 1 >r1
	"$KLUIS" ledger resolve --ledger ledger-dirty.db "$id" 7 >r7
	grep -Eq "^DOS-[0-9]{4}-[0-9]{6}$" r1
	# record 7 of the package is the 7th selected row: find it independently
	$PY - dirty.plain dirty.csv "$(cat r7)" <<-EOF
	import csv, io, sys, unicodedata
	plain = open(sys.argv[1], encoding="utf-8").read().split("\n")
	rec = next(csv.reader([plain[8]]))  # head, header, records 1..7
	rows = csv.reader(open(sys.argv[2], encoding="utf-8", newline=""), delimiter=";")
	header = next(rows)
	dos = [r for r in rows if r and r[0] == sys.argv[3]]
	assert len(dos) >= 1, sys.argv[3]
	gem = dos[0][header.index("Gemeente")]
	assert " ".join(unicodedata.normalize("NFC", gem).split()) == rec[8], (gem, rec[8])
	EOF
	expect_exit 1 "$KLUIS" ledger resolve --ledger ledger-dirty.db "$id" 99999999
	"$KLUIS" ledger list --ledger ledger-dirty.db >list
	grep -q "$id" list
'

t 'a one-time protocol refuses a second package, naming the first; --supersede records why' '
	id=$(cat dirty.id)
	expect_exit 1 "$KLUIS" export -p proto.json -r dirty.csv -t rcpt.pub \
		-s keys/disc.minisign.key -o out-dirty --ledger ledger-dirty.db 2>err
	grep -q "$id" err
	[ "$(ls out-dirty | wc -l)" = 3 ]
	"$KLUIS" export -p proto.json -r dirty.csv -t rcpt.pub -q \
		-s keys/disc.minisign.key -o out-dirty --ledger ledger-dirty.db \
		--supersede "correctie na kwaliteitsmelding" --json >sup.json
	$PY -c "import json,sys; d=json.load(open(\"sup.json\")); assert d[\"package\"][\"supersedes\"] == \"$id\", d[\"package\"]"
	[ "$(ls out-dirty | wc -l)" = 6 ]
'

t 'Windows-1252 and UTF-8 with BOM registers give identical records' '
	"$GEN" --rows 20000 --dirty 5 --seed 5 --encoding cp1252 --out cp.csv
	"$GEN" --rows 20000 --dirty 5 --seed 5 --encoding utf-8-bom --out bom.csv
	! cmp -s cp.csv bom.csv
	export_ok cp cp.csv --encoding cp1252
	export_ok bom bom.csv
	# the same records section, so the same records digest
	sed "1d;\$d" cp.plain >cp.records
	sed "1d;\$d" bom.plain >bom.records
	cmp cp.records bom.records
	# and the manifest differs only in package id and time
	for f in cp bom; do
		{ head -n1 $f.plain; tail -n1 $f.plain; } |
			sed -E "s/\"package_id\":\"[0-9a-f]{32}\"//; s/\"created_at\":\"[^\"]*\"//" >$f.manifest
	done
	cmp cp.manifest bom.manifest
	[ "$(tail -n1 cp.plain | sed "s/.*records_digest//")" = "$(tail -n1 bom.plain | sed "s/.*records_digest//")" ]
	grep -q "windows-1252" cp.out
'

t 'an undeclared Windows-1252 register is detected and said so' '
	expect_exit 0 "$KLUIS" export -n -p proto.json -r cp.csv 2>err >out
	grep -q "read as Windows-1252 (line [0-9]*" err
	grep -q "windows-1252 (detected)" out
'

t 'a register in the second header layout (other aliases and order) exports the same records' '
	"$GEN" --rows 5000 --seed 3 --headers 2 --out h2.csv
	"$GEN" --rows 5000 --seed 3 --headers 1 --out h1.csv
	export_ok h1 h1.csv
	export_ok h2 h2.csv
	sed "1d;\$d" h1.plain >h1.records
	sed "1d;\$d" h2.plain >h2.records
	cmp h1.records h2.records
'

t 'CRLF, comma-separated registers read the same as LF/semicolon ones' '
	"$GEN" --rows 5000 --seed 3 --delimiter , --crlf --out crlf.csv
	export_ok crlf crlf.csv
	sed "1d;\$d" crlf.plain >crlf.records
	cmp h1.records crlf.records
'

t 'a dry run reads and counts but writes nothing' '
	mkdir dry
	"$KLUIS" export -n -p proto.json -r h1.csv -o dry --json >dry.json
	[ -z "$(ls dry)" ]
	$PY -c "import json; d=json.load(open(\"dry.json\")); c=d[\"counts\"]; assert d[\"dry_run\"] and c[\"read\"] == 5000 == c[\"selected\"]+c[\"excluded\"]+c[\"rejected\"]"
'

t 'rows of bare delimiters are skipped like blank lines, and counted' '
	{ head -n 1 h1.csv; printf ";;;;;;;;;;;;;;;;\n ; ;;;;;;;;;;;;;;\n"; tail -n +2 h1.csv; printf ";;;;;;;;;;;;;;;;\n"; } >blank.csv
	"$KLUIS" export -n -p proto.json -r blank.csv --json >blank.json
	$PY -c "import json; d=json.load(open(\"blank.json\")); assert d[\"counts\"][\"read\"] == 5000 and d[\"register\"][\"blank_rows\"] == 3, (d[\"counts\"], d[\"register\"])"
'

t 'a dry run needs no keys, not even in the protocol' '
	"$KLUIS" export -n -q -p "$SEED" -r h1.csv
'

t '--max-rejects: over the limit exits 1 and writes nothing' '
	mkdir mr
	expect_exit 1 "$KLUIS" export -p proto.json -r dirty.csv -t rcpt.pub \
		-s keys/disc.minisign.key -o mr --ledger mr.db --max-rejects 10 2>err
	grep -q "more than 10 records rejected" err
	[ -z "$(ls mr)" ]
	"$KLUIS" ledger list --ledger mr.db >l
	! grep -q "^[0-9a-f]\{32\}" l
'

# KLUIS_EXPORT_BLOCK (test-only, export.h): 0 reads sequentially; a small
# size forces the parallel pass with blocks of that many bytes, so that
# records straddle many block boundaries.
t 'the parallel pass gives what the sequential one gives: quoted newlines across blocks, CRLF, stray quotes, order' '
	$PY - dirty.csv straddle.csv <<-EOF
	import sys
	rows = open(sys.argv[1], "rb").read().split(b"\n")
	out = [rows[0]]
	for i, r in enumerate(x for x in rows[1:] if x):
	    f = r.split(b";")
	    if len(f) > 6:
	        if i % 5 == 0: f[5] = b"\"" + f[5] + b"\n\n x\"\"y\r\n\""
	        if i % 11 == 0: f[6] = f[6] + b"a\"b"
	        if i % 17 == 0: f[4] = b"\"q\"tail"
	    out.append(b";".join(f))
	open(sys.argv[2], "wb").write(b"\r\n".join(out) + b"\r\n")
	EOF
	for b in 0 700 5000; do
		mkdir -p out-b$b
		KLUIS_EXPORT_BLOCK=$b "$KLUIS" export -p proto.json -r straddle.csv -t rcpt.pub \
			-s keys/disc.minisign.key -o out-b$b --ledger ledger-b$b.db \
			-k Dossiernummer --json >b$b.json
		age -d -i rcpt.age.key out-b$b/*.age | sed "1d;\$d" >b$b.records
		$PY - out-b$b/*.report.json >b$b.report <<-EOF
		import json, sys
		r = json.load(open(sys.argv[1]))
		for k in ("package_id", "created_at"): del r[k]
		for k in ("file", "signature", "package_digest"): del r["package"][k]
		print(json.dumps(r, sort_keys=True))
		EOF
		id=$(sed -n "s/.*\"package_id\": \"\([0-9a-f]*\)\".*/\1/p" b$b.json | head -n 1)
		n=$(sed -n "s/.*\"selected\": \([0-9]*\).*/\1/p" b$b.json | head -n 1)
		for k in 1 2 $((n / 2)) $n; do
			"$KLUIS" ledger resolve --ledger ledger-b$b.db "$id" $k
		done >b$b.keys
		# every key, as the ledger stores them (prefix-compressed
		# chunks in record order)
		$PY -c "import sqlite3, sys; [print(*r) for r in sqlite3.connect(sys.argv[1]).execute(\"select first_record, count, hex(keys) from record_keys order by first_record\")]" \
			ledger-b$b.db >>b$b.keys
		expect_exit 1 env KLUIS_EXPORT_BLOCK=$b "$KLUIS" export -p proto.json \
			-r straddle.csv -n --max-rejects 40 2>b$b.maxrej
	done
	[ "$(wc -l <b0.records)" -gt 1000 ]
	[ "$(wc -l <b0.keys)" -gt 4 ]
	grep -q "more than 40 records rejected" b0.maxrej
	for b in 700 5000; do
		cmp b0.records b$b.records
		cmp b0.report b$b.report
		cmp b0.keys b$b.keys
		cmp b0.maxrej b$b.maxrej
	done
'

t 'progress: a line on a terminal, nothing otherwise or with --quiet' '
	ttyrun x "$KLUIS" export -n -p proto.json -r dirty.csv 2>tty.txt >/dev/null
	grep -q "rows/s, 100%" tty.txt
	"$KLUIS" export -n -p proto.json -r dirty.csv 2>pipe.txt >/dev/null
	! grep -q "rows/s" pipe.txt
	ttyrun x "$KLUIS" export -n -q -p proto.json -r dirty.csv 2>q.txt >/dev/null
	! grep -q "rows/s" q.txt
'

t 'the package checker is not a rubber stamp: it catches a bad record' '
	# a record out of the selection and a non-E.164 phone, digest fixed up
	$PY - dirty.plain bad.plain <<-"EOF"
	import hashlib, json, sys
	lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
	rec = lines[2].split(",")
	rec[5], rec[6], rec[3] = "1990-01-01", "2000-01-01", "0470123456"
	lines[2] = ",".join(rec)
	body = ("\n".join(lines[1:-2]) + "\n").encode()
	tail = json.loads(lines[-2])
	tail["records_digest"] = "blake2b-256:" + hashlib.blake2b(body, digest_size=32).hexdigest()
	lines[-2] = json.dumps(tail, separators=(",", ":"))
	open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
	EOF
	! $CHECK proto.json bad.plain >chk
	grep -q "record 1: does not satisfy the selection rule" chk
	grep -q "record 1, field telefoonnummer: phone not E.164" chk
'

done_testing
