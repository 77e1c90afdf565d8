#!/bin/sh
# Install what kluis needs to build and test, on Debian 12.
#
# As root: installs every missing package with apt-get.  Otherwise: prints
# the exact `sudo apt-get install …` line and fails if anything is missing.
set -eu

BUILD_PKGS="gcc make pkg-config libsodium-dev libsqlite3-dev libcurl4-openssl-dev libjansson-dev libutf8proc-dev"
TEST_PKGS="age minisign python3 python3-aiosmtpd clang libclang-rt-14-dev valgrind bsdutils time sqlite3 binutils libtsan2"
PKGS="$BUILD_PKGS $TEST_PKGS"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends $missing; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends $missing
	fi
else
	echo "deps: missing packages:$missing" >&2
	echo "deps: run:  sudo apt-get install$missing" >&2
	exit 1
fi
