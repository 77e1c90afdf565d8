#!/usr/bin/env bash
# kluis export --mail-to/--smtp and kluis send, against a real SMTP server
# on 127.0.0.1 (tests/smtpd.py on aiosmtpd, started here): the message that
# arrives carries the package and its signature as attachments, and those
# verify with the real minisign and decrypt with the real age; the body
# names protocol, package id and record count and no personal value.  The
# ledger records the mail so a package is never mailed twice unasked.
. "$(dirname "$0")/lib.sh"

GEN=$(dirname "$KLUIS")/tools/kluis-gen
SEED=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
cd "$T" || exit 2

if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
	skip 'export mail through a real SMTP server' "no aiosmtpd for $PY"
	done_testing
	exit
fi

start_smtpd() { smtpd_start "$@"; }
count() { smtpd_count "$1"; }

{ parties "$T" "$SEED" && "$GEN" --rows 3000 --dirty 3 --seed 4 --out reg.csv; } ||
	{ echo "not ok 1 - setup"; exit 1; }
start_smtpd box || { echo "not ok 1 - smtpd"; exit 1; }
start_smtpd auth --auth "mailer:geheim" || { echo "not ok 1 - smtpd"; exit 1; }
PORT=$(cat box.port)
FROM=gegevens@opgroeien.example
TO=onderzoek@serv.example

t 'export --smtp mails the package; the attachments verify and decrypt' '
	mkdir out
	"$KLUIS" export -p proto.json -r reg.csv -t rcpt.pub -s disc.minisign.key \
		-o out --ledger l.db --mail-to $TO --mail-from $FROM \
		--smtp smtp://127.0.0.1:'"$PORT"' --smtp-insecure >sum
	grep -q "^sent      to $TO" sum
	id=$(sed -n "s/^package   //p" sum)
	n=$(sed -n "s/^records   read [0-9]* = selected \([0-9]*\).*/\1/p" sum)
	[ "$(count box)" = 1 ]
	test -s out/$id.eml
	$PY - box "$id" "$n" <<-"EOF"
	import email, email.policy, mailbox, sys
	box, pid, n = sys.argv[1:]
	m = email.message_from_bytes(list(mailbox.Maildir(box, create=False))[0].as_bytes(),
	                             policy=email.policy.default)
	body = m.get_body(("plain",)).get_content()
	assert pid in body and ("Aantal records:    " + n) in body, body
	assert "opgroeien-serv-2021" in body and pid in m["Subject"]
	names = []
	for part in m.iter_attachments():
	    names.append(part.get_filename())
	    open("got-" + part.get_filename(), "wb").write(part.get_payload(decode=True))
	assert sorted(names) == [pid + ".age", pid + ".age.minisig"], names
	EOF
	cmp got-$id.age out/$id.age
	minisign -V -q -p disc.minisign.pub -m got-$id.age -x got-$id.age.minisig
	age -d -i rcpt.age.key got-$id.age | head -n 1 | grep -q "\"package_id\":\"$id\""
'

t 'the mail body holds no personal value from the register' '
	$PY - reg.csv box <<-"EOF"
	import csv, mailbox, sys
	text = list(mailbox.Maildir(sys.argv[2], create=False))[0].as_string()
	rows = csv.reader(open(sys.argv[1], encoding="utf-8", newline=""), delimiter=";")
	header = next(rows)
	body = text.split("Content-Disposition: attachment")[0]
	leaks = {v for r in rows for v in r if len(v) >= 6 and v in body}
	assert not leaks, len(leaks)
	EOF
'

t 'the ledger records the mail; send refuses a second mail unless --force' '
	id=$(ls out | sed -n "s/\.eml$//p")
	"$KLUIS" ledger show --ledger l.db "$id" >show
	grep -q "^mail             sent to '"$TO"'" show
	expect_exit 1 "$KLUIS" send --ledger l.db --smtp smtp://127.0.0.1:'"$PORT"' \
		--smtp-insecure "$id" 2>err
	[ "$(count box)" = 1 ]
	"$KLUIS" send --ledger l.db --smtp smtp://127.0.0.1:'"$PORT"' \
		--smtp-insecure --force "$id"
	[ "$(count box)" = 2 ]
