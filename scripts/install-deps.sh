#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs the Debian 12 packages libdaxmap needs to build, test and benchmark
# (as root). Packages already present are left alone; apt-get update runs only
# when something is missing.
set -eu
PKGS="build-essential cmake pkg-config clang libpmem-dev libunwind-dev libcunit1-dev linux-libc-dev liblmdb-dev libsqlite3-dev sqlite3 liburing-dev groff-base man-db"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "install-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
