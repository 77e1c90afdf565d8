#!/usr/bin/env bash
# Damaged, truncated, forged and malformed age files.  Each must be refused
# with exit 1 and a message of the right class on stderr ("age header: …",
# "age payload: chunk N: …", "age: no identity matches …", "armor: …"),
# and decrypt -o must leave no output file and no temporary file behind.
# Files no correct encryptor writes come from tests/tools/agecraft, which
# is first checked against the real age.
. "$(dirname "$0")/lib.sh"

AGECRAFT=${KLUIS_BUILD:-$(dirname "$KLUIS")}/tests/tools/agecraft
unset KLUIS_PASSPHRASE
cd "$T" || exit 2

# mangle OP FILE [ARG]: edit an age file in place.
#   hdrlen FILE          print the header length (through the MAC line)
#   flip FILE OFF        flip the lowest bit of byte OFF (negative: from end)
#   share-flip FILE      flip a bit in the first X25519 share, re-encoded
#                        canonically
#   share-noncanon FILE  set an unused trailing bit of the share's base64
#   body-flip FILE       flip a bit in the first stanza body, re-encoded
#   body-noncanon FILE   set an unused trailing bit of the first stanza body
#   body-pad FILE        append '=' padding to the first stanza body
#   mac-flip FILE        flip a bit in the decoded header MAC, re-encoded
#   grease FILE N        insert N unknown stanzas after the version line
#   version FILE         change "age-encryption.org/v1" to ".../v2"
mangle() {
	"$PY" - "$@" <<'EOF'
import base64, sys
op, path = sys.argv[1], sys.argv[2]
d = bytearray(open(path, "rb").read())
B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
def hdrlen():
    return d.index(b"\n", d.index(b"\n---") + 1) + 1
def b64d(s):
    return base64.b64decode(s + b"=" * (-len(s) % 4))
def b64e(b):
    return base64.b64encode(b).rstrip(b"=")
def lines():
    return bytes(d[:hdrlen()]).split(b"\n")
def put_header(ls):
    global d
    d = bytearray(b"\n".join(ls)) + d[hdrlen():]
def bump_last(s):  # set the lowest (unused) bit of the last character
    i = B64.index(s[-1:])
    assert i % 2 == 0
    return s[:-1] + B64[i + 1:i + 2]
if op == "hdrlen":
    print(hdrlen()); sys.exit(0)
elif op == "flip":
    off = int(sys.argv[3]); d[off] ^= 1
elif op in ("share-flip", "share-noncanon"):
    ls = lines(); i = next(k for k, l in enumerate(ls) if l.startswith(b"-> X25519 "))
    share = ls[i][10:]
    if op == "share-flip":
        raw = bytearray(b64d(share)); raw[7] ^= 0x10; share = b64e(bytes(raw))
    else:
        share = bump_last(share)
    ls[i] = b"-> X25519 " + share; put_header(ls)
elif op in ("body-flip", "body-noncanon", "body-pad"):
    ls = lines(); i = next(k for k, l in enumerate(ls) if l.startswith(b"-> ")) + 1
    assert len(ls[i]) == 43
    if op == "body-flip":
        raw = bytearray(b64d(ls[i])); raw[5] ^= 0x01; ls[i] = b64e(bytes(raw))
    else:
        ls[i] = bump_last(ls[i]) if op == "body-noncanon" else ls[i] + b"="
    put_header(ls)
elif op == "mac-flip":
    ls = lines(); i = next(k for k, l in enumerate(ls) if l.startswith(b"--- "))
    raw = bytearray(b64d(ls[i][4:])); raw[0] ^= 1
    ls[i] = b"--- " + b64e(bytes(raw)); put_header(ls)
elif op == "grease":
    n = int(sys.argv[3]); ls = lines()
    extra = [b"-> grease-%d %s\n%s" % (k, b"x" * 40, b"A" * 20) for k in range(n)]
    put_header(ls[:1] + extra + ls[1:])
elif op == "version":
    assert d.startswith(b"age-encryption.org/v1\n"); d[20:21] = b"2"
else:
    sys.exit("mangle: unknown op " + op)
open(path, "wb").write(d)
EOF
}

