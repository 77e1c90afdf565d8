#!/usr/bin/env bash
# age interoperability, both ways, against the real age 1.1.1: sizes around
# the 64 KiB chunk boundary and 10 MiB, binary and armored, several
# recipients, passphrases (scrypt), key files from age-keygen and from kluis
# keygen, stdin/stdout pipes, and the mode of decrypt -o.
. "$(dirname "$0")/lib.sh"

unset KLUIS_PASSPHRASE
cd "$T" || exit 2

# Keys: two from age-keygen, one from kluis keygen.
age-keygen -o id1.txt 2>/dev/null
age-keygen -o id2.txt 2>/dev/null
"$KLUIS" keygen --no-passphrase --out kl --label "Interop" >/dev/null
R1=$(age-keygen -y id1.txt)
R2=$(age-keygen -y id2.txt)
R3=$(age-keygen -y kl.age.key)

sizes='0 1 65535 65536 65537 10485760'
for n in $sizes; do
	head -c "$n" /dev/urandom >"plain.$n"
done

check_header() { # FILE armored?
	if [ "$2" = yes ]; then
		test "$(head -n1 "$1")" = "-----BEGIN AGE ENCRYPTED FILE-----"
		test "$(tail -n1 "$1")" = "-----END AGE ENCRYPTED FILE-----"
	else
		test "$(head -n1 "$1")" = "age-encryption.org/v1"
	fi
}

# age -d writes to stdout here: with -o, age 1.1.1 creates no file at all
# for empty plaintext.
for n in $sizes; do
	for armor in no yes; do
		a=; [ $armor = yes ] && a=-a
		t "age -e${a:+ $a} → kluis decrypt: $n bytes" '
			age -r "$R1" '"$a"' -o a2k.'"$n$a"'.age plain.'"$n"'
			check_header a2k.'"$n$a"'.age '"$armor"'
			"$KLUIS" decrypt -i id1.txt -o a2k.'"$n$a"'.out a2k.'"$n$a"'.age
			cmp plain.'"$n"' a2k.'"$n$a"'.out
			rm -f a2k.'"$n$a"'.*
		'
		t "kluis encrypt${a:+ $a} → age -d: $n bytes" '
			"$KLUIS" encrypt -r "$R1" '"$a"' -o k2a.'"$n$a"'.age plain.'"$n"'
			check_header k2a.'"$n$a"'.age '"$armor"'
			age -d -i id1.txt k2a.'"$n$a"'.age >k2a.'"$n$a"'.out
			cmp plain.'"$n"' k2a.'"$n$a"'.out
			rm -f k2a.'"$n$a"'.*
		'
	done
done

t 'kluis ciphertext has the expected size (64 KiB chunks + 16-byte tags)' '
	for n in 0 1 65535 65536 65537; do
		"$KLUIS" encrypt -r "$R1" -o sz.age plain.$n
		# header, 16-byte nonce, ceil(n/65536) chunks (at least one),
		# each with a 16-byte tag.
		h=$("$PY" -c "import sys; d=open(\"sz.age\",\"rb\").read(); print(d.index(b\"\n\", d.index(b\"\n---\")+1)+1)")
		chunks=$(( n == 0 ? 1 : (n + 65535) / 65536 ))
		test "$(stat -c %s sz.age)" -eq $(( h + 16 + n + 16 * chunks ))
	done
'

t 'armor whose last line is a full 64 columns, both ways' '
	"$KLUIS" encrypt -r "$R1" -o len.age plain.1
	s=$(stat -c %s len.age)
	n=$(( 1 + (48 - s % 48) % 48 ))  # binary size a multiple of 48
	head -c $n /dev/urandom >p48
	"$KLUIS" encrypt -r "$R1" -a -o k48.age p48
	test "$(tail -n2 k48.age | head -n1 | tr -d "\n" | wc -c)" -eq 64
	age -d -i id1.txt k48.age >piped.out
	cmp p48 piped.out
	age -r "$R1" -a -o a48.age p48
	test "$(tail -n2 a48.age | head -n1 | tr -d "\n" | wc -c)" -eq 64
	"$KLUIS" decrypt -i id1.txt a48.age >piped.out
	cmp p48 piped.out
