#!/usr/bin/env bash
# kluis protocol render: the shipped protocols in Markdown and HTML, each
# checked against its own JSON by tests/protocol_render_check.py (fields,
# retention and frequency in Dutch words, services, every security
# measure, parties, articles 1-10, annex; for HTML a well-formed,
# self-contained page).  Also: -o, the default format, an unknown format,
# escaping of hostile text from the file, determinism, and the keys and
# digest once set-keys has written them.
. "$(dirname "$0")/lib.sh"

SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
OTHER=$KLUIS_SRC/protocols/vdab-steunpunt-2024.json
CHECK=$KLUIS_SRC/tests/protocol_render_check.py

# mutate IN OUT PYTHON: load IN as `d`, run PYTHON on it, write OUT.
mutate() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False, indent=2)
EOF
}

for f in "$SEED" "$OTHER"; do
	name=$(basename "$f" .json)
	for fmt in md html; do
		t "render $name as $fmt: everything in the file is there" '
			"$KLUIS" protocol render "'"$f"'" --format '"$fmt"' >out.'"$fmt"' 2>err
			test ! -s err
			"$PY" "$CHECK" "'"$f"'" out.'"$fmt"' '"$fmt"'
		'
	done
done

t 'the seed in Markdown reads like the signed protocol' '
	"$KLUIS" protocol render "$SEED" >out.md
	grep -q "^# PROTOCOL VOOR DE ELEKTRONISCHE MEDEDELING VAN PERSOONSGEGEVENS" out.md
	grep -qF "Dit protocol wordt gesloten conform artikel 8, §1, van het decreet van 18 juli 2008" out.md
	grep -qF "vertegenwoordigd door Katrien Verhegge, administrateur-generaal" out.md
	grep -qF "hierna: “SERV”;" out.md
	grep -qF "**NA TE HEBBEN UITEENGEZET**" out.md
	grep -qF "**E.** De functionaris voor gegevensbescherming van Opgroeien regie heeft op 11 maart 2021 een positief advies" out.md
	grep -qF "**WORDT OVEREENGEKOMEN WAT VOLGT:**" out.md
	grep -qF "door SERV gedurende 1 jaar bewaard worden vanaf ontvangst van de gegevens" out.md
	grep -qF "enkel geaggregeerde statistieken" out.md
	grep -qF "  - Stichting Innovatie & Arbeid" out.md
	grep -qF "moet voorafgaandelijk aan Opgroeien regie worden gemeld" out.md
	grep -qF "De persoonsgegevens zullen eenmalig worden opgevraagd." out.md
	grep -qF "meldt zij dat onmiddellijk aan Opgroeien regie, die na onderzoek binnen 1 maand" out.md
	grep -qF "zonder onredelijke vertraging en uiterlijk binnen 72 uur" out.md
	grep -qF "Er zijn momenteel geen verwerkers." out.md
	grep -qF "Opgemaakt te Brussel, op 15 maart 2021, in evenveel exemplaren als er partijen zijn." out.md
	grep -qF "## Bijlage 1 — Projectfiche" out.md
	grep -qF "herinnering na 14 dagen" out.md
	grep -qF "| Datum stopzetting | \`datum_stopzetting\` | datum | kenmerk | nee | record geweigerd |" out.md
	grep -qF "| Capaciteit | \`capaciteit\` | geheel getal | kenmerk | nee | waarde gewist | 1–500 |" out.md
	# the standard recital is in the file already: said once, not twice
	test "$(grep -c "De partijen wensen overeenkomstig" out.md)" -eq 1
	grep -c "nog niet ingesteld" out.md | grep -qx 4
'

t 'the recurring protocol: monthly, end date, 5 years, processor' '
	"$KLUIS" protocol render "$OTHER" >out.md
	grep -qF "De persoonsgegevens zullen maandelijks worden meegedeeld, voor het laatst op 30 juni 2026." out.md
	grep -qF "gedurende 5 jaar" out.md
	grep -qF "volledig vernietigd" out.md
	grep -qF "**Voorbeeld Datacenter nv**, Voorbeeldlaan 1, 9000 Gent" out.md
	grep -qF "deelt de gevraagde persoonsgegevens aan niemand verder mee" out.md
	grep -qF "meldt zij dat binnen 5 dagen aan VDAB" out.md
	! grep -q "eenmalig" out.md
'

t 'the digest in the rendering is the one protocol digest prints' '
	for f in "$SEED" "$OTHER"; do
		d=$("$KLUIS" protocol digest "$f")
		case "$d" in sha256:*) ;; *) echo "digest: $d"; exit 1 ;; esac
		"$KLUIS" protocol render "$f" | grep -qF "\`$d\`"
		"$KLUIS" protocol render "$f" --format html | grep -qF "<code>$d</code>"
	done
'

t '-o writes the file, identical to standard output; nothing on stdout' '
	"$KLUIS" protocol render "$SEED" --format html >stdout.html
	"$KLUIS" protocol render "$SEED" --format html -o file.html >out 2>err
	test ! -s out
	test ! -s err
	cmp stdout.html file.html
	"$KLUIS" protocol render "$SEED" -o file.md
	"$KLUIS" protocol render "$SEED" --format md | cmp - file.md
'

t 'the default format is Markdown' '
	"$KLUIS" protocol render "$SEED" >default.out
	"$KLUIS" protocol render "$SEED" --format md >md.out
	cmp default.out md.out
	head -n 1 default.out | grep -q "^# "
'

t 'an unknown --format exits 2 and writes nothing' '
	expect_exit 2 "$KLUIS" protocol render "$SEED" --format pdf >out 2>err || exit 1
	test ! -s out
	grep -q "format" err
	expect_exit 2 "$KLUIS" protocol render "$SEED" --format pdf -o x.pdf 2>/dev/null || exit 1
	no_file x.pdf