# refused FILE PATTERN DECRYPT-ARGS...: kluis decrypt -o must exit 1, say
# PATTERN (an ERE) on stderr, write nothing to stdout and leave nothing
# (no output, no .out.tmp-*) in the output directory.
refused() {
	local file=$1 pat=$2 rc
	shift 2
	rm -rf dec
	mkdir dec
	"$KLUIS" decrypt "$@" -o dec/out "$file" >stdout 2>err && rc=0 || rc=$?
	cat err
	if [ "$rc" -ne 1 ]; then echo "exit status $rc, want 1"; return 1; fi
	if ! grep -Eq -- "$pat" err; then echo "stderr lacks /$pat/"; return 1; fi
	if [ -n "$(ls -A dec)" ]; then echo "left behind: $(ls -A dec)"; return 1; fi
	if [ -s stdout ]; then echo "wrote to stdout"; return 1; fi
	return 0
}

# age_refuses FILE: the real age refuses it too (so the damage is real).
age_refuses() {
	if age -d -i id.txt "$1" >/dev/null 2>age.err; then
		echo "age accepted $1"
		return 1
	fi
}

# crafted: agecraft's files count only once it made well-formed files that
# the real age decrypts (the first agecraft test).
crafted() {
	test -f agecraft.verified || { echo "agecraft is not verified"; return 1; }
}

CH=65552 # an encrypted full chunk: 64 KiB + 16-byte tag
age-keygen -o id.txt 2>/dev/null
age-keygen -o other.txt 2>/dev/null
R=$(age-keygen -y id.txt)
head -c $((3 * 65536)) /dev/urandom >p3        # chunks: full, full, full (final)
head -c $((2 * 65536 + 500)) /dev/urandom >p2s # chunks: full, full, short (final)
head -c 1000 /dev/urandom >p1
age -r "$R" -o e3.age p3
"$KLUIS" encrypt -r "$R" -o k2s.age p2s
age -r "$R" -o e1.age p1
H3=$(mangle hdrlen e3.age)

t 'the undamaged files decrypt (control)' '
	"$KLUIS" decrypt -i id.txt -o c3 e3.age
	cmp p3 c3
	"$KLUIS" decrypt -i id.txt -o c2s k2s.age
	cmp p2s c2s
	"$KLUIS" decrypt -i id.txt -o c1 e1.age
	cmp p1 c1
	test "$(stat -c %s e3.age)" -eq $((H3 + 16 + 3 * CH))
'

# --- truncation -------------------------------------------------------

t 'empty file' '
	: >empty.age
	refused empty.age "^kluis: decrypt: age header: empty file" -i id.txt
'

t 'truncated inside the header' '
	head -c 30 e3.age >tr.age
	refused tr.age "^kluis: decrypt: age header: line 2: header ends early" -i id.txt
	head -c $((H3 - 10)) e3.age >tr2.age
	refused tr2.age "^kluis: decrypt: age header: line [0-9]+: " -i id.txt
'

t 'truncated right after the header (no nonce)' '
	head -c $H3 e3.age >tr.age
	refused tr.age "^kluis: decrypt: age header: file ends before the payload nonce" -i id.txt
'

t 'truncated inside the 16-byte nonce' '
	head -c $((H3 + 8)) e3.age >tr.age
	refused tr.age "^kluis: decrypt: age header: file ends before the payload nonce" -i id.txt
'

t 'truncated after the nonce (no payload)' '
	head -c $((H3 + 16)) e3.age >tr.age
	refused tr.age "^kluis: decrypt: age payload: chunk 1: payload is missing" -i id.txt
'

t 'truncated inside the first chunk, shorter than a tag' '
	head -c $((H3 + 16 + 10)) e3.age >tr.age
	refused tr.age "^kluis: decrypt: age payload: chunk 1: " -i id.txt
'

t 'truncated mid-chunk (second chunk)' '
	head -c $((H3 + 16 + CH + 1000)) e3.age >tr.age
	refused tr.age "^kluis: decrypt: age payload: chunk 2: .*(truncated|authenticate)" -i id.txt
	age_refuses tr.age
'

