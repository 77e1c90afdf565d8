# Shell test library, sourced by every tests/sh/t*.sh.
#
#   t 'description' 'commands'   run commands with `set -e` in a subshell;
#                                 the test passes when they exit 0
#   expect_exit N cmd...          run cmd, fail unless it exits with N
#   no_file PATH                  fail if PATH exists
#   skip 'description' 'reason'   count a skipped test (TAP "ok … # SKIP")
#   ttyrun PASS cmd...            cmd on a pseudo-terminal, prompts answered
#
# Environment: KLUIS (binary under test), KLUIS_SRC (repository root),
# KLUIS_SAN=1 under ASan+UBSan or TSan.  Each script gets a fresh $T directory.
set -u
: "${KLUIS:?KLUIS must point at the kluis binary}"
KLUIS_SRC=${KLUIS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
KLUIS_SAN=${KLUIS_SAN:-0}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/kluis-test.XXXXXX")
_SMTPD_PIDS=()
_cleanup() {
	local p
	for p in "${_SMTPD_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap _cleanup EXIT
_n=0
_failed=0

t() {
	local desc=$1 body=$2 rc
	_n=$((_n + 1))
	( set -e; cd "$T"; eval "$body" ) >"$T/.log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok $_n - $desc"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $desc"
		tail -n 15 "$T/.log" | sed 's/^/# /'
	fi
}

skip() {
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

expect_exit() {
	local want=$1 rc
	shift
	# Inside `t` the body runs under set -e: capture the status without
	# letting a (wanted) failure end the body.
	"$@" && rc=0 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "expected exit $want, got $rc: $*" >&2
		return 1
	fi
}

no_file() {
	if [ -e "$1" ]; then
		echo "unexpected file: $1" >&2
		return 1
	fi
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ttyrun PASS CMD...: CMD on a pseudo-terminal, prompts answered with PASS.
ttyrun() { "$PY" "$KLUIS_SRC/tests/ttyrun.py" "$@"; }

# smtpd_start NAME [tests/smtpd.py options]: a real SMTP server (aiosmtpd)
# on 127.0.0.1 and a free port, storing mail in the Maildir $T/NAME; the
# port is in $T/NAME.port.  Stopped by pid when the script ends.
smtpd_start() {
	local name=$1 i
	shift
	"$PY" "$KLUIS_SRC/tests/smtpd.py" --maildir "$T/$name" \
		--portfile "$T/$name.port" "$@" 2>"$T/$name.log" &
	_SMTPD_PIDS+=($!)
	for i in $(seq 100); do
		[ -s "$T/$name.port" ] && return 0
		sleep 0.1
	done
	echo "# smtpd.py $name did not start:" >&2
	sed 's/^/# /' "$T/$name.log" >&2
	return 1
}
# smtpd_count NAME: messages in the Maildir $T/NAME.
smtpd_count() { find "$T/$1/new" "$T/$1/cur" -type f 2>/dev/null | wc -l; }

# parties DIR PROTOCOL: discloser (disc.*), recipient (rcpt.*) and an
# outsider (other.*) with unencrypted keys in DIR, and DIR/proto.json:
# PROTOCOL with the first two written in.
parties() {
	(
		cd "$1" &&
		"$KLUIS" keygen --out disc -W --label "Opgroeien regie" >/dev/null &&
		"$KLUIS" keygen --out rcpt -W --label SERV >/dev/null &&
		"$KLUIS" keygen --out other -W --label Iemand >/dev/null &&
		"$KLUIS" protocol set-keys "$2" --discloser disc.pub \
			--recipient rcpt.pub -o proto.json >/dev/null
	)
}

# done: print the plan; exit 1 if anything failed.
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
