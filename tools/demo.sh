#!/usr/bin/env bash
# make demo — the protocol's transfer step on generated data, end to end:
# two parties make keys and put them in the protocol; the discloser exports
# a generated register (selected, validated, minimised, encrypted, signed,
# recorded in its ledger, an .eml written); anyone checks the package with
# the real age and minisign tools; a second export is refused; the
# recipient creates a workspace, receives the package (pseudonymised, the
# identities sealed), re-identifies one person for a stated purpose, and
# checks its audit log.  Everything happens in build/demo (kept for
# inspection).
set -euo pipefail
KLUIS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
demo="$top/build/demo"
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# Demo only: an unattended passphrase.  Real use: the terminal prompt or
# --passphrase-file; never argv.
export KLUIS_PASSPHRASE="demo passphrase, not for real use"

step "1. Each party creates its keys (the minisign key is passphrase-protected)"
run "$KLUIS" keygen --out opgroeien --label "Opgroeien regie (discloser)"
run "$KLUIS" keygen --out serv --label "SERV (recipient)"
echo "--- serv.pub, which SERV hands to Opgroeien:"
cat serv.pub

step "2. The parties write their keys into the protocol and check it"
run "$KLUIS" protocol set-keys "$top/protocols/opgroeien-serv-2021.json" \
	--discloser opgroeien.pub --recipient serv.pub -o protocol.json
run "$KLUIS" protocol check protocol.json
digest=$("$KLUIS" protocol digest protocol.json)
run "$KLUIS" protocol show protocol.json | sed -n '1,4p;/^fields/,/^$/p'
run "$KLUIS" protocol render protocol.json --format html -o protocol.html
run "$KLUIS" protocol render protocol.json -o protocol.md
grep -A4 '^## Artikel 5' protocol.md

step "3. The discloser's register export (generated, fictitious; 3 % dirty rows)"
GEN=$(dirname "$KLUIS")/tools/kluis-gen
run "$GEN" --rows 20000 --dirty 3 --seed 2026 --out register.csv
head -n 3 register.csv
echo "... $(wc -l <register.csv) lines, $(wc -c <register.csv) bytes"

step "4. Export: select, validate, minimise, encrypt for SERV, sign as Opgroeien"
mkdir -p outbox
run "$KLUIS" export --protocol protocol.json --register register.csv \
	--to serv.pub --sign-with opgroeien.minisign.key --out outbox \
	--key-column Dossiernummer --ledger ledger.db \
	--mail-to onderzoek@serv.example --mail-from gegevens@opgroeien.example \
	| sed '/^  line /{x;/^\(x\{5\}\)/{x;d};s/^/x/;x}'
id=$(ls outbox | sed -n 's/\.age$//p')
ls -l outbox

step "5. Anyone can check the package with the standard tools"
run minisign -V -p opgroeien.minisign.pub -m "outbox/$id.age"
run age -d -i serv.age.key -o received.plain "outbox/$id.age"
echo "--- head line, CSV header, first record ... last line (the tail):"
head -n 3 received.plain
echo "..."
tail -n 1 received.plain
echo "--- no dossier or national register number went into the package:"
if grep -Eq 'DOS-[0-9]{4}-|[0-9]{2}\.[0-9]{2}\.[0-9]{2}-[0-9]{3}\.[0-9]{2}' received.plain; then
	echo "FOUND ONE — this is a bug"; exit 1
fi
echo "none found"

step "6. The ledger: what was sent, and which register row is record 1"
run "$KLUIS" ledger list --ledger ledger.db
run "$KLUIS" ledger resolve --ledger ledger.db "$id" 1

step "7. The protocol allows one transfer: a second export is refused"
set +e
"$KLUIS" export --protocol protocol.json --register register.csv -q \
	--to serv.pub --sign-with opgroeien.minisign.key --out outbox --ledger ledger.db
echo "export exit status: $?"
set -e

step "8. A tampered package is refused, and nothing is written"
cp "outbox/$id.age" tampered.age
cp "outbox/$id.age.minisig" tampered.age.minisig
printf '\x01' | dd of=tampered.age bs=1 seek=300 conv=notrunc status=none
set +e
"$KLUIS" verify -p opgroeien.pub tampered.age; echo "verify exit status: $?"
"$KLUIS" decrypt -i serv.age.key -o tampered.csv tampered.age; echo "decrypt exit status: $?"
set -e
[ ! -e tampered.csv ] && echo "no tampered.csv was written"

step "9. SERV creates its workspace: the protocol pinned, keys sealed for its first user"
run "$KLUIS" init workspace --protocol protocol.json --identity serv.age.key --user sofie
ls -la workspace

step "10. SERV receives the package: verified, checked again, pseudonymised, identities sealed"
run "$KLUIS" receive workspace "outbox/$id.age" | sed '/^  record /{x;/^\(x\{5\}\)/{x;d};s/^/x/;x}'
run "$KLUIS" status workspace
echo "--- the research table holds codes and attributes; the vault only sealed bytes:"
if command -v sqlite3 >/dev/null; then
	sqlite3 -header workspace/kluis.db 'select * from research limit 3'
	sqlite3 workspace/kluis.db 'select person, code, length("e-mailadres") from vault limit 3'
fi
echo "--- no e-mail address of the package is anywhere in the workspace:"
# (Three characters each side and a common domain: sealed bytes are random,
# and a looser pattern matches them by chance.)
if grep -a -rEq '[A-Za-z0-9._%+-]{3,}@[A-Za-z0-9-]{3,}\.(be|com|net|org|eu|nl)([^A-Za-z]|$)' workspace; then
	echo "FOUND ONE — this is a bug"; exit 1
fi
echo "none found"

step "11. A custodian re-identifies one person, for a stated purpose (audited)"
run "$KLUIS" reidentify workspace --record 1 --purpose "demo: contact for the survey"

step "12. The package is accepted once: receiving it again is refused"
set +e
"$KLUIS" receive workspace "outbox/$id.age"; echo "receive exit status: $?"
set -e

step "13. The audit log: one entry per command, hash-chained, head signed"
run "$KLUIS" audit list workspace
run "$KLUIS" audit verify workspace

step "Done: files are in build/demo (protocol.html is the protocol as a printable page; outbox/ holds the package, its report and the .eml; workspace/ is SERV's)"
