#!/usr/bin/env bash
# The main paths under valgrind (memcheck): encrypt (X25519 and
# passphrase), decrypt (binary, armored, passphrase, and a damaged file that
# must fail), sign and verify, and the protocol commands.  Each must keep its normal exit status and
# valgrind must report no errors and no definite or indirect leaks.
# Skipped under the sanitizers (KLUIS_SAN=1): valgrind and they do not mix.
. "$(dirname "$0")/lib.sh"

if [ "$KLUIS_SAN" = 1 ]; then
	echo "# valgrind and the sanitizers do not mix; the ASan run checks memory instead"
	skip 'kluis under valgrind' 'KLUIS_SAN=1 (sanitizer build)'
	done_testing
	exit
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "# valgrind is not installed"
	skip 'kluis under valgrind' 'valgrind not installed'
	done_testing
	exit
fi

unset KLUIS_PASSPHRASE
cd "$T" || exit 2

# vg STATUS LOG CMD...: run CMD under valgrind; it must exit STATUS (99
# means valgrind found errors) and LOG must show no definite losses.
vg() {
	local want=$1 log=$2 rc
	shift 2
	valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 -q --log-file="$log" "$@" && rc=0 || rc=$?
	if [ -s "$log" ]; then sed 's/^/valgrind: /' "$log"; fi
	if [ "$rc" -ne "$want" ]; then
		echo "exit status $rc, want $want (99 means valgrind errors)"
		return 1
	fi
	if grep -q "definitely lost" "$log"; then echo "definite leak"; return 1; fi
	if grep -q "ERROR SUMMARY: [1-9]" "$log"; then echo "valgrind errors"; return 1; fi
	return 0
}

age-keygen -o id.txt 2>/dev/null
R=$(age-keygen -y id.txt)
head -c 200000 /dev/urandom >data
printf "valgrind pass\n" >pw

t 'encrypt to an X25519 recipient' '
	vg 0 enc.log "$KLUIS" encrypt -r "$R" -o x.age data
	age -d -i id.txt x.age >piped.out
	cmp data piped.out
'

t 'encrypt with a passphrase (--work-factor 10), armored' '
	vg 0 encp.log "$KLUIS" encrypt --passphrase-file pw --work-factor 10 -a -o p.age data
	grep -q "^-----BEGIN AGE ENCRYPTED FILE-----" p.age
'

t 'decrypt binary' '
	vg 0 dec.log "$KLUIS" decrypt -i id.txt -o x.out x.age
	cmp data x.out
'

t 'decrypt armored, from a passphrase' '
	vg 0 decp.log "$KLUIS" decrypt --passphrase-file pw -o p.out p.age
	cmp data p.out
'

t 'decrypt armored to stdout (age-made file)' '
	age -r "$R" -a -o a.age data
	vg 0 deca.log "$KLUIS" decrypt -i id.txt a.age >a.out
	cmp data a.out
'

t 'decrypt of a damaged file fails with exit 1' '
	cp x.age bad.age
	"$PY" -c "import sys; p=sys.argv[1]; d=bytearray(open(p,\"rb\").read()); d[100000]^=1; open(p,\"wb\").write(d)" bad.age
	vg 1 bad.log "$KLUIS" decrypt -i id.txt -o bad.out bad.age
	no_file bad.out
	vg 1 bad2.log "$KLUIS" decrypt -i id.txt bad.age >/dev/null
'

t 'decrypt with the wrong identity fails with exit 1' '
	age-keygen -o other.txt 2>/dev/null
	vg 1 wrong.log "$KLUIS" decrypt -i other.txt -o w.out x.age
	no_file w.out
'

t 'keygen --no-passphrase' '
	vg 0 keygen.log "$KLUIS" keygen --no-passphrase --out k --label VG
	test -s k.minisign.key
'