'

t 'armor with CRLF line endings decrypts' '
	age -r "$R1" -a plain.65537 | sed "s/\$/\r/" >crlf.age
	grep -q $'"'"'\r$'"'"' crlf.age
	"$KLUIS" decrypt -i id1.txt crlf.age >piped.out
	cmp plain.65537 piped.out
'

t 'kluis encrypt to 3 recipients: age and kluis decrypt with each identity' '
	"$KLUIS" encrypt -r "$R1" -r "$R2" -R kl.pub -o multi.age plain.65537
	test "$(grep -ac "^-> X25519 " multi.age)" -eq 3
	for id in id1.txt id2.txt kl.age.key; do
		age -d -i $id -o m.age.out multi.age
		cmp plain.65537 m.age.out
		"$KLUIS" decrypt -i $id -o m.k.out multi.age
		cmp plain.65537 m.k.out
		rm -f m.age.out m.k.out
	done
'

t 'age -e to 3 recipients: kluis and age decrypt with each identity' '
	age -r "$R1" -r "$R2" -R kl.pub -a -o amulti.age plain.65536
	for id in id1.txt id2.txt kl.age.key; do
		"$KLUIS" decrypt -i $id -o am.k.out amulti.age
		cmp plain.65536 am.k.out
		age -d -i $id -o am.a.out amulti.age
		cmp plain.65536 am.a.out
		rm -f am.k.out am.a.out
	done
'

t 'an identity that is not a recipient is refused (exit 1), no output' '
	age-keygen -o other.txt 2>/dev/null
	set +e
	"$KLUIS" decrypt -i other.txt -o nm.out multi.age 2>err
	rc=$?
	set -e
	test $rc -eq 1
	grep -q "kluis: decrypt: age: no identity matches" err
	no_file nm.out
'

t 'several -i files and multi-key identity files: the matching key is found' '
	cat other.txt id2.txt >both.txt
	"$KLUIS" decrypt -i other.txt -i kl.age.key -o s1.out amulti.age
	cmp plain.65536 s1.out
	r=$(age-keygen -y id2.txt)
	age -r "$r" -o only2.age plain.1
	"$KLUIS" decrypt -i both.txt -o s2.out only2.age
	cmp plain.1 s2.out
'

t 'age-keygen identity files (with # comments) work in kluis' '
	grep -q "^# created: " id1.txt
	grep -q "^# public key: age1" id1.txt
	{ echo; echo "   # indented comment"; cat id2.txt; printf "\r\n"; } >crlf.txt
	age -r "$R2" -o c.age plain.65535
	"$KLUIS" decrypt -i crlf.txt -o c.out c.age
	cmp plain.65535 c.out
	"$KLUIS" encrypt -r "$R1" -o c2.age plain.1
	"$KLUIS" decrypt -i id1.txt -o c2.out c2.age
	cmp plain.1 c2.out
'

t 'kluis keygen keys work in age (-R PREFIX.pub, -i PREFIX.age.key)' '
	age -R kl.pub -o kk.age plain.65537
	"$KLUIS" decrypt -i kl.age.key -o kk.out kk.age
	cmp plain.65537 kk.out
	"$KLUIS" encrypt -R kl.pub -a -o kk2.age plain.65535
	age -d -i kl.age.key -o kk2.out kk2.age
	cmp plain.65535 kk2.out
'

t 'kluis encrypt -R takes an age recipients file with comments' '
	{ echo "# team"; echo "$R1"; echo; echo "# second"; echo "$R2"; } >rcpts.txt
	"$KLUIS" encrypt -R rcpts.txt -o rf.age plain.1
	test "$(grep -ac "^-> X25519 " rf.age)" -eq 2
	age -d -i id2.txt -o rf.out rf.age
	cmp plain.1 rf.out
'

