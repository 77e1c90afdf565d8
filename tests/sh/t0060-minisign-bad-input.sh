#!/usr/bin/env bash
# Signatures that must not verify and keys that must not open: another
# key, altered file, altered trusted comment, altered signatures, malformed
# .minisig files, a wrong passphrase (no signature written), damaged keys.
# Verification failures exit 1; unusable keys and usage errors exit 2.
. "$(dirname "$0")/lib.sh"

unset KLUIS_PASSPHRASE
cd "$T" || exit 2

# mangle_b64 FILE LINE BYTE: flip the lowest bit of decoded byte BYTE of the
# base64 on line LINE of FILE, re-encoded canonically (padded).
mangle_b64() {
	"$PY" - "$@" <<'EOF'
import base64, sys
path, line, byte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ls = open(path, "rb").read().split(b"\n")
raw = bytearray(base64.b64decode(ls[line - 1], validate=True))
raw[byte] ^= 1
ls[line - 1] = base64.b64encode(bytes(raw))
open(path, "wb").write(b"\n".join(ls))
EOF
}

# rejects STATUS PATTERN CMD...: CMD must exit STATUS and say PATTERN (ERE)
# on stderr.
rejects() {
	local want=$1 pat=$2 rc
	shift 2
	"$@" >stdout 2>err && rc=0 || rc=$?
	cat err
	if [ "$rc" -ne "$want" ]; then echo "exit status $rc, want $want"; return 1; fi
	if ! grep -Eq -- "$pat" err; then echo "stderr lacks /$pat/"; return 1; fi
	return 0
}

# minisign_rejects SIG FILE PUB: the real minisign refuses it too.
minisign_rejects() {
	if minisign -V -p "$3" -m "$2" -x "$1" >/dev/null 2>&1; then
		echo "minisign accepted $1"
		return 1
	fi
}

"$KLUIS" keygen --no-passphrase --out a --label A >/dev/null
"$KLUIS" keygen --no-passphrase --out b --label B >/dev/null
A_ID=$(sed -n 's/^untrusted comment: minisign public key //p' a.minisign.pub)
B_ID=$(sed -n 's/^untrusted comment: minisign public key //p' b.minisign.pub)
head -c 200000 /dev/urandom >data
"$KLUIS" sign -s a.minisign.key -t "the trusted comment" data
"$KLUIS" sign -s a.minisign.key -l -t "legacy comment" -x leg.sig data

t 'the untouched signatures verify (control)' '
	"$KLUIS" verify -q -p a.pub data
	"$KLUIS" verify -q -p a.pub -x leg.sig data
	test "$A_ID" != "$B_ID"
'

t 'signature by another key: exit 1 naming both key ids' '
	rejects 1 "^kluis: verify: minisign signature: signed by key $A_ID, not by the given key $B_ID" \
		"$KLUIS" verify -p b.pub data
	test ! -s stdout
	rejects 1 "signed by key $A_ID, not by the given key $B_ID" \
		"$KLUIS" verify -p b.minisign.pub -x leg.sig data
'

t 'a minisign-made signature by another key: exit 1 naming both key ids' '
	minisign -G -W -p m.pub -s m.key >/dev/null
	# Key ids as minisign writes them (no leading zeros), as kluis does too.
	m_id=$(sed -n "s/^untrusted comment: minisign public key //p" m.pub)
	minisign -S -s m.key -m data -x m.sig >/dev/null
	rejects 1 "signed by key $m_id, not by the given key $A_ID" \
		"$KLUIS" verify -p a.pub -x m.sig data
'

t 'same key id, different key: exit 1 (the signature does not verify)' '
	# b.pub with a.pub'"'"'s key id: the id matches, the key does not.
	"$PY" - a.minisign.pub b.minisign.pub forged.pub <<-"EOF"
	import base64, sys
	a = base64.b64decode(open(sys.argv[1]).read().split("\n")[1])
	b = base64.b64decode(open(sys.argv[2]).read().split("\n")[1])
	open(sys.argv[3], "w").write("untrusted comment: forged\n" + base64.b64encode(a[:10] + b[10:]).decode() + "\n")
	EOF
	rejects 1 "^kluis: verify: minisign signature: signature does not verify" \
		"$KLUIS" verify -p forged.pub data
