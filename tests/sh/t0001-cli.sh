#!/usr/bin/env bash
# The command line itself: --help and --version, per-command help, `kluis
# help CMD`, and the exit status 2 plus a message on stderr for unknown
# commands, unknown options, missing required options and passphrases
# offered on the command line.
. "$(dirname "$0")/lib.sh"

# Each test works in its own fresh directory.
fresh() { cd "$(mktemp -d "$T/w.XXXXXX")"; }

commands='keygen encrypt decrypt sign verify'
version=$(sed -n 's/^VERSION *:= *//p' "$KLUIS_SRC/Makefile")

t 'kluis --help lists every command and exits 0' '
	fresh
	"$KLUIS" --help >out 2>err
	test ! -s err
	grep -q "^Usage: kluis COMMAND" out
	for c in '"$commands"'; do
		grep -Eq "^  $c +[a-z]" out || { echo "--help lacks $c"; exit 1; }
	done
	grep -q "Exit status" out
	"$KLUIS" -h | cmp - out
'

t 'kluis --version prints the version' '
	fresh
	test -n "'"$version"'"
	"$KLUIS" --version >out 2>err
	test ! -s err
	test "$(wc -l <out)" -eq 1
	grep -Eq "^kluis '"$version"'( |\$)" out
	grep -q libsodium out
	"$KLUIS" -V | cmp - out
'

for c in $commands; do
	t "kluis $c --help exits 0 and shows its Usage line" '
		fresh
		"$KLUIS" '"$c"' --help >out 2>err
		test ! -s err
		grep -q "^Usage: kluis '"$c"'" out
		grep -q -- "-h, --help" out
		"$KLUIS" '"$c"' -h | cmp - out
	'
done

t 'kluis help encrypt shows the encrypt help' '
	fresh
	"$KLUIS" help encrypt >out 2>err
	test ! -s err
	grep -q "^Usage: kluis encrypt" out
	"$KLUIS" encrypt --help | cmp - out
	"$KLUIS" help >all
	"$KLUIS" --help | cmp - all
'

t 'kluis help for an unknown command exits 2' '
	fresh
	expect_exit 2 "$KLUIS" help frobnicate >out 2>err || exit 1
	test ! -s out
	grep -q "unknown command .frobnicate." err
'

t 'an unknown command exits 2 naming it on stderr' '
	fresh
	expect_exit 2 "$KLUIS" frobnicate >out 2>err || exit 1
	test ! -s out
	grep -q "kluis: unknown command .frobnicate." err
	grep -q "kluis --help" err
'

t 'no command at all exits 2 with the usage on stderr' '
	fresh
	expect_exit 2 "$KLUIS" >out 2>err || exit 1
	test ! -s out
	grep -q "^Usage: kluis COMMAND" err
'

for c in $commands; do
	t "kluis $c with an unknown option exits 2 naming it" '
		fresh
		expect_exit 2 "$KLUIS" '"$c"' --frobnicate </dev/null >out 2>err || exit 1
		test ! -s out
		grep -q -- "kluis: '"$c"': unknown option '"'"'--frobnicate'"'"'" err
		grep -q "kluis '"$c"' --help" err
	'
done

t 'an unknown short option exits 2 naming it' '
	fresh
	expect_exit 2 "$KLUIS" sign -Z x </dev/null >out 2>err || exit 1
	test ! -s out
	grep -Eq -- "(-Z|.Z.)" err
'

t 'an option missing its argument exits 2' '
	fresh
	expect_exit 2 "$KLUIS" decrypt -i </dev/null >out 2>err || exit 1
	grep -q "argument" err
	grep -Eq -- "(-i|.i.)" err
	test ! -s out
'

t 'a long option missing its argument exits 2 naming the long option' '
	fresh
	for c in "encrypt --passphrase-file" "encrypt --work-factor" \
		"decrypt --passphrase-file" "keygen --passphrase-file"; do
		set -- $c
		expect_exit 2 "$KLUIS" $1 $2 </dev/null >out 2>err || exit 1
		grep -q -- "kluis: $1: .*$2" err || { echo "$c:"; cat err; exit 1; }
	done
'

t 'encrypt without -r, -R or --passphrase exits 2' '
	fresh
	echo data >in
	expect_exit 2 "$KLUIS" encrypt -o out.age in 2>err || exit 1
	grep -q "kluis: encrypt: need -r, -R or --passphrase" err
	no_file out.age
'

t 'encrypt with both -r and --passphrase exits 2' '
	fresh
	echo data >in
	r=age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
	echo pw >pw
	expect_exit 2 "$KLUIS" encrypt -r $r --passphrase-file pw -o out.age in 2>err || exit 1
	grep -q "exclude each other" err
	no_file out.age
'

t 'encrypt with a malformed recipient exits 2 naming it' '
	fresh
	echo data >in
	expect_exit 2 "$KLUIS" encrypt -r age1notakey -o out.age in 2>err || exit 1
	grep -q "age1notakey" err
	no_file out.age
'

