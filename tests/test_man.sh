#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The manual (doc/man3, doc/libdaxmap.3):
#  - every DAXMAP_API function of include/libdaxmap.h has doc/man3/<name>.3,
#    a page or a ".so man3/<family>.3" link to a page that names it in NAME
#    and declares it in SYNOPSIS;
#  - every page has NAME, SYNOPSIS, DESCRIPTION, RETURN VALUE, ERRORS,
#    THREAD SAFETY, NOTES, EXAMPLES and SEE ALSO, in that order;
#  - every page renders without a groff warning;
#  - every libdaxmap page named in a SEE ALSO or the text (NAME(3), daxmap(1))
#    of doc/ exists, also those doc/daxmap.1 names;
#  - every macro of the header is in doc/libdaxmap.3, every field of
#    struct daxmap_pool_stat, daxmap_pool_opts, daxmap_pool_info and
#    daxmap_region on its page;
#  - the C program of every EXAMPLES section compiles without warnings.
# usage: test_man.sh SOURCE_DIR [CC]
set -eu
src=$1
cc=${2:-cc}
hdr=$src/include/libdaxmap.h
doc=$src/doc
man3=$doc/man3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daxmap-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# the target of a ".so man3/x.3" link page, or nothing for a page
link_target() {
	sed -n 's|^\.so man3/\(.*\)$|\1|p' "$1"
}

# the text of section $2 of page $1 (the lines after .SH $2, up to the next .SH)
section() {
	awk -v want="$2" '
		/^\.SH / { h = substr($0, 5); gsub(/"/, "", h); on = (h == want); next }
		on' "$1"
}

command -v groff >/dev/null ||
	{ echo "FAIL: groff is missing (scripts/install-deps.sh installs groff-base)" >&2; exit 1; }

funcs=$(sh "$src/tests/api_functions.sh" "$hdr")
[ -n "$funcs" ] || fail "no DAXMAP_API function found in $hdr"
for f in $funcs; do
	page=$man3/$f.3
	if [ ! -f "$page" ]; then
		fail "$f has no page doc/man3/$f.3"
		continue
	fi
	target=$(link_target "$page")
	if [ -n "$target" ]; then
		page=$man3/$target
		[ -f "$page" ] || { fail "doc/man3/$f.3 links to a missing man3/$target"; continue; }
	fi
	section "$page" NAME | grep -qw "$f" || fail "$(basename "$page"): NAME does not name $f"
	section "$page" SYNOPSIS | grep -q "$f(" || fail "$(basename "$page"): SYNOPSIS does not declare $f"
done

required="NAME SYNOPSIS DESCRIPTION RETURN_VALUE ERRORS THREAD_SAFETY NOTES EXAMPLES SEE_ALSO"
for page in "$man3"/*.3; do
	name=$(basename "$page")
	target=$(link_target "$page")
	if [ -n "$target" ]; then
		[ "$(wc -l < "$page")" -eq 1 ] || fail "$name: a link page is its .so line only"
		[ -f "$man3/$target" ] && [ -z "$(link_target "$man3/$target")" ] ||
			fail "$name: links to man3/$target, which is not a page"
		continue
	fi
	# the required sections must come in this order, others may sit between
	have=$(sed -n 's/^\.SH "*\([^"]*\)"*$/\1/p' "$page" | tr ' ' '_' | tr '\n' ' ')
	rest=" $have"
	for s in $required; do
		case "$rest" in
		*" $s "*) rest=" ${rest#*" $s "}" ;;
		*) fail "$name: no $(echo "$s" | tr _ ' ') section (or out of order; has: $have)" ;;
		esac
	done
	grep -q '^\.EX$' "$page" || fail "$name: EXAMPLES has no .EX program"
done

# rendering: from doc/, so that ".so man3/x.3" resolves as it will installed
for page in "$doc"/libdaxmap.3 "$man3"/*.3; do
	rel=${page#"$doc"/}
	out=$(cd "$doc" && groff -man -Tutf8 -ww -z "$rel" 2>&1) || fail "$rel: groff failed"
	[ -z "$out" ] || fail "$rel: groff warns: $out"
done

# cross references to libdaxmap pages, in every page of doc/
for page in "$doc"/*.[13] "$man3"/*.3; do
	refs=$(sed -n 's/^\.BR \([a-z_0-9]*\) (\([0-9]\)).*$/\1 \2/p; s/.*\\fB\([a-z_0-9]*\)\\f[RP](\([0-9]\)).*/\1 \2/p' "$page" |
		grep -E '^(lib)?daxmap' || true)
	echo "$refs" | while read -r ref sec; do
		[ -n "$ref" ] || continue
		[ -f "$man3/$ref.$sec" ] || [ -f "$doc/$ref.$sec" ] ||
			echo "$(basename "$page") refers to $ref($sec), which has no page"
	done > "$tmp/refs"
	[ ! -s "$tmp/refs" ] || fail "$(cat "$tmp/refs")"
done

for m in $(sed -n 's/^#define \([A-Z][A-Z0-9_]*\).*/\1/p' "$hdr"); do
	grep -q "\\b$m\\b" "$doc/libdaxmap.3" || fail "macro $m is not in doc/libdaxmap.3"
done

# every field of a struct of the header is a ".I field" paragraph of its page
# (or a word of ".IR a ", " b" for fields declared together, "int a, b;")
fields() {
	awk -v s="struct $1 {" '
		index($0, s) == 1 { on = 1; next }
		on && /^};/ { on = 0 }
		on {
			sub(/\/\*.*/, "")
			if (!sub(/;.*/, ""))
				next
			gsub(/\[[A-Za-z_0-9]*\]/, "")
			n = split($0, decl, ",")
			sub(/.*[ *]/, "", decl[1]) # the type goes
			for (i = 1; i <= n; i++) {
				gsub(/[ \t*]/, "", decl[i])
				print decl[i]
			}
		}' "$hdr"
}
for pair in daxmap_pool_stat:daxmap_pool_stat daxmap_pool_opts:daxmap_pool_opts_init \
	daxmap_pool_info:daxmap_pool_inspect daxmap_region:daxmap_pool_inspect; do
	st=${pair%:*}
	page=$man3/${pair#*:}.3
	n=0
	for field in $(fields "$st"); do
		n=$((n + 1))
		grep -Eqx -e "\\.I $field" -e "\\.IR (.* )?$field( .*)?" "$page" ||
			fail "struct $st: field $field is not on $(basename "$page")"
	done
	[ "$n" -gt 0 ] || fail "struct $st: no field found in $hdr"
done

# the examples: the lines between .EX and .EE, roff escapes undone
for page in "$man3"/*.3; do
	[ -z "$(link_target "$page")" ] || continue
	name=$(basename "$page" .3)
	awk '/^\.EE$/ { on = 0 } on; /^\.EX$/ { on = 1 }' "$page" |
		sed 's/\\-/-/g; s/\\(aq/'"'"'/g; s/\\(dq/"/g; s/\\&//g; s/\\e/\\/g' > "$tmp/$name.c"
	"$cc" -std=gnu11 -Wall -Wextra -Werror -fsyntax-only -I"$src/include" "$tmp/$name.c" \
		2> "$tmp/$name.err" || fail "$name.3: its example does not compile: $(cat "$tmp/$name.err")"
done

if [ "$failures" -ne 0 ]; then
	echo "test_man: $failures failures" >&2
	exit 1
fi
echo "test_man: $(echo "$funcs" | wc -w) functions, $(ls "$man3" | wc -l) pages: all good"
