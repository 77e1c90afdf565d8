#!/usr/bin/env bash
# kluis protocol check / show / digest / set-keys on the shipped protocols
# and on broken copies of them: every error reported with its JSON path,
# the digest stable under reformatting and sensitive to any value, keys
# written in by set-keys.
. "$(dirname "$0")/lib.sh"

SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
OTHER=$KLUIS_SRC/protocols/vdab-steunpunt-2024.json

# mutate IN OUT PYTHON: load IN as `d`, run PYTHON on it, write OUT.
mutate() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False, indent=2)
EOF
}

# expect_problem FILE PATH FRAGMENT: check exits 1 and names PATH: FRAGMENT.
expect_problem() {
	expect_exit 1 "$KLUIS" protocol check "$1" >out 2>err || return 1
	grep -F -- "$2: " out | grep -qF -- "$3" || {
		echo "no '$2: …$3…' in:"; cat out; return 1; }
}

t 'both shipped protocols pass check (warnings only)' '
	for f in "$SEED" "$OTHER"; do
		"$KLUIS" protocol check "$f" >out
		grep -q ": 0 errors, " out
		grep -q "sha256:[0-9a-f]\{64\}" out
	done
'

t 'check warns that the seed protocol has no keys yet' '
	"$KLUIS" protocol check "$SEED" >out
	grep -q "warning: \$.parties.discloser.keys: discloser keys not set" out
	grep -q "warning: \$.parties.recipient.keys: recipient keys not set" out
'

t 'the seed has exactly the 13 fields of art. 3, the identifying four first' '
	"$KLUIS" protocol show "$SEED" >out
	grep -q "^fields (13):" out
	for f in naam voornaam e-mailadres telefoonnummer; do
		grep -Eq "^  $f +[a-z]+ +identifying " out
	done
	for f in vergunningstype startdatum datum_stopzetting sociaal_statuut \
		gemeente subsidievoorwaarden ikt capaciteit rechtsvorm; do
		grep -Eq "^  $f +[a-z]+ +attribute " out
	done
	grep -q "^transfer     once, age+minisign by email" out
	grep -q "^retention    1 year from receipt, then aggregate statistics only" out
	grep -q "sia (Stichting Innovatie & Arbeid)" out
'

t 'an unknown key is reported with its path' '
	mutate "$SEED" bad.json "d[\"fields\"][2][\"colour\"] = \"red\""
	expect_problem bad.json "\$.fields[2].colour" "unknown key \"colour\""
'

t 'a wrong type is reported with its path' '
	mutate "$SEED" bad.json "d[\"fields\"][3][\"type\"] = \"datum\""
	expect_problem bad.json "\$.fields[3].type" "unknown value \"datum\""
	mutate "$SEED" bad2.json "d[\"fields\"][0][\"required\"] = \"yes\""
	expect_problem bad2.json "\$.fields[0].required" "must be true or false"
	mutate "$SEED" bad3.json "d[\"retention\"][\"period\"] = 1"
	expect_problem bad3.json "\$.retention.period" "must be a string"
'

t 'a duplicate field name is reported' '
	mutate "$SEED" bad.json "d[\"fields\"][1][\"name\"] = \"naam\""
	expect_problem bad.json "\$.fields[1].name" "duplicate field name \"naam\""
'

t 'a selection rule naming an unknown field is reported' '
	mutate "$SEED" bad.json "d[\"selection\"][\"rule\"] = {\"is_empty\": {\"field\": \"stopdatum\"}}"
	expect_problem bad.json "\$.selection.rule.is_empty.field" "stopdatum"
'

t 'missing retention is reported' '
	mutate "$SEED" bad.json "del d[\"retention\"]"
	expect_problem bad.json "\$.retention" "missing"
'

t 'an enum without values is reported' '
	mutate "$SEED" bad.json "
