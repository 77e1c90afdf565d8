#!/usr/bin/env bash
# kluis keygen: the four files and their modes, never overwriting, the
# passphrase sources (KLUIS_PASSPHRASE, --passphrase-file, the terminal,
# none at all), --no-passphrase, and that the keys work in the real age,
# age-keygen and minisign tools.
#
# A passphrase-protected minisign key costs one scrypt with 1 GiB of memory
# (a few seconds) per use, so this script keeps to six of them.
. "$(dirname "$0")/lib.sh"

# mode FILE: octal permission bits.
mode() { stat -c %a "$1"; }

# Run kluis with no passphrase source and no terminal to ask on.
no_tty() { env -u KLUIS_PASSPHRASE setsid -w "$@" </dev/null; }

unset KLUIS_PASSPHRASE
head -c 100000 /dev/urandom >"$T/data"

t 'keygen writes the four files; secret keys are mode 0600 (KLUIS_PASSPHRASE)' '
	KLUIS_PASSPHRASE="env pass" "$KLUIS" keygen --out a --label "Org A" >keygen-a.out 2>err
	cp keygen-a.out out
	for f in a.age.key a.minisign.key a.minisign.pub a.pub; do
		test -s $f || { echo "missing $f"; exit 1; }
		grep -qF "$f" out
	done
	test "$(mode a.age.key)" = 600
	test "$(mode a.minisign.key)" = 600
	test "$(ls a.* | wc -l)" -eq 4
	grep -qx "untrusted comment: minisign encrypted secret key" a.minisign.key
	grep -qx "# kluis public keys v1" a.pub
	grep -qx "# label: Org A" a.pub
	grep -q "created keys for .Org A." out
	! grep -q "NOT passphrase-protected" out || exit 1
'

t 'the KLUIS_PASSPHRASE passphrase opens the key (via --passphrase-file)' '
	printf "env pass\n" >pw
	env -u KLUIS_PASSPHRASE "$KLUIS" sign -s a.minisign.key --passphrase-file pw \
		-t "signed with a" data 2>err
	minisign -V -p a.minisign.pub -m data >out
	grep -qx "Trusted comment: signed with a" out
	rm -f data.minisig
'

t 'the key id printed, in .minisign.pub and in .pub agree' '
	id=$(sed -n "s/^untrusted comment: minisign public key //p" a.minisign.pub)
	# As minisign prints it: hex without leading zeros.
	echo "$id" | grep -Eqx "[1-9A-F][0-9A-F]{0,15}"
	grep -qx "minisign key id: $id" keygen-a.out
	grep -qx "# minisign key id: $id" a.pub
	b64=$(sed -n 2p a.minisign.pub)
	grep -qx "# minisign: $b64" a.pub
	# The base64 key embeds the key id (little-endian after "Ed").
	hex=$(printf %s "$b64" | base64 -d | od -An -tx1 -j2 -N8 | tr -d " \n")
	rev=$(echo "$hex" | sed -E "s/(..)/\1\n/g" | tac | tr -d "\n" | tr a-f A-F | sed "s/^0*//")
	test "$rev" = "$id"
'

t 'a second keygen on the same prefix fails and changes nothing' '
	sums=$(sha256sum a.age.key a.minisign.key a.minisign.pub a.pub)
	set +e
	KLUIS_PASSPHRASE=other "$KLUIS" keygen --out a --label Other >out 2>err
	rc=$?
	set -e
	test $rc -eq 2
	grep -q "a.age.key: already exists" err
	test "$sums" = "$(sha256sum a.age.key a.minisign.key a.minisign.pub a.pub)"
	test "$(ls -a | grep -c "^\.a\.")" -eq 0
'

t 'keygen refuses when only one of the four files exists, and writes none' '
	echo "keep me" >c.pub
	set +e
	"$KLUIS" keygen --no-passphrase --out c >out 2>err
	rc=$?
	set -e
	test $rc -eq 2
	grep -q "c.pub: already exists" err
	test "$(cat c.pub)" = "keep me"
	no_file c.age.key
	no_file c.minisign.key
	no_file c.minisign.pub
'

t 'keygen --passphrase-file uses the first line of the file' '
	printf "file pass\nsecond line\n" >bpw
	"$KLUIS" keygen --out b --label B --passphrase-file bpw >out 2>err
	test "$(mode b.minisign.key)" = 600
	grep -q "encrypted secret key" b.minisign.key
	KLUIS_PASSPHRASE="file pass" "$KLUIS" sign -s b.minisign.key -t "by b" \
		-x b.sig data 2>err
	minisign -V -p b.minisign.pub -m data -x b.sig | grep -qx "Trusted comment: by b"
'

