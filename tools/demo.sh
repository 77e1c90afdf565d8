#!/usr/bin/env bash
# make demo — the protocol's transfer step on generated data, end to end:
# two parties make keys, the discloser encrypts and signs a file for the
# recipient, the recipient verifies and decrypts it — with kluis and, to
# show anyone can check a package independently, with the real age and
# minisign tools.  Everything happens in build/demo (kept for inspection).
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

step "3. The discloser prepares a (generated, fictitious) register extract"
{
	echo "naam;voornaam;e-mailadres;gemeente;capaciteit"
	for i in $(seq 1 200); do
		printf 'Testnaam%03d;Voornaam%03d;persoon%03d@voorbeeld.invalid;Gemeente%02d;%d\n' \
			"$i" "$i" "$i" $((i % 17)) $((4 + i % 14))
	done
} > extract.csv
wc -l extract.csv

step "4. Encrypt for the recipient and sign as the discloser"
run "$KLUIS" encrypt -R serv.pub -o extract.csv.age extract.csv
run "$KLUIS" sign -s opgroeien.minisign.key \
	-t "protocol:opgroeien-serv-2021 $digest package:$(date -u +%Y%m%dT%H%M%SZ)" extract.csv.age
ls -l extract.csv.age extract.csv.age.minisig

step "5. The recipient verifies the signature, then decrypts"
run "$KLUIS" verify -p opgroeien.pub extract.csv.age
run "$KLUIS" decrypt -i serv.age.key -o received.csv extract.csv.age
cmp extract.csv received.csv && echo "received.csv is identical to the extract"

step "6. Anyone can check the package with the standard tools"
run minisign -V -p opgroeien.minisign.pub -m extract.csv.age
printf '$ age -d -i serv.age.key extract.csv.age | cmp - extract.csv\n'
age -d -i serv.age.key extract.csv.age | cmp - extract.csv && echo "age decrypts it to the same bytes"

step "7. A tampered package is refused, and nothing is written"
cp extract.csv.age tampered.age
cp extract.csv.age.minisig tampered.age.minisig
printf '\x01' | dd of=tampered.age bs=1 seek=300 conv=notrunc status=none
set +e
"$KLUIS" verify -p opgroeien.pub tampered.age; echo "verify exit status: $?"
"$KLUIS" decrypt -i serv.age.key -o tampered.csv tampered.age; echo "decrypt exit status: $?"
set -e
[ ! -e tampered.csv ] && echo "no tampered.csv was written"

step "Done: files are in build/demo (protocol.html is the protocol as a printable page)"