for f in d[\"fields\"]:
    if f[\"type\"] == \"enum\":
        f[\"values\"] = []
        break"
	expect_exit 1 "$KLUIS" protocol check bad.json >out || exit 1
	grep -E "\\\$\.fields\[[0-9]+\]\.values: must not be empty" out
'

t 'an invalid public key is reported' '
	mutate "$SEED" bad.json "d[\"parties\"][\"recipient\"][\"keys\"][\"age\"] = \"age1notakey\"; d[\"parties\"][\"recipient\"][\"keys\"][\"minisign\"] = \"RWQ\""
	expect_problem bad.json "\$.parties.recipient.keys.age" "invalid age recipient"
'

t 'every error is reported, not just the first' '
	mutate "$SEED" bad.json "
d[\"fields\"][2][\"colour\"] = 1
d[\"fields\"][3][\"type\"] = \"datum\"
del d[\"retention\"]
d[\"transfer\"][\"periodicity\"] = \"sometimes\""
	expect_exit 1 "$KLUIS" protocol check bad.json >out || exit 1
	grep -q "\$.fields\[2\].colour" out
	grep -q "\$.fields\[3\].type" out
	grep -q "\$.retention: missing" out
	grep -q "\$.transfer.periodicity" out
	grep -q "bad.json: 4 errors" out
'

t 'invalid JSON names line and column; a missing file exits 2' '
	printf "{\n  \"id\": \"x\",\n  oops\n}\n" >bad.json
	expect_exit 1 "$KLUIS" protocol check bad.json >out || exit 1
	grep -q "not valid JSON: line 3" out
	expect_exit 2 "$KLUIS" protocol check nope.json 2>err || exit 1
	grep -q "nope.json" err
'

t 'the digest ignores layout and key order' '
	d1=$("$KLUIS" protocol digest "$SEED")
	"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump(d, open(\"compact.json\",\"w\"), separators=(\",\",\":\"))" "$SEED"
	"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump(d, open(\"sorted.json\",\"w\"), indent=7, sort_keys=True, ensure_ascii=True)" "$SEED"
	"$PY" -c "
import json,sys
def rev(o):
    if isinstance(o, dict): return {k: rev(o[k]) for k in reversed(list(o))}
    if isinstance(o, list): return [rev(x) for x in o]
    return o
json.dump(rev(json.load(open(sys.argv[1]))), open(\"reversed.json\",\"w\"), indent=1)" "$SEED"
	test "$("$KLUIS" protocol digest compact.json)" = "$d1"
	test "$("$KLUIS" protocol digest sorted.json)" = "$d1"
	test "$("$KLUIS" protocol digest reversed.json)" = "$d1"
	echo "$d1" | grep -Eqx "sha256:[0-9a-f]{64}"
'

t 'the digest changes on any semantic change' '
	d1=$("$KLUIS" protocol digest "$SEED")
	n=0
	for change in \
		"d[\"retention\"][\"period\"] = \"P2Y\"" \
		"d[\"fields\"][5][\"label\"] += \" \"" \
		"d[\"fields\"][0][\"aliases\"].append(\"naam2\")" \
		"d[\"selection\"][\"rule\"][\"any\"][0][\"year_between\"][\"to\"] = 2021" \
		"d[\"security_measures\"].reverse()" \
		"d[\"x_note\"] = \"an extension counts too\"" \
		"d[\"version\"] = \"1.1\""; do
		n=$((n + 1))
		mutate "$SEED" c$n.json "$change"
		d2=$("$KLUIS" protocol digest c$n.json)
		test "$d2" != "$d1" || { echo "unchanged by: $change"; exit 1; }
	done
'

t 'the digest is the same for NFC and NFD spellings of a string' '
	mutate "$SEED" nfc.json "d[\"title\"] = \"Cr\u00e8che\""
	mutate "$SEED" nfd.json "d[\"title\"] = \"Cre\u0300che\""
	test "$("$KLUIS" protocol digest nfc.json)" = "$("$KLUIS" protocol digest nfd.json)"
'

t 'set-keys writes both parties'"'"' keys; check is then silent about keys' '
	"$KLUIS" keygen --out disc -W --label "Opgroeien regie" >/dev/null
	"$KLUIS" keygen --out rcpt -W --label SERV >/dev/null
	cp "$SEED" p.json
	d1=$("$KLUIS" protocol digest p.json)
	"$KLUIS" protocol set-keys p.json --discloser disc.pub --recipient rcpt.pub -o keyed.json >out
	grep -q "written to keyed.json" out
	cmp -s p.json "$SEED"
	"$KLUIS" protocol check keyed.json >out
	! grep -q "keys not set" out
	test "$("$PY" -c "import json; print(json.load(open(\"keyed.json\"))[\"parties\"][\"recipient\"][\"keys\"][\"age\"])")" = "$(grep ^age1 rcpt.pub)"
	test "$("$PY" -c "import json; print(json.load(open(\"keyed.json\"))[\"parties\"][\"discloser\"][\"keys\"][\"minisign\"])")" = "$(sed -n "s/^# minisign: //p" disc.pub)"
	test "$("$KLUIS" protocol digest keyed.json)" != "$d1"
	"$KLUIS" protocol show keyed.json | grep -q "keys: age1"
	# In place, and the result is stable: setting the same keys again
	# changes nothing.
	"$KLUIS" protocol set-keys p.json --discloser disc.pub --recipient rcpt.pub >/dev/null
	test "$("$KLUIS" protocol digest p.json)" = "$("$KLUIS" protocol digest keyed.json)"
	cmp p.json keyed.json
	# Field order of the original is kept.
	test "$("$PY" -c "import json; print(list(json.load(open(\"keyed.json\")))[:3])")" = "$("$PY" -c "import json,sys; print(list(json.load(open(sys.argv[1])))[:3])" "$SEED")"
'

t 'set-keys refuses the same key file for both parties' '
	"$KLUIS" keygen --out one -W >/dev/null
	cp "$SEED" p.json
	expect_exit 1 "$KLUIS" protocol set-keys p.json --discloser one.pub --recipient one.pub 2>err || exit 1
	grep -q "the same key as the discloser" err
	cmp p.json "$SEED"
'

t 'protocol usage errors exit 2' '
	expect_exit 2 "$KLUIS" protocol 2>/dev/null || exit 1
	expect_exit 2 "$KLUIS" protocol frobnicate x 2>err || exit 1
	grep -q "unknown subcommand" err
	expect_exit 2 "$KLUIS" protocol set-keys "$SEED" 2>err || exit 1
	grep -q "required" err
	"$KLUIS" protocol --help | grep -q "kluis protocol render"
'

done_testing