t 'truncated exactly at a chunk boundary after a full non-final chunk' '
	head -c $((H3 + 16 + CH)) e3.age >tr.age
	refused tr.age "^kluis: decrypt: age payload: chunk 2: file ends without its final chunk" -i id.txt
	age_refuses tr.age
	head -c $((H3 + 16 + 2 * CH)) e3.age >tr2.age
	refused tr2.age "^kluis: decrypt: age payload: chunk 3: file ends without its final chunk" -i id.txt
'

t 'truncated by one byte (inside the last tag)' '
	head -c -1 e3.age >tr.age
	refused tr.age "^kluis: decrypt: age payload: chunk 3: " -i id.txt
	head -c -1 k2s.age >tr2.age
	refused tr2.age "^kluis: decrypt: age payload: chunk 3: final chunk does not authenticate" -i id.txt
'

t 'truncated to stdout: exit 1 and a warning that the output is incomplete' '
	head -c $((H3 + 16 + CH + 1000)) e3.age >tr.age
	"$KLUIS" decrypt -i id.txt tr.age >partial 2>err && exit 1 || test $? -eq 1
	grep -q "age payload: chunk 2" err
	grep -q "warning: 65536 bytes already written to standard output are incomplete" err
	test "$(stat -c %s partial)" -eq 65536
'

t 'decrypt -o killed mid-payload (SIGTERM, SIGINT) leaves no output' '
	for sig in TERM INT; do
		rm -rf dec ff
		mkdir dec
		mkfifo ff
		"$KLUIS" decrypt -i id.txt -o dec/out <ff 2>err &
		pid=$!
		exec 3>ff
		# The write returns once kluis has read past the header and
		# the first chunk (a pipe holds 64 KiB); it then waits for more.
		head -c $((H3 + 16 + CH + 30000)) e3.age >&3
		kill -$sig $pid
		wait $pid && rc=0 || rc=$?
		exec 3>&-
		test $rc -ne 0
		test -z "$(ls -A dec)" || { echo "SIG$sig left: $(ls -A dec)"; exit 1; }
	done
'

t 'data after the final chunk' '
	cp e3.age tail.age
	printf x >>tail.age
	refused tail.age "^kluis: decrypt: age payload: chunk 4: data after the final chunk" -i id.txt
	cp e1.age tail1.age
	printf x >>tail1.age
	refused tail1.age "^kluis: decrypt: age payload: chunk 1: " -i id.txt
'

# --- flipped bits -----------------------------------------------------

t 'flipped bit in a stanza argument (the X25519 share)' '
	cp e3.age f.age
	mangle share-flip f.age
	refused f.age "^kluis: decrypt: age: no identity matches" -i id.txt
	age_refuses f.age
'

t 'flipped bit in the stanza type' '
	cp e3.age f.age
	mangle flip f.age $(( $(head -n1 e3.age | wc -c) + 4 ))
	refused f.age "^kluis: decrypt: age: no identity matches" -i id.txt
'

t 'flipped bit in the stanza body (wrapped file key)' '
	cp e3.age f.age
	mangle body-flip f.age
	refused f.age "^kluis: decrypt: age: no identity matches" -i id.txt
	age_refuses f.age
'

t 'other age version' '
	cp e3.age f.age
	mangle version f.age
	refused f.age "^kluis: decrypt: age header: line 1: unsupported age format version" -i id.txt
'

t 'flipped bit in the header MAC' '
	cp e3.age f.age
	mangle mac-flip f.age
	refused f.age "^kluis: decrypt: age header: header MAC does not match" -i id.txt
	age_refuses f.age
	cp k2s.age f2.age
	mangle mac-flip f2.age
	refused f2.age "^kluis: decrypt: age header: header MAC does not match" -i id.txt
'

t 'an added stanza breaks the header MAC' '
	cp e3.age g.age
	mangle grease g.age 1
	refused g.age "^kluis: decrypt: age header: header MAC does not match" -i id.txt
	age_refuses g.age
'

t 'flipped bit in the payload nonce' '
	cp e3.age f.age
	mangle flip f.age $((H3 + 3))
	refused f.age "^kluis: decrypt: age payload: chunk 1: .*does not authenticate" -i id.txt