t 'sign (prehashed and legacy)' '
	vg 0 sign.log "$KLUIS" sign -s k.minisign.key -t "under valgrind" data
	minisign -V -p k.minisign.pub -m data >/dev/null
	vg 0 signl.log "$KLUIS" sign -s k.minisign.key -l -x data.leg data
	minisign -V -p k.minisign.pub -m data -x data.leg >/dev/null
'

t 'verify (good, and altered with exit 1)' '
	vg 0 verify.log "$KLUIS" verify -p k.pub data
	vg 0 verifyl.log "$KLUIS" verify -p k.minisign.pub -x data.leg data
	sed "3s/\$/x/" data.minisig >bad.sig
	vg 1 verifyb.log "$KLUIS" verify -p k.pub -x bad.sig data
'

t 'protocol check, set-keys, render (md, html), and a broken protocol' '
	P=$KLUIS_SRC/protocols/opgroeien-serv-2021.json
	"$KLUIS" keygen --no-passphrase --out r --label R >/dev/null
	vg 0 pcheck.log "$KLUIS" protocol check "$P" >/dev/null
	vg 0 pkeys.log "$KLUIS" protocol set-keys "$P" --discloser k.pub \
		--recipient r.pub -o keyed.json >/dev/null
	vg 0 pmd.log "$KLUIS" protocol render keyed.json -o p.md
	vg 0 phtml.log "$KLUIS" protocol render keyed.json --format html -o p.html
	sed "s/\"type\": \"date\"/\"type\": \"datum\"/" "$P" >broken.json
	vg 1 pbad.log "$KLUIS" protocol check broken.json >/dev/null
'

t 'export (dirty register, ledger, .eml), a refusal, ledger, a dry run' '
	"$(dirname "$KLUIS")/tools/kluis-gen" --rows 3000 --dirty 5 --seed 4 \
		--out reg.csv
	mkdir -p out
	vg 0 export.log "$KLUIS" export -q -p keyed.json -r reg.csv -t r.pub \
		-s k.minisign.key -o out --ledger l.db --key-column Dossiernummer \
		--mail-to a@b.example --mail-from c@d.example
	vg 1 once.log "$KLUIS" export -q -p keyed.json -r reg.csv -t r.pub \
		-s k.minisign.key -o out --ledger l.db 2>/dev/null
	vg 0 dry.log "$KLUIS" export -n --json -p keyed.json -r reg.csv \
		--encoding utf-8 >/dev/null
	id=$(ls out | sed -n "s/\.age$//p")
	vg 0 list.log "$KLUIS" ledger list --ledger l.db >/dev/null
	vg 0 resolve.log "$KLUIS" ledger resolve --ledger l.db "$id" 5 >/dev/null
'

t 'workspace: init, receive, status, reidentify, audit, refusals' '
	id=$(ls out | sed -n "s/\.age$//p")
	export KLUIS_PASSPHRASE="valgrind pass"
	vg 0 init.log "$KLUIS" init ws -p keyed.json -i r.age.key -u vg >/dev/null
	vg 0 recv.log "$KLUIS" receive ws "out/$id.age" --json >recv.json
	vg 0 status.log "$KLUIS" status ws >/dev/null
	vg 0 statusj.log "$KLUIS" status --json ws >/dev/null
	vg 0 reid.log "$KLUIS" reidentify ws --record 1 --purpose vg --json >/dev/null
	vg 0 alist.log "$KLUIS" audit list ws --json >/dev/null
	vg 0 averify.log "$KLUIS" audit verify ws >/dev/null
	vg 1 replay.log "$KLUIS" receive ws "out/$id.age" 2>/dev/null
	KLUIS_PASSPHRASE=wrong vg 1 wrongpw.log "$KLUIS" reidentify ws --record 1 \
		--purpose vg 2>/dev/null
	vg 2 nocode.log "$KLUIS" reidentify ws 0000-0000-0000-0 --purpose vg 2>/dev/null
'

t 'usage errors' '
	vg 2 usage.log "$KLUIS" encrypt --frobnicate
	vg 0 help.log "$KLUIS" --help
'

done_testing
