#!/usr/bin/env bash
# Mail: lib/mime.c writes the message, lib/smtp.c sends it with libcurl to
# a real SMTP server (tests/smtpd.py on aiosmtpd, loopback), and Python's
# email package reads what arrived.  Attachments must come out byte for
# byte, the UTF-8 body and subject intact, the envelope right.  Refusals:
# plain smtp:// without --insecure (no STARTTLS), a recipient refused
# with 550, a wrong password, a closed port, a silent server (timeout), a
# credentials file readable by others.  Each refusal must leave the
# Maildir as it was.
#
# The C side is driven through tests/tools/smtpsend (built by make).
. "$(dirname "$0")/lib.sh"

SMTPSEND=${KLUIS_BUILD:-$(dirname "$KLUIS")}/tests/tools/smtpsend
cd "$T" || exit 2

if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
	echo "# $PY has no aiosmtpd (Debian: apt-get install python3-aiosmtpd)"
	skip 'mail through a real SMTP server' "no aiosmtpd for $PY"
	done_testing
	exit
fi

start_smtpd() { smtpd_start "$@"; }
port() { cat "$T/$1.port"; }
count() { smtpd_count "$1"; }
send() { "$SMTPSEND" send "$@"; }

FROM=discloser@opgroeien.example
TO=research@serv.example
SUBJECT='Pakket “kinderopvang” — één bestand, ’t is klaar; het onderwerp is lang genoeg om te vouwen'
printf 'Beste collega,\n\nHierbij het pakket — één bestand, ’t is klaar.\nEen regel met = en spaties aan het eind   \n.punt aan het begin\nFrom het begin\n%s\n\nMet vriendelijke groet\n' \
	"$(printf 'lang%.0s' $(seq 60))" >body.txt
head -c 3000000 /dev/urandom >package.age
printf 'pakket-id: 0f3c9a\nrecords: 12\n' >notes.txt

start_smtpd plain || exit 1
start_smtpd reject --reject-rcpt 550 || exit 1
start_smtpd auth --auth "mailer:s3cret:with:colons" || exit 1

# check_mail MAILDIR: the one message in MAILDIR is the one written above.
check_mail() {
	"$PY" - "$1" "$SUBJECT" "$FROM" "$TO" <<-"EOF"
	import email, email.policy, mailbox, sys
	box, subject, frm, to = sys.argv[1:]
	msgs = list(mailbox.Maildir(box, create=False))
	assert len(msgs) == 1, "want 1 message, have %d" % len(msgs)
	m = email.message_from_bytes(msgs[0].as_bytes(), policy=email.policy.default)
	assert m["X-Envelope-From"] == frm, m["X-Envelope-From"]
	assert m.get_all("X-Envelope-To") == [to], m.get_all("X-Envelope-To")
	assert m["From"] == frm and m["To"] == to
	assert m["Subject"] == subject, repr(m["Subject"])
	assert m["MIME-Version"] == "1.0"
	assert m.get_content_type() == "multipart/mixed"
	body = m.get_body(("plain",))
	assert body["Content-Transfer-Encoding"] == "quoted-printable"
	want = open("body.txt", encoding="utf-8").read()
	assert body.get_content() == want, repr(body.get_content())
	got = {}
	for part in m.iter_attachments():
	    assert part["Content-Transfer-Encoding"] == "base64"
	    got[part.get_filename()] = part.get_payload(decode=True)
	assert sorted(got) == ["notes.txt", "package.age"], sorted(got)
	for name, data in got.items():
	    open("got-" + name, "wb").write(data)
	defects = [d for p in m.walk() for d in p.defects]
	assert not defects, defects
	EOF
}

t 'write: smtpsend writes a mail with two attachments' '
	"$SMTPSEND" write mail.eml "$FROM" "$TO" "$SUBJECT" body.txt package.age notes.txt
	test -s mail.eml
	test "$(stat -c %a mail.eml)" = 600
	# 7-bit ASCII, CRLF line ends only, no line over 78 columns.
	! LC_ALL=C grep -q "[^[:print:][:space:]]" mail.eml
	test "$(tr -d "\r" <mail.eml | wc -l)" -eq "$(grep -c $'"'"'\r$'"'"' mail.eml)"
	test "$(tr -d "\r" <mail.eml | awk "length > 78" | wc -l)" -eq 0
'

t 'smtp:// without --insecure is refused: the server offers no STARTTLS' '
	expect_exit 1 send "smtp://127.0.0.1:$(port plain)" mail.eml "$FROM" "$TO" 2>err
	grep -q "server does not offer STARTTLS; use smtps:// or --smtp-insecure" err
	test "$(count plain)" -eq 0
'

