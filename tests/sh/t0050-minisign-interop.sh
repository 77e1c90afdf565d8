#!/usr/bin/env bash
# minisign interoperability, both ways, against the real minisign 0.11:
# prehashed and legacy signatures, trusted comments, the public key in all
# three forms kluis takes (minisign .pub, kluis .pub, -P base64), secret
# keys made by either tool with and without a passphrase, and verify's
# -Q and -H.
#
# Passphrase-protected minisign keys cost one scrypt with 1 GiB of memory
# (a few seconds) per use; this script keeps to four of them.
. "$(dirname "$0")/lib.sh"

unset KLUIS_PASSPHRASE
cd "$T" || exit 2

"$KLUIS" keygen --no-passphrase --out kw --label "Signer" >/dev/null
minisign -G -W -p m.pub -s m.key >/dev/null
head -c 300000 /dev/urandom >data
: >empty
head -c $((5 * 1024 * 1024 + 3)) /dev/urandom >big
KW_ID=$(sed -n 's/^untrusted comment: minisign public key //p' kw.minisign.pub)
# Key ids as minisign writes them (%PRIX64, no leading zeros); kluis must
# print them the same way, so they compare verbatim.
M_ID=$(sed -n 's/^untrusted comment: minisign public key //p' m.pub)
M_B64=$(sed -n 2p m.pub)
TC='protocol=kinderopvang-2026 package=0f3c9a ✓ "quoted" tab	here'

t 'kluis sign (prehashed) → minisign -V verifies and shows the trusted comment' '
	"$KLUIS" sign -s kw.minisign.key -t "$TC" data
	test "$(wc -l <data.minisig)" -eq 4
	test "$(sed -n 2p data.minisig | base64 -d | head -c 2)" = ED        # "ED": prehashed
	minisign -V -p kw.minisign.pub -m data >out
	grep -q "^Signature and comment signature verified$" out
	test "$(sed -n "s/^Trusted comment: //p" out)" = "$TC"
	minisign -V -p kw.minisign.pub -m data -H >/dev/null
	minisign -V -Q -p kw.minisign.pub -m data >q
	test "$(cat q)" = "$TC"
'

t 'kluis sign -c sets the untrusted comment, -x the signature path' '
	"$KLUIS" sign -s kw.minisign.key -c "my untrusted note" -t tc2 -x sig2 data
	test "$(head -n1 sig2)" = "untrusted comment: my untrusted note"
	minisign -V -p kw.minisign.pub -m data -x sig2 | grep -qx "Trusted comment: tc2"
'

t 'kluis default trusted comment has minisign'"'"'s form' '
	"$KLUIS" sign -s kw.minisign.key -x sig3 data
	minisign -V -p kw.minisign.pub -m data -x sig3 >out
	grep -Eq "^Trusted comment: timestamp:[0-9]+	file:data	hashed$" out
'

t 'kluis sign -l (legacy) → minisign -V verifies; minisign -V -H refuses' '
	"$KLUIS" sign -s kw.minisign.key -l -t "legacy tc" -x leg.sig data
	test "$(sed -n 2p leg.sig | base64 -d | head -c 2)" = Ed             # "Ed": legacy
	minisign -V -p kw.minisign.pub -m data -x leg.sig | grep -qx "Trusted comment: legacy tc"
	if minisign -V -H -p kw.minisign.pub -m data -x leg.sig >/dev/null 2>&1; then exit 1; fi
'

t 'kluis signatures of an empty and a 5 MiB file verify with minisign' '
	"$KLUIS" sign -s kw.minisign.key -t e empty
	minisign -V -p kw.minisign.pub -m empty >/dev/null
	"$KLUIS" sign -s kw.minisign.key -t b big
	minisign -V -p kw.minisign.pub -m big >/dev/null
	"$KLUIS" sign -s kw.minisign.key -l -t el -x empty.leg empty
	minisign -V -p kw.minisign.pub -m empty -x empty.leg >/dev/null
'

t 'minisign -S (prehashed) → kluis verify -p minisign .pub' '
	minisign -S -s m.key -m data -t "from minisign" -x ms.sig >/dev/null
	test "$(sed -n 2p ms.sig | base64 -d | head -c 2)" = ED
	"$KLUIS" verify -p m.pub -x ms.sig data >out
	test "$(cat out)" = "$(printf "signature verified: key %s, prehashed\ntrusted comment: from minisign" "$M_ID")"
'

t 'minisign -S (prehashed) → kluis verify -P base64' '
	"$KLUIS" verify -P "$M_B64" -x ms.sig data | grep -qx "trusted comment: from minisign"
'

t 'minisign -S -l (legacy) → kluis verify with .pub and -P' '
	minisign -S -l -s m.key -m data -t "legacy from minisign" -x msl.sig >/dev/null
	test "$(sed -n 2p msl.sig | base64 -d | head -c 2)" = Ed
	"$KLUIS" verify -p m.pub -x msl.sig data >out
	grep -qx "signature verified: key $M_ID, legacy" out
	grep -qx "trusted comment: legacy from minisign" out
	"$KLUIS" verify -P "$M_B64" -x msl.sig data | grep -qx "trusted comment: legacy from minisign"
'