'

t 'trusted comment altered: exit 1' '
	sed "3s/.*/trusted comment: the altered comment/" data.minisig >tc.sig
	! cmp -s data.minisig tc.sig || exit 1
	rejects 1 "^kluis: verify: minisign signature: trusted comment signature does not verify" \
		"$KLUIS" verify -p a.pub -x tc.sig data
	test ! -s stdout
	minisign_rejects tc.sig data a.minisign.pub
	sed "3s/\$/ /" leg.sig >tc2.sig
	rejects 1 "trusted comment signature does not verify" \
		"$KLUIS" verify -p a.pub -x tc2.sig data
'

t 'file altered: exit 1 (prehashed and legacy)' '
	cp data data2
	"$PY" -c "import sys; p=sys.argv[1]; d=bytearray(open(p,\"rb\").read()); d[100000]^=1; open(p,\"wb\").write(d)" data2
	! cmp -s data data2 || exit 1
	rejects 1 "^kluis: verify: minisign signature: signature does not verify \(the file was altered\)" \
		"$KLUIS" verify -p a.pub -x data.minisig data2
	rejects 1 "signature does not verify" "$KLUIS" verify -p a.pub -x leg.sig data2
	minisign_rejects data.minisig data2 a.minisign.pub
	cp data data3
	printf x >>data3
	rejects 1 "signature does not verify" "$KLUIS" verify -p a.pub -x data.minisig data3
	head -c -1 data >data4
	rejects 1 "signature does not verify" "$KLUIS" verify -p a.pub -x leg.sig data4
'

t 'global (comment) signature altered: exit 1' '
	cp data.minisig g.sig
	mangle_b64 g.sig 4 10
	! cmp -s data.minisig g.sig || exit 1
	rejects 1 "trusted comment signature does not verify" \
		"$KLUIS" verify -p a.pub -x g.sig data
	minisign_rejects g.sig data a.minisign.pub
'

t 'file signature altered: exit 1' '
	cp data.minisig s.sig
	mangle_b64 s.sig 2 40
	rejects 1 "^kluis: verify: minisign signature: signature does not verify" \
		"$KLUIS" verify -p a.pub -x s.sig data
	minisign_rejects s.sig data a.minisign.pub
'

t 'prehashed flag flipped (ED <-> Ed): exit 1' '
	for pair in "data.minisig ED Ed" "leg.sig Ed ED"; do
		set -- $pair
		"$PY" - $1 x.sig $3 <<-"EOF"
		import base64, sys
		ls = open(sys.argv[1], "rb").read().split(b"\n")
		raw = bytearray(base64.b64decode(ls[1])); raw[0:2] = sys.argv[3].encode()
		ls[1] = base64.b64encode(bytes(raw)); open(sys.argv[2], "wb").write(b"\n".join(ls))
		EOF
		test "$(sed -n 2p x.sig | base64 -d | head -c 2)" = $3
		rejects 1 "^kluis: verify: minisign signature: signature does not verify" \
			"$KLUIS" verify -p a.pub -x x.sig data
	done
'

t 'malformed .minisig: truncated to 2 lines' '
	head -n 2 data.minisig >t2.sig
	rejects 1 "^kluis: verify: t2.sig: expected four lines" "$KLUIS" verify -p a.pub -x t2.sig data
	test ! -s stdout
	head -n 3 data.minisig >t3.sig
	rejects 1 "expected four lines" "$KLUIS" verify -p a.pub -x t3.sig data
	: >t0.sig
	rejects 1 "expected four lines" "$KLUIS" verify -p a.pub -x t0.sig data
'

t 'malformed .minisig: bad base64' '
	sed "2s/^\(.\{10\}\)./\1!/" data.minisig >b2.sig
	rejects 1 "^kluis: verify: b2.sig: line 2: signature is not base64 of 74 bytes" \
		"$KLUIS" verify -p a.pub -x b2.sig data
	sed "2s/\$/AAAA/" data.minisig >b3.sig
	rejects 1 "line 2: signature is not base64" "$KLUIS" verify -p a.pub -x b3.sig data
	sed "4s/^\(.\{5\}\)./\1*/" data.minisig >b4.sig
	rejects 1 "line 4: comment signature is not base64 of 64 bytes" \
		"$KLUIS" verify -p a.pub -x b4.sig data
	sed "4s/=\$//" data.minisig >b5.sig
	rejects 1 "line 4: comment signature is not base64" "$KLUIS" verify -p a.pub -x b5.sig data