t 'age -p encrypted file decrypts with kluis --passphrase-file' '
	ttyrun "correct horse" age -p -o pw.age plain.65537 2>log
	grep -q "answered 2 prompt" log
	grep -aq "^-> scrypt " pw.age
	printf "correct horse\n" >pw
	"$KLUIS" decrypt --passphrase-file pw -o pw.out pw.age
	cmp plain.65537 pw.out
'

t 'age -p file decrypts with KLUIS_PASSPHRASE and with the terminal prompt' '
	KLUIS_PASSPHRASE="correct horse" "$KLUIS" decrypt -o pw2.out pw.age
	cmp plain.65537 pw2.out
	ttyrun "correct horse" "$KLUIS" decrypt -o pw3.out pw.age 2>log
	grep -q "answered 1 prompt" log
	cmp plain.65537 pw3.out
'

t 'age -p file with the wrong passphrase: exit 1, no output' '
	printf "wrong horse\n" >bad
	set +e
	"$KLUIS" decrypt --passphrase-file bad -o pwbad.out pw.age 2>err
	rc=$?
	set -e
	test $rc -eq 1
	grep -q "wrong passphrase" err
	no_file pwbad.out
'

t 'kluis --passphrase-file encrypted file decrypts with age -d' '
	printf "battery staple\n" >pw2
	"$KLUIS" encrypt --passphrase-file pw2 -o kp.age plain.65536
	grep -aq "^-> scrypt [A-Za-z0-9+/]\{22\} 18$" kp.age
	ttyrun "battery staple" age -d -o kp.out kp.age 2>log
	cmp plain.65536 kp.out
	"$KLUIS" decrypt --passphrase-file pw2 -o kp2.out kp.age
	cmp plain.65536 kp2.out
'

t 'kluis armored passphrase file (--work-factor 12) decrypts with age -d' '
	KLUIS_PASSPHRASE="battery staple" "$KLUIS" encrypt -p --work-factor 12 -a \
		-o kpa.age plain.1
	check_header kpa.age yes
	ttyrun "battery staple" age -d -o kpa.out kpa.age 2>log
	cmp plain.1 kpa.out
'

t 'stdin → stdout: kluis encrypt -r X < in | kluis decrypt -i key > out' '
	"$KLUIS" encrypt -r "$R1" <plain.65537 | "$KLUIS" decrypt -i id1.txt >pipe.out
	cmp plain.65537 pipe.out
	"$KLUIS" encrypt -r "$R1" -a - <plain.1 | "$KLUIS" decrypt -i id1.txt - >pipe2.out
	cmp plain.1 pipe2.out
	"$KLUIS" encrypt -r "$R2" <plain.0 | age -d -i id2.txt >pipe3.out
	cmp plain.0 pipe3.out
	age -r "$R2" <plain.65535 | "$KLUIS" decrypt -i id2.txt >pipe4.out
	cmp plain.65535 pipe4.out
'

t 'kluis decrypt -o writes mode 0600 whatever the umask' '
	age -r "$R1" -o mode.age plain.1
	(umask 022; "$KLUIS" decrypt -i id1.txt -o mode1.out mode.age)
	(umask 000; "$KLUIS" decrypt -i id1.txt -o mode2.out mode.age)
	test "$(stat -c %a mode1.out)" = 600
	test "$(stat -c %a mode2.out)" = 600
	: >mode3.out; chmod 644 mode3.out
	"$KLUIS" decrypt -i id1.txt -o mode3.out mode.age
	test "$(stat -c %a mode3.out)" = 600
	cmp plain.1 mode3.out
'

t 'kluis encrypt -o leaves no temporary file behind' '
	mkdir enc
	"$KLUIS" encrypt -r "$R1" -o enc/x.age plain.65537
	test "$(ls -A enc)" = x.age
'

t 'each encryption uses a fresh file key and nonce' '
	"$KLUIS" encrypt -r "$R1" -o f1.age plain.1
	"$KLUIS" encrypt -r "$R1" -o f2.age plain.1
	! cmp -s f1.age f2.age || exit 1
	test "$(tail -c 33 f1.age | od -An -tx1)" != "$(tail -c 33 f2.age | od -An -tx1)"
'

done_testing
