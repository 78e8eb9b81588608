#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every source file of the tree (C, shell, CMake, templates, the symbol map,
# man pages) carries the licence in an SPDX line among its first two lines;
# a man page that is only a ".so" link is exempt (test_man: one line only).
# usage: test_spdx.sh SOURCE_DIR
set -eu
cd "$1"
missing=$(find . -type d \( -name '.git' -o -name 'build*' \) -prune -o -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name 'CMakeLists.txt' -o -name '*.cmake' \
	-o -name '*.in' -o -name '*.map' -o -name '*.[13]' -o -path './.ci/*' \) -print |
	while read -r f; do
		head -n 2 "$f" | grep -q 'SPDX-License-Identifier: BSD-3-Clause' && continue
		case "$f" in *.3) [ "$(sed -n '1s/^\.so .*/link/p' "$f")" = link ] && continue ;; esac
		echo "$f"
	done | sort)
if [ -n "$missing" ]; then
	echo "FAIL: no SPDX-License-Identifier line at the top of:" >&2
	echo "$missing" >&2
	exit 1
fi
echo "test_spdx: every source file has its SPDX line"