'

t 'an unreachable server: package kept, not sent, send later delivers it' '
	mkdir out2
	closed=$($PY -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])")
	expect_exit 2 "$KLUIS" export -p proto.json -r reg.csv -t rcpt.pub \
		-s disc.minisign.key -o out2 --ledger l2.db --mail-to $TO \
		--mail-from $FROM --smtp smtp://127.0.0.1:$closed --smtp-insecure \
		>sum 2>err
	grep -q "is written, but the mail failed" err
	id=$(ls out2 | sed -n "s/\.eml$//p")
	grep -q -- "--force $id" err
	test -s out2/$id.eml
	# the interrupted attempt counts as started: a plain retry is refused
	expect_exit 1 "$KLUIS" send --ledger l2.db --smtp smtp://127.0.0.1:'"$PORT"' \
		--smtp-insecure "$id"
	"$KLUIS" send --ledger l2.db --smtp smtp://127.0.0.1:'"$PORT"' \
		--smtp-insecure --force "$id"
	[ "$(count box)" = 3 ]
'

t 'send: an unknown package, and a package without .eml, are refused (exit 1); no ledger, exit 2' '
	expect_exit 1 "$KLUIS" send --ledger l.db --smtp smtp://127.0.0.1:'"$PORT"' \
		--smtp-insecure 0123456789abcdef0123456789abcdef 2>err
	grep -q "no such package" err
	mkdir out6
	"$KLUIS" export -q -p proto.json -r reg.csv -t rcpt.pub -s disc.minisign.key \
		-o out6 --ledger l6.db
	id=$(ls out6 | sed -n "s/\.age$//p")
	expect_exit 1 "$KLUIS" send --ledger l6.db --smtp smtp://127.0.0.1:'"$PORT"' \
		--smtp-insecure "$id" 2>err
	grep -q "without --mail-to" err
	expect_exit 2 "$KLUIS" send --ledger nowhere.db --smtp smtp://127.0.0.1:1 x 2>err
	grep -q "no ledger here" err
	[ "$(count box)" = 3 ]
'

t 'smtp:// without STARTTLS is refused unless --smtp-insecure' '
	mkdir out3
	expect_exit 2 "$KLUIS" export -q -p proto.json -r reg.csv -t rcpt.pub \
		-s disc.minisign.key -o out3 --ledger l3.db --mail-to $TO \
		--mail-from $FROM --smtp smtp://127.0.0.1:'"$PORT"' 2>err
	grep -q "STARTTLS" err
	[ "$(count box)" = 3 ]
'

t 'SMTP credentials from the environment' '
	mkdir out4
	KLUIS_SMTP_USER=mailer KLUIS_SMTP_PASSWORD=geheim "$KLUIS" export -q \
		-p proto.json -r reg.csv -t rcpt.pub -s disc.minisign.key -o out4 \
		--ledger l4.db --mail-to $TO --mail-from $FROM \
		--smtp smtp://127.0.0.1:$(cat auth.port) --smtp-insecure
	[ "$(count auth)" = 1 ]
	mkdir out5
	expect_exit 2 env KLUIS_SMTP_USER=mailer KLUIS_SMTP_PASSWORD=fout "$KLUIS" \
		export -q -p proto.json -r reg.csv -t rcpt.pub -s disc.minisign.key \
		-o out5 --ledger l5.db --mail-to $TO --mail-from $FROM \
		--smtp smtp://127.0.0.1:$(cat auth.port) --smtp-insecure 2>err
	! grep -q fout err
	[ "$(count auth)" = 1 ]
'

done_testing