t 'send --insecure: the message arrives once, intact (Python email parses it)' '
	send "smtp://127.0.0.1:$(port plain)" mail.eml "$FROM" "$TO" --insecure
	test "$(count plain)" -eq 1
	check_mail "$T/plain"
	cmp got-package.age package.age
	cmp got-notes.txt notes.txt
'

t 'a recipient refused with 550: the send fails naming 550, nothing stored' '
	expect_exit 1 send "smtp://127.0.0.1:$(port reject)" mail.eml "$FROM" "$TO" --insecure 2>err
	grep -q "recipient refused by the server (SMTP reply 550)" err
	test "$(count reject)" -eq 0
'

t 'AUTH with the right credentials file (user:password form) delivers' '
	printf "mailer:s3cret:with:colons\n" >cred
	chmod 600 cred
	send "smtp://127.0.0.1:$(port auth)" mail.eml "$FROM" "$TO" --insecure --cred cred
	test "$(count auth)" -eq 1
'

t 'AUTH with the two-line credentials file form delivers' '
	printf "mailer\ns3cret:with:colons\n" >cred2
	chmod 600 cred2
	send "smtp://127.0.0.1:$(port auth)" mail.eml "$FROM" "$TO" --insecure --cred cred2
	test "$(count auth)" -eq 2
'

t 'a wrong password fails with the reply code; the password is not shown' '
	printf "mailer:wrong-pass-xyz\n" >bad
	chmod 600 bad
	expect_exit 1 send "smtp://127.0.0.1:$(port auth)" mail.eml "$FROM" "$TO" --insecure --cred bad 2>err
	grep -q "authentication failed (SMTP reply 535)" err
	! grep -q "wrong-pass-xyz" err
	test "$(count auth)" -eq 2
'

t 'without credentials the AUTH server refuses the mail' '
	expect_exit 1 send "smtp://127.0.0.1:$(port auth)" mail.eml "$FROM" "$TO" --insecure 2>err
	grep -q "SMTP reply 530" err
	test "$(count auth)" -eq 2
'

t 'a credentials file with mode 0644 (or 0640) is refused before connecting' '
	printf "mailer:s3cret:with:colons\n" >open
	chmod 644 open
	expect_exit 1 send "smtp://127.0.0.1:$(port auth)" mail.eml "$FROM" "$TO" --insecure --cred open 2>err
	grep -q "accessible by group or others (mode 0644); run chmod 600" err
	! grep -q s3cret err
	chmod 640 open
	expect_exit 1 send "smtp://127.0.0.1:$(port auth)" mail.eml "$FROM" "$TO" --insecure --cred open 2>err
	grep -q "(mode 0640)" err
	test "$(count auth)" -eq 2
'

t 'a closed port fails with "connection refused"' '
	closed=$("$PY" -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")
	expect_exit 1 send "smtp://127.0.0.1:$closed" mail.eml "$FROM" "$TO" --insecure 2>err
	grep -q "cannot connect to 127.0.0.1 port $closed: connection refused" err
'

t 'a server that never answers times out' '
	# Listening but never accepting: the kernel completes the handshake,
	# no greeting ever comes.
	"$PY" -c "
import socket, sys, time
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(5)
open(\"silent.port\", \"w\").write(str(s.getsockname()[1]))
time.sleep(30)" &
	sp=$!
	for i in $(seq 50); do [ -s silent.port ] && break; sleep 0.1; done
	rc=0
	send "smtp://127.0.0.1:$(cat silent.port)" mail.eml "$FROM" "$TO" --insecure --timeout 1 2>err || rc=$?
	kill $sp; wait $sp 2>/dev/null || true
	test $rc -eq 1
	grep -q "timed out after 1 s" err
'

t 'header injection and bad URLs are refused before any connection' '
	expect_exit 1 "$SMTPSEND" write inj.eml "$FROM"$'"'"'\r\nBcc: x@evil.example'"'"' "$TO" s body.txt
	no_file inj.eml
	expect_exit 1 "$SMTPSEND" write inj.eml "$FROM" "$TO" $'"'"'a\nBcc: x@evil.example'"'"' body.txt 2>err
	grep -q "control character" err
	! grep -q evil err
	no_file inj.eml
	expect_exit 1 send "smtp://127.0.0.1:$(port plain)" mail.eml "$FROM" "x@y.example>"$'"'"'\r\nRSET'"'"' --insecure 2>err
	expect_exit 1 send "http://127.0.0.1:$(port plain)" mail.eml "$FROM" "$TO" --insecure 2>err
	grep -q "must start with smtp:// or smtps://" err
	expect_exit 1 send "smtp://u:p@127.0.0.1:$(port plain)" mail.eml "$FROM" "$TO" --insecure 2>err
	grep -q "credentials file" err
	test "$(count plain)" -eq 1
'

done_testing