'

t 'flipped bit in the body (first chunk)' '
	cp e3.age f.age
	mangle flip f.age $((H3 + 16 + 100))
	refused f.age "^kluis: decrypt: age payload: chunk 1: chunk does not authenticate" -i id.txt
	age_refuses f.age
	cp e1.age f1.age
	mangle flip f1.age $(( $(mangle hdrlen e1.age) + 16 ))
	refused f1.age "^kluis: decrypt: age payload: chunk 1: final chunk does not authenticate" -i id.txt
'

t 'flipped bit in a tag of a middle chunk' '
	cp e3.age f.age
	mangle flip f.age $((H3 + 16 + 2 * CH - 1))
	refused f.age "^kluis: decrypt: age payload: chunk 2: chunk does not authenticate" -i id.txt
'

t 'flipped bit in the last chunk' '
	cp e3.age f.age
	mangle flip f.age -100
	refused f.age "^kluis: decrypt: age payload: chunk 3: .*does not authenticate" -i id.txt
	age_refuses f.age
	cp k2s.age f2.age
	mangle flip f2.age -1
	refused f2.age "^kluis: decrypt: age payload: chunk 3: final chunk does not authenticate" -i id.txt
'

# --- wrong keys -------------------------------------------------------

t 'wrong identity' '
	refused e3.age "^kluis: decrypt: age: no identity matches any recipient" -i other.txt
'

t 'wrong passphrase' '
	printf "right\n" >pw; printf "wrong\n" >bad
	"$KLUIS" encrypt --passphrase-file pw --work-factor 10 -o pp.age p1
	refused pp.age "^kluis: decrypt: age: wrong passphrase" --passphrase-file bad
	KLUIS_PASSPHRASE=wrong refused pp.age "^kluis: decrypt: age: wrong passphrase"
	"$KLUIS" decrypt --passphrase-file pw -o pp.out pp.age
	cmp p1 pp.out
'

t 'a passphrase file needs a passphrase; an X25519 file needs an identity' '
	refused pp.age "^kluis: decrypt: age: file is encrypted with a passphrase" -i id.txt
	refused e1.age "^kluis: decrypt: age: file is not encrypted with a passphrase" --passphrase-file pw
'

# --- malformed headers ------------------------------------------------

t 'non-canonical base64 in a stanza argument' '
	cp e3.age n.age
	mangle share-noncanon n.age
	refused n.age "^kluis: decrypt: age header: stanza 1: X25519 share is not canonical base64" -i id.txt
	age_refuses n.age
'

t 'non-canonical base64 in a stanza body' '
	cp e3.age n.age
	mangle body-noncanon n.age
	refused n.age "^kluis: decrypt: age header: line 3: stanza body is not canonical base64" -i id.txt
	age_refuses n.age
	cp e3.age p.age
	mangle body-pad p.age
	refused p.age "^kluis: decrypt: age header: line 3: stanza body is not canonical base64" -i id.txt
'

t 'an oversized header (thousands of unknown stanzas, > 1 MiB)' '
	cp e3.age big.age
	mangle grease big.age 20000
	test "$(stat -c %s big.age)" -gt $((1024 * 1024 + 3 * CH))
	refused big.age "^kluis: decrypt: age header: line [0-9]+: header larger than 1 MiB" -i id.txt
'

t 'a large header under 1 MiB is read to the end (and fails only its MAC)' '
	cp e3.age big2.age
	mangle grease big2.age 5000
	refused big2.age "^kluis: decrypt: age header: header MAC does not match" -i id.txt
'

# --- payload structure (agecraft) -------------------------------------