'

t 'malformed .minisig: wrong line prefixes, extra lines, unknown algorithm' '
	sed "1s/^untrusted/Untrusted/" data.minisig >p1.sig
	rejects 1 "line 1: expected .untrusted comment:." "$KLUIS" verify -p a.pub -x p1.sig data
	sed "3s/^trusted comment: /trusted: /" data.minisig >p3.sig
	rejects 1 "line 3: expected .trusted comment:." "$KLUIS" verify -p a.pub -x p3.sig data
	{ cat data.minisig; echo extra; } >p5.sig
	rejects 1 "unexpected data after the signature" "$KLUIS" verify -p a.pub -x p5.sig data
	"$PY" - data.minisig alg.sig <<-"EOF"
	import base64, sys
	ls = open(sys.argv[1], "rb").read().split(b"\n")
	raw = bytearray(base64.b64decode(ls[1])); raw[0:2] = b"EX"
	ls[1] = base64.b64encode(bytes(raw)); open(sys.argv[2], "wb").write(b"\n".join(ls))
	EOF
	rejects 1 "line 2: unsupported signature algorithm" "$KLUIS" verify -p a.pub -x alg.sig data
'

t 'a missing signature file is an operational error (exit 2)' '
	rejects 2 "nosuch.minisig: cannot open" "$KLUIS" verify -p a.pub -x nosuch.minisig data
	rejects 2 "nofile: cannot open" "$KLUIS" verify -p a.pub -x data.minisig nofile
'

t 'a malformed public key is refused (exit 2)' '
	rejects 2 "not a base64-encoded minisign public key" \
		"$KLUIS" verify -P "RWQnotakey" data
	echo garbage >bad.pub
	rejects 2 "bad.pub" "$KLUIS" verify -p bad.pub data
'

t 'wrong passphrase for an encrypted key: exit 1, no .minisig written' '
	KLUIS_PASSPHRASE="the right one" "$KLUIS" keygen --out e --label E >/dev/null
	printf "the wrong one\n" >wrong
	cp data edata
	rejects 1 "^kluis: sign: minisign secret key: wrong passphrase" \
		"$KLUIS" sign -s e.minisign.key --passphrase-file wrong -t new edata
	no_file edata.minisig
	test -z "$(ls -A | grep "^\.edata")"
'

t 'wrong passphrase leaves an existing signature untouched' '
	cp data.minisig old.sig
	before=$(sha old.sig)
	KLUIS_PASSPHRASE="the wrong one" rejects 1 "wrong passphrase" \
		"$KLUIS" sign -s e.minisign.key -t new -x old.sig data
	test "$(sha old.sig)" = "$before"
	"$KLUIS" verify -q -p a.pub -x old.sig data
'

t 'an encrypted key with no passphrase source and no terminal: exit 2' '
	env -u KLUIS_PASSPHRASE setsid -w "$KLUIS" sign -s e.minisign.key -x nt.sig data \
		</dev/null 2>err && exit 1 || test $? -eq 2
	grep -q "no terminal" err
	no_file nt.sig
'

t 'a damaged unencrypted key is refused (exit 2), nothing written' '
	cp a.minisign.key dam.key
	mangle_b64 dam.key 2 100
	rejects 2 "dam.key|minisign secret key: (checksum mismatch|inconsistent key)" \
		"$KLUIS" sign -s dam.key -x dam.sig data
	no_file dam.sig
'

t 'a public key given as the secret key is refused (exit 2)' '
	rejects 2 "a.minisign.pub" "$KLUIS" sign -s a.minisign.pub -x pk.sig data
	no_file pk.sig
'

t 'a multi-line trusted comment is refused (exit 2)' '
	rejects 2 "single line" "$KLUIS" sign -s a.minisign.key -t "$(printf "one\ntwo")" -x ml.sig data
	no_file ml.sig
'

done_testing