t 'minisign signs with a kluis key; kluis verify -p kluis .pub / .minisign.pub / -P' '
	minisign -S -s kw.minisign.key -m data -t "kluis key in minisign" -x mk.sig >/dev/null
	minisign -S -l -s kw.minisign.key -m data -t "kluis key legacy" -x mkl.sig >/dev/null
	for s in mk.sig mkl.sig; do
		"$KLUIS" verify -p kw.pub -x $s data >out
		grep -q "^signature verified: key $KW_ID, " out
		"$KLUIS" verify -p kw.minisign.pub -x $s data >/dev/null
		"$KLUIS" verify -P "$(sed -n 2p kw.minisign.pub)" -x $s data >/dev/null
	done
	grep -qx "trusted comment: kluis key legacy" out
'

t 'minisign signatures of an empty and a 5 MiB file verify with kluis' '
	minisign -S -s m.key -m empty -t e -x e.sig >/dev/null
	"$KLUIS" verify -q -p m.pub -x e.sig empty
	minisign -S -s m.key -m big -t b -x b.sig >/dev/null
	"$KLUIS" verify -q -p m.pub -x b.sig big
	minisign -S -l -s m.key -m big -t bl -x bl.sig >/dev/null
	"$KLUIS" verify -q -p m.pub -x bl.sig big
'

t 'a key id with leading zeros: kluis and minisign name the same key' '
	# Give a minisign -W key pair the id 0x0007665544332211 (stored
	# little-endian), which minisign prints as 7665544332211.
	minisign -G -W -p z0.pub -s z0.key >/dev/null
	"$PY" - <<-"EOF"
	import base64
	pub = open("z0.pub").read().split("\n")
	key = open("z0.key").read().split("\n")
	pk = bytearray(base64.b64decode(pub[1])); sk = bytearray(base64.b64decode(key[1]))
	kid = bytes([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x07, 0x00])
	pk[2:10] = kid; sk[54:62] = kid
	open("z.pub", "w").write("untrusted comment: minisign public key 7665544332211\n"
	                         + base64.b64encode(pk).decode() + "\n")
	open("z.key", "w").write(key[0] + "\n" + base64.b64encode(sk).decode() + "\n")
	EOF
	minisign -S -s z.key -m data -t zid -x z.sig >/dev/null
	minisign -V -p z.pub -m data -x z.sig >/dev/null
	"$KLUIS" verify -p z.pub -x z.sig data >out
	grep -qx "signature verified: key 7665544332211, prehashed" out
	"$KLUIS" sign -s z.key -t kzid -x kz.sig data
	minisign -V -p z.pub -m data -x kz.sig | grep -qx "Trusted comment: kzid"
	# Both tools report the mismatch against another key with this id.
	minisign -V -p m.pub -m data -x z.sig >mout 2>&1 && exit 1
	grep -q "is 7665544332211" mout
	"$KLUIS" verify -p m.pub -x z.sig data 2>kerr && exit 1
	grep -q "signed by key 7665544332211, not by the given key $M_ID" kerr
'

t 'kluis signs with a minisign -G -W key; minisign verifies' '
	"$KLUIS" sign -s m.key -t "kluis with minisign key" -x km.sig data
	minisign -V -p m.pub -m data -x km.sig | grep -qx "Trusted comment: kluis with minisign key"
	"$KLUIS" sign -s m.key -l -t "legacy" -x kml.sig data
	minisign -V -p m.pub -m data -x kml.sig >/dev/null
'

t 'kluis signs with a passphrase-protected minisign -G key; minisign verifies' '
	ttyrun "minisign pass" minisign -G -p mp.pub -s mp.key 2>log
	grep -q "answered 2 prompt" log
	grep -qx "untrusted comment: minisign encrypted secret key" mp.key
	printf "minisign pass\n" >mpw
	"$KLUIS" sign -s mp.key --passphrase-file mpw -t "kluis with encrypted minisign key" -x kmp.sig data
	minisign -V -p mp.pub -m data -x kmp.sig | grep -qx "Trusted comment: kluis with encrypted minisign key"
	"$KLUIS" verify -q -p mp.pub -x kmp.sig data
'

t 'minisign -S uses a passphrase-protected kluis key' '
	KLUIS_PASSPHRASE="kluis pass" "$KLUIS" keygen --out kp --label KP >/dev/null
	ttyrun "kluis pass" minisign -S -s kp.minisign.key -m data -t "minisign with kluis key" -x mkp.sig 2>log
	grep -q "answered 1 prompt" log
	"$KLUIS" verify -p kp.pub -x mkp.sig data | grep -qx "trusted comment: minisign with kluis key"
	minisign -V -p kp.minisign.pub -m data -x mkp.sig >/dev/null
'

t 'kluis verify -Q prints only the trusted comment, -q nothing' '
	"$KLUIS" verify -Q -p m.pub -x ms.sig data >out
	test "$(cat out)" = "from minisign"
	test "$(wc -l <out)" -eq 1
	"$KLUIS" verify -Q -p kw.pub data >out2
	test "$(cat out2)" = "$TC"
	"$KLUIS" verify -q -p m.pub -x ms.sig data >out3 2>&1
	test ! -s out3
'

t 'kluis verify -H refuses a legacy signature (exit 1), accepts prehashed' '
	set +e
	"$KLUIS" verify -H -p m.pub -x msl.sig data >out 2>err
	rc=$?
	set -e
	test $rc -eq 1
	test ! -s out
	grep -q "legacy signature, but --require-prehashed" err
	"$KLUIS" verify -H -p m.pub -x ms.sig data >/dev/null
'

t 'verify with the default signature path (FILE.minisig)' '
	cp data d2
	minisign -S -s m.key -m d2 -t dflt >/dev/null
	test -f d2.minisig
	"$KLUIS" verify -p m.pub d2 | grep -qx "trusted comment: dflt"
'

done_testing