'

t 'rendering is deterministic' '
	for fmt in md html; do
		for f in "$SEED" "$OTHER"; do
			"$KLUIS" protocol render "$f" --format $fmt >a
			"$KLUIS" protocol render "$f" --format $fmt >b
			cmp a b
		done
	done
'

t 'text from the file is escaped: HTML entities, Markdown backslashes' '
	mutate "$SEED" evil.json "
d[\"fields\"][0][\"label\"] = \"Naam <b>&amp;\"
d[\"parties\"][\"recipient\"][\"services\"][0][\"name\"] = \"Innovatie & <i>Arbeid</i> \\\"x\\\" '"'"'y'"'"'\"
d[\"security_measures\"][0][\"text\"] = \"<script>alert(1)</script> | pipe\n1. eerste\n- tweede\n# derde\"
d[\"title\"] = \"Titel </title><script>x</script>\"
"
	"$KLUIS" protocol check evil.json >/dev/null
	"$KLUIS" protocol render evil.json --format html >evil.html
	"$PY" "$CHECK" evil.json evil.html html
	! grep -qF "<b>" evil.html
	! grep -qF "<i>" evil.html
	! grep -qi "<script" evil.html
	grep -qF "Naam &lt;b&gt;&amp;amp;" evil.html
	grep -qF "Innovatie &amp; &lt;i&gt;Arbeid&lt;/i&gt; &quot;x&quot; &#39;y&#39;" evil.html
	grep -qF "&lt;/title&gt;&lt;script&gt;" evil.html
	"$KLUIS" protocol render evil.json --format md >evil.md
	"$PY" "$CHECK" evil.json evil.md md
	grep -qF "| Naam \\<b>\\&amp; |" evil.md
	grep -qF "\\<script>alert(1)\\</script> | pipe" evil.md
	# line starts that would make a list or a heading are escaped
	grep -qxF "  1\\. eerste\\" evil.md
	grep -qxF "  \\- tweede\\" evil.md
	grep -qxF "  \\# derde" evil.md
'

t 'multi-line text: paragraphs and line breaks in both formats' '
	mutate "$SEED" ml.json "
d[\"termination\"] = \"Eerste alinea.\n\nTweede alinea, regel 1\nregel 2\"
"
	"$KLUIS" protocol render ml.json --format html >ml.html
	grep -qF "<p>Eerste alinea.</p>" ml.html
	grep -qF "<p>Tweede alinea, regel 1<br>" ml.html
	"$PY" "$CHECK" ml.json ml.html html
	"$KLUIS" protocol render ml.json >ml.md
	grep -qxF "Tweede alinea, regel 1\\" ml.md
	grep -qxF "regel 2" ml.md
'

t 'defaults: no texts in the file, not signed, no annex, other periods' '
	mutate "$SEED" bare.json "
for k in (\"termination\", \"annex\", \"survey\"): d.pop(k)
d[\"legal_basis\"].pop(\"text\"); d[\"legal_basis\"].pop(\"compatibility\")
d[\"legal_basis\"][\"ground\"] = \"public_task\"
d[\"transfer\"].pop(\"description\")
d[\"transfer\"][\"periodicity\"] = \"quarterly\"
d[\"retention\"][\"period\"] = \"P6M\"
d[\"retention\"][\"from\"] = \"transfer\"
d[\"signed\"][\"date\"] = \"\"
d[\"parties\"][\"discloser\"][\"dpo\"][\"advice_date\"] = \"\"
d[\"deadlines\"][\"breach_notification\"] = \"P0D\"
d[\"deadlines\"].pop(\"change_notification\")
"
	"$KLUIS" protocol render bare.json >bare.md
	"$PY" "$CHECK" bare.json bare.md md
	grep -qF "taak van algemeen belang" bare.md
	grep -qF "via een e-mail met een versleutelde bijlage (age) en digitale handtekening (minisign)" bare.md
	grep -qF "driemaandelijks worden meegedeeld, zolang dit protocol van kracht is" bare.md
	grep -qF "gedurende 6 maanden bewaard worden vanaf de mededeling van de gegevens" bare.md
	grep -qF "Nog niet ondertekend." bare.md
	grep -qF "Onverminderd haar recht om een schadevergoeding te vorderen, kan Opgroeien regie" bare.md
	grep -qF "artikel 5, 1, b)" bare.md
	! grep -q "Bijlage" bare.md
	! grep -q "van Opgroeien regie heeft op" bare.md
	grep -qF "van SERV heeft op 12 maart 2021" bare.md
	"$KLUIS" protocol render bare.json --format html >bare.html
	"$PY" "$CHECK" bare.json bare.html html
'

t 'the keys appear once set-keys has written them' '
	"$KLUIS" keygen --out disc -W --label "Opgroeien regie" >/dev/null
	"$KLUIS" keygen --out rcpt -W --label SERV >/dev/null
	cp "$SEED" p.json
	"$KLUIS" protocol set-keys p.json --discloser disc.pub --recipient rcpt.pub -o keyed.json >/dev/null
	"$KLUIS" protocol render keyed.json >keyed.md
	"$PY" "$CHECK" keyed.json keyed.md md
	! grep -q "nog niet ingesteld;" keyed.md
	for k in $("$PY" -c "
import json, sys
d = json.load(open(\"keyed.json\"))
for r in (\"discloser\", \"recipient\"):
    print(d[\"parties\"][r][\"keys\"][\"age\"]); print(d[\"parties\"][r][\"keys\"][\"minisign\"])
"); do
		grep -qF "\`$k\`" keyed.md
	done
	grep -qF "\`$("$KLUIS" protocol digest keyed.json)\`" keyed.md
'

done_testing