t 'agecraft writes a well-formed file that age and kluis both decrypt' '
	test -x "$AGECRAFT" || { echo "agecraft not built at $AGECRAFT"; exit 1; }
	"$AGECRAFT" "$R" ok.age full,short-last ok.plain
	test "$(stat -c %s ok.plain)" -eq $((65536 + 1000))
	age -d -i id.txt ok.age >ok.age.out
	cmp ok.plain ok.age.out
	"$KLUIS" decrypt -i id.txt -o ok.kluis.out ok.age
	cmp ok.plain ok.kluis.out
	"$AGECRAFT" "$R" ok2.age full,full,full-last ok2.plain
	age -d -i id.txt ok2.age >piped.out
	cmp ok2.plain piped.out
	"$KLUIS" decrypt -i id.txt ok2.age >piped.out
	cmp ok2.plain piped.out
	"$AGECRAFT" "$R" ok3.age empty-last ok3.plain
	test ! -s ok3.plain
	age -d -i id.txt ok3.age >piped.out
	cmp ok3.plain piped.out
	"$KLUIS" decrypt -i id.txt ok3.age >piped.out
	cmp ok3.plain piped.out
	touch agecraft.verified
'

t 'a zero-length final chunk after a full chunk' '
	crafted
	"$AGECRAFT" "$R" ze.age full,empty-last
	age_refuses ze.age
	refused ze.age "^kluis: decrypt: age payload: chunk 2: empty final chunk after a full one" -i id.txt
'

t 'a chunk after the final chunk' '
	crafted
	"$AGECRAFT" "$R" af.age full-last,short
	age_refuses af.age
	refused af.age "^kluis: decrypt: age payload: chunk 2: data after the final chunk" -i id.txt
	"$AGECRAFT" "$R" af2.age full-last,full,short-last
	refused af2.age "^kluis: decrypt: age payload: chunk 2: data after the final chunk" -i id.txt
'

t 'no chunk marked final' '
	crafted
	"$AGECRAFT" "$R" nf.age full,full
	age_refuses nf.age
	refused nf.age "^kluis: decrypt: age payload: chunk 3: file ends without its final chunk" -i id.txt
	"$AGECRAFT" "$R" nf2.age full,short
	age_refuses nf2.age
	refused nf2.age "^kluis: decrypt: age payload: chunk 2: file ends without its final chunk" -i id.txt
'

t 'a short chunk that is not the last' '
	crafted
	"$AGECRAFT" "$R" sh.age full,short,full-last
	age_refuses sh.age
	refused sh.age "^kluis: decrypt: age payload: chunk 2: " -i id.txt
'

# --- armor ------------------------------------------------------------

t 'armored file with garbage after END' '
	"$KLUIS" encrypt -r "$R" -a -o a.age p1
	"$KLUIS" decrypt -i id.txt -o a.out a.age
	cmp p1 a.out
	cp a.age ag.age
	echo garbage >>ag.age
	refused ag.age "^kluis: decrypt: armor: line [0-9]+: data after the END line" -i id.txt
	age_refuses ag.age
'

t 'armored file with whitespace around it is accepted' '
	{ printf "\n  \n"; cat a.age; printf "\n\t\n"; } >aw.age
	"$KLUIS" decrypt -i id.txt -o aw.out aw.age
	cmp p1 aw.out
'

t 'armored file without its END line' '
	head -n -1 a.age >an.age
	refused an.age "^kluis: decrypt: armor: line [0-9]+: missing END line" -i id.txt
	age_refuses an.age
'

t 'armored file with a line longer than 64 columns' '
	awk "NR==3{\$0=\$0 \"AAAA\"} {print}" a.age >al.age
	refused al.age "^kluis: decrypt: armor: line 3: line longer than 64 columns" -i id.txt
	age_refuses al.age
'

t 'armored file with a damaged payload' '
	"$KLUIS" encrypt -r "$R" -a -o a3.age p3
	# Change one base64 character in the middle of the body.
	n=$(( $(wc -l <a3.age) / 2 ))
	awk -v n=$n "NR==n{c=substr(\$0,10,1); r=(c==\"A\")?\"B\":\"A\"; \$0=substr(\$0,1,9) r substr(\$0,11)} {print}" a3.age >ad.age
	! cmp -s a3.age ad.age || exit 1
	refused ad.age "^kluis: decrypt: age payload: chunk [0-9]+: .*authenticate" -i id.txt
'

t 'a file that is neither binary age nor armor' '
	echo "hello, world" >hello.age
	refused hello.age "^kluis: decrypt: armor: line 1: expected .-----BEGIN AGE ENCRYPTED FILE-----.: not an age file" -i id.txt
'

done_testing