t 'keygen with no passphrase source and no terminal exits 2 and writes nothing' '
	mkdir nt
	cd nt
	set +e
	no_tty "$KLUIS" keygen --out n --label N >out 2>err
	rc=$?
	set -e
	test $rc -eq 2
	grep -q "no terminal" err
	test "$(ls -A)" = "$(printf "err\nout")"
'

t 'keygen with an empty passphrase exits 2 and writes nothing' '
	mkdir ep
	cd ep
	set +e
	KLUIS_PASSPHRASE= "$KLUIS" keygen --out e 2>err
	rc1=$?
	: >empty
	"$KLUIS" keygen --out e --passphrase-file empty 2>>err
	rc2=$?
	set -e
	test $rc1 -eq 2
	test $rc2 -eq 2
	grep -q "empty passphrase" err
	test "$(ls -A)" = "$(printf "empty\nerr")"
'

t 'keygen asks on the terminal (twice) and sign asks for that passphrase' '
	mkdir tty
	cd tty
	ttyrun "tty pass" "$KLUIS" keygen --out t --label T 2>log
	grep -q "answered 2 prompt" log
	grep -q "Confirm passphrase" log
	grep -q "encrypted secret key" t.minisign.key
	ttyrun "tty pass" "$KLUIS" sign -s t.minisign.key -t "tty" -x t.sig ../data 2>log
	grep -q "answered 1 prompt" log
	minisign -V -p t.minisign.pub -m ../data -x t.sig | grep -qx "Trusted comment: tty"
'

t 'keygen --no-passphrase key signs without any passphrase or terminal' '
	"$KLUIS" keygen --no-passphrase --out w --label W >out 2>err
	grep -q "NOT passphrase-protected" out
	grep -qx "untrusted comment: minisign secret key" w.minisign.key
	test "$(mode w.minisign.key)" = 600
	test "$(mode w.age.key)" = 600
	no_tty "$KLUIS" sign -s w.minisign.key -t "no pass" -x w.sig data
	minisign -V -p w.minisign.pub -m data -x w.sig >out
	grep -qx "Trusted comment: no pass" out
'

t 'the default label is the prefix name' '
	mkdir -p sub
	"$KLUIS" keygen -W -o sub/party7 >/dev/null
	grep -qx "# label: party7" sub/party7.pub
'

t 'a label with a newline is refused and nothing is written' '
	set +e
	"$KLUIS" keygen -W -o nl --label "$(printf "two\nlines")" 2>err
	rc=$?
	set -e
	test $rc -eq 2
	no_file nl.pub
	no_file nl.age.key
	no_file nl.minisign.key
	no_file nl.minisign.pub
'

t 'keygen into a missing directory exits 2 and writes nothing' '
	set +e
	"$KLUIS" keygen -W -o nodir/k 2>err
	rc=$?
	set -e
	test $rc -eq 2
	no_file nodir
'

t 'the age1 line of PREFIX.pub equals age-keygen -y PREFIX.age.key' '
	for p in a w; do
		want=$(age-keygen -y $p.age.key)
		case $want in age1*) ;; *) exit 1 ;; esac
		test "$(grep -v "^#" $p.pub | grep .)" = "$want"
		grep -qx "# public key: $want" $p.age.key
	done
'

t 'age -R PREFIX.pub encrypts; age and kluis decrypt with PREFIX.age.key' '
	age -R w.pub -o w.age data
	age -d -i w.age.key -o w.out1 w.age
	cmp data w.out1
	"$KLUIS" decrypt -i w.age.key -o w.out2 w.age
	cmp data w.out2
'

t 'kluis encrypt -R PREFIX.pub decrypts with age -d -i PREFIX.age.key' '
	"$KLUIS" encrypt -R a.pub -o a.age data
	age -d -i a.age.key -o a.out a.age
	cmp data a.out
	set +e
	age -d -i w.age.key -o a.out2 a.age 2>/dev/null
	rc=$?
	set -e
	test $rc -ne 0
'

t 'minisign -V -p PREFIX.minisign.pub verifies a kluis signature' '
	"$KLUIS" sign -s w.minisign.key data
	minisign -V -p w.minisign.pub -m data >out
	grep -q "Signature and comment signature verified" out
	grep -q "^Trusted comment: timestamp:[0-9]*	file:data	hashed$" out
	set +e
	minisign -V -p b.minisign.pub -m data >/dev/null 2>&1
	rc=$?
	set -e
	test $rc -ne 0
'

t 'kluis verify accepts the .pub and the .minisign.pub of the same key' '
	"$KLUIS" verify -q -p w.pub data
	"$KLUIS" verify -q -p w.minisign.pub data
	set +e
	"$KLUIS" verify -q -p a.pub data 2>err
	rc=$?
	set -e
	test $rc -eq 1
'

done_testing