t 'a secret key given as a recipient is refused and never echoed' '
	fresh
	echo data >in
	age-keygen -o id.txt 2>/dev/null
	sk=$(grep "^AGE-SECRET-KEY-1" id.txt)
	expect_exit 2 "$KLUIS" encrypt -r "$sk" -o out.age in 2>err || exit 1
	grep -q "kluis: encrypt: -r" err
	! grep -qi "${sk#AGE-SECRET-KEY-1}" err || exit 1
	lower=$(echo "$sk" | tr A-Z a-z)
	expect_exit 2 "$KLUIS" encrypt -r "$lower" -o out.age in 2>err || exit 1
	! grep -qi "${sk#AGE-SECRET-KEY-1}" err || exit 1
	expect_exit 2 "$KLUIS" encrypt -R id.txt -o out.age in 2>err || exit 1
	grep -q "id.txt: line 3: not an X25519 recipient" err
	! grep -qi "${sk#AGE-SECRET-KEY-1}" err || exit 1
	no_file out.age
'

t 'encrypt with two input files exits 2' '
	fresh
	echo a >a; echo b >b
	r=age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
	expect_exit 2 "$KLUIS" encrypt -r $r -o out.age a b 2>err || exit 1
	grep -q "only one input file" err
	no_file out.age
'

t 'encrypt refuses to write binary to a terminal' '
	fresh
	echo data >in
	r=age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
	"$PY" - "$KLUIS" "$r" <<-"EOF" >log 2>&1 || { cat log; exit 1; }
	import os, pty, sys
	pid, fd = pty.fork()
	if pid == 0:
	    os.execv(sys.argv[1], [sys.argv[1], "encrypt", "-r", sys.argv[2], "in"])
	out = b""
	while True:
	    try:
	        d = os.read(fd, 4096)
	    except OSError:
	        break
	    if not d:
	        break
	    out += d
	_, st = os.waitpid(pid, 0)
	sys.stdout.write(out.decode("utf-8", "replace"))
	sys.exit(0 if os.waitstatus_to_exitcode(st) == 2 and b"terminal" in out else 1)
	EOF
	grep -q "refusing to write binary to a terminal" log
'

t 'decrypt of a missing input file exits 2' '
	fresh
	echo "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33" >id
	expect_exit 2 "$KLUIS" decrypt -i id -o out nonexistent.age 2>err || exit 1
	grep -q "nonexistent.age: cannot open" err
	no_file out
'

t 'decrypt with a missing identity file exits 2' '
	fresh
	expect_exit 2 "$KLUIS" decrypt -i nonexistent.key -o out </dev/null 2>err || exit 1
	grep -q "nonexistent.key" err
	no_file out
'

t 'keygen without --out exits 2' '
	fresh
	expect_exit 2 "$KLUIS" keygen --no-passphrase 2>err || exit 1
	grep -q -- "--out PREFIX is required" err
	test "$(ls)" = err
'

t 'keygen with a stray argument exits 2' '
	fresh
	expect_exit 2 "$KLUIS" keygen --no-passphrase --out k extra 2>err || exit 1
	grep -q "unexpected argument .extra." err
	no_file k.pub
	no_file k.age.key
'

t 'keygen --no-passphrase with --passphrase-file exits 2' '
	fresh
	echo pw >pw
	expect_exit 2 "$KLUIS" keygen --no-passphrase --passphrase-file pw --out k 2>err || exit 1
	grep -q "exclude each other" err
	no_file k.pub
	no_file k.minisign.key
'

t 'sign without -s exits 2' '
	fresh
	echo data >f
	expect_exit 2 "$KLUIS" sign f 2>err || exit 1
	grep -q -- "-s KEY is required" err
	no_file f.minisig
'

t 'sign without a file exits 2' '
	fresh
	expect_exit 2 "$KLUIS" sign -s some.key 2>err || exit 1
	grep -q "exactly one FILE" err
'

t 'verify without a public key exits 2' '
	fresh
	echo data >f
	expect_exit 2 "$KLUIS" verify f 2>err || exit 1
	grep -q "need exactly one of -p PUBKEY or -P KEY" err
'

t 'verify with both -p and -P exits 2' '
	fresh
	echo data >f
	expect_exit 2 "$KLUIS" verify -p a.pub -P RWQx f 2>err || exit 1
	grep -q "need exactly one of -p PUBKEY or -P KEY" err
'

t 'verify without a file exits 2' '
	fresh
	expect_exit 2 "$KLUIS" verify -P RWQx 2>err || exit 1
	grep -q "exactly one FILE" err
'

t 'a passphrase is never taken from argv' '
	fresh
	echo data >in
	for c in encrypt decrypt; do
		expect_exit 2 "$KLUIS" $c --passphrase=secret -o out in 2>err || exit 1
		grep -q -- "--passphrase" err || { echo "$c:"; cat err; exit 1; }
		no_file out
	done
'

t 'encrypt --work-factor out of range exits 2' '
	fresh
	echo data >in; echo pw >pw
	expect_exit 2 "$KLUIS" encrypt --passphrase-file pw --work-factor 9 -o o.age in 2>err || exit 1
	grep -q -- "--work-factor must be 10" err
	expect_exit 2 "$KLUIS" encrypt --passphrase-file pw --work-factor 23 -o o.age in 2>err || exit 1
	expect_exit 2 "$KLUIS" encrypt --passphrase-file pw --work-factor 12x -o o.age in 2>err || exit 1
	no_file o.age
'

done_testing
