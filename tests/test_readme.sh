#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The C program of README.md (its first ```c block) compiles, with warnings
# as errors, against this build, and runs as the README says: twice on a
# fresh pool path, the first run reads back "" and the second "hello".
# usage: test_readme.sh SOURCE_DIR LIBRARY_DIR CC [EXTRA_CFLAGS]
# (EXTRA_CFLAGS: the sanitizer flags the library was built with)
set -eu
src=$1
libdir=$2
cc=$3
extra=${4:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daxmap-readme.XXXXXX")
pools=$(mktemp -d "${DAXMAP_TEST_DIR:-/dev/shm}/daxmap-readme.XXXXXX")
trap 'rm -rf "$tmp" "$pools"' EXIT

awk '/^```c$/ { n++; on = (n == 1); next } /^```/ { on = 0 } on' "$src/README.md" > "$tmp/app.c"
[ -s "$tmp/app.c" ] || { echo "FAIL: README.md has no \`\`\`c block" >&2; exit 1; }
# shellcheck disable=SC2086 # $extra is a list of flags
"$cc" -std=gnu11 -Wall -Wextra -Werror $extra -I"$src/include" "$tmp/app.c" \
	-L"$libdir" -ldaxmap -Wl,-rpath,"$libdir" -o "$tmp/app" ||
	{ echo "FAIL: the README's program does not compile" >&2; exit 1; }

"$tmp/app" "$pools/app.pool" > "$tmp/run1" || { echo "FAIL: first run failed" >&2; exit 1; }
"$tmp/app" "$pools/app.pool" > "$tmp/run2" || { echo "FAIL: second run failed" >&2; exit 1; }
grep -qx 'read back: ""' "$tmp/run1" || { echo "FAIL: first run printed: $(cat "$tmp/run1")" >&2; exit 1; }
grep -qx 'read back: "hello"' "$tmp/run2" || { echo "FAIL: second run printed: $(cat "$tmp/run2")" >&2; exit 1; }
echo "test_readme: the README's program compiles and runs as shown"
