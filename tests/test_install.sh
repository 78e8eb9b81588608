#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What a packager and a user of an installed libdaxmap see:
#  1. `cmake --install BUILD --prefix P` installs the library, header, tool,
#     man pages, pkg-config file and CMake package;
#  2. a program built with `pkg-config --cflags --libs libdaxmap`, one built
#     with CMake's find_package(libdaxmap) + libdaxmap::libdaxmap, and the
#     README's program built with the README's pkg-config line each run
#     (daxmap_version() is this version; a pool is created and closed);
#     find_package refuses another minor version;
#  3. the installed .so exports daxmap_* only, each versioned LIBDAXMAP_0.1,
#     every DAXMAP_API function among them; its soname is libdaxmap.so.0;
#  4. `man -M P/share/man NAME` finds and renders every function's page;
#  5. the core configures and builds with SQLite out of pkg-config's reach
#     (DAXMAP_EXAMPLES/TESTS/BENCH=OFF), with DAXMAP_STATIC=ON and an absolute
#     CMAKE_INSTALL_LIBDIR: its .pc has that libdir as it is, libdaxmap.a
#     defines daxmap_* only, and libdaxmap::libdaxmap_static links a program
#     that does not need libdaxmap.so.
# usage: test_install.sh SOURCE_DIR BUILD_DIR CC CMAKE VERSION [SANITIZER_CFLAGS]
# With sanitizer flags it skips (exit 77): the installed library then needs
# the sanitizer runtime, which is no packaging matter.
set -eu
src=$1
build=$2
cc=$3
cmake=$4
version=$5
if [ -n "${6:-}" ]; then
	echo "test_install: skipped in a sanitizer build"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daxmap-install.XXXXXX")
pools=$(mktemp -d "${DAXMAP_TEST_DIR:-/dev/shm}/daxmap-install.XXXXXX")
trap 'rm -rf "$tmp" "$pools"' EXIT
prefix=$tmp/prefix
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# runs "$@" quietly; on failure shows its output and stops the test
run() {
	if ! "$@" > "$tmp/run.log" 2>&1; then
		cat "$tmp/run.log" >&2
		echo "FAIL: $*" >&2
		exit 1
	fi
}

# --- 1. install -------------------------------------------------------------
run "$cmake" --install "$build" --prefix "$prefix"
pc=$(find "$prefix" -name libdaxmap.pc)
[ -n "$pc" ] || { echo "FAIL: no libdaxmap.pc installed under $prefix" >&2; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/libdaxmap.h" "$libdir/libdaxmap.so.0" \
	"$libdir/cmake/libdaxmap/libdaxmapConfig.cmake" \
	"$libdir/cmake/libdaxmap/libdaxmapConfigVersion.cmake" \
	"$prefix/share/man/man1/daxmap.1" "$prefix/share/man/man3/libdaxmap.3"; do
	[ -f "$f" ] || fail "not installed: $f"
done
[ -x "$prefix/bin/daxmap" ] || fail "the daxmap tool is not installed"
if grep -q '^DAXMAP_INSTALL_EXAMPLES:BOOL=ON$' "$build/CMakeCache.txt"; then
	for f in "$prefix/bin/daxkv" "$libdir/libdaxmap/daxmapvfs.so" "$libdir/libdaxmap/daxmap_preload.so"; do
		[ -f "$f" ] || fail "not installed with DAXMAP_INSTALL_EXAMPLES: $f"
	done
else
	[ ! -e "$prefix/bin/daxkv" ] || fail "daxkv installed without DAXMAP_INSTALL_EXAMPLES"
fi
for page in "$src"/doc/man3/*.3; do
	cmp -s "$page" "$prefix/share/man/man3/$(basename "$page")" ||
		fail "man page $(basename "$page") not installed"
done

cat > "$tmp/consumer.c" <<'C'
#include <libdaxmap.h> /* first: the header is self-contained */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	daxmap_pool *pool;

	if (argc != 3 || strcmp(daxmap_version(), argv[2]) != 0) {
		fprintf(stderr, "daxmap_version() is %s\n", daxmap_version());
		return 1;
	}
	if (daxmap_pool_create(&pool, argv[1], DAXMAP_MIN_POOL_SIZE, 0600) < 0 ||
	    daxmap_pool_close(pool) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], daxmap_errormsg());
		return 1;
	}
	return 0;
}
C

# a CMake project that links the consumer with target $2 of find_package($1)
cmake_consumer() {
	mkdir -p "$tmp/$3"
	cat > "$tmp/$3/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(libdaxmap $1 REQUIRED)
add_executable(consumer "$tmp/consumer.c")
target_link_libraries(consumer $2)
CM
}

# --- 2. pkg-config, the README's line, CMake --------------------------------
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion libdaxmap)" = "$version" ] ||
	fail "pkg-config --modversion libdaxmap: $(pkg-config --modversion libdaxmap)"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
run "$cc" -Wall -Wextra -Werror "$tmp/consumer.c" $(pkg-config --cflags --libs libdaxmap) \
	-o "$tmp/pc_consumer"
LD_LIBRARY_PATH=$libdir run "$tmp/pc_consumer" "$pools/pc.pool" "$version"
nm -D "$tmp/pc_consumer" | grep -q ' U daxmap_version@LIBDAXMAP_0.1$' ||
	fail "the consumer does not bind daxmap_version@LIBDAXMAP_0.1"

mkdir "$tmp/readme"
awk '/^```c$/ { n++; on = (n == 1); next } /^```/ { on = 0 } on' "$src/README.md" > "$tmp/readme/app.c"
line=$(grep '^cc app.c .*pkg-config --cflags --libs libdaxmap' "$src/README.md" | head -n 1)
[ -n "$line" ] || fail "README.md shows no pkg-config compile line"
(cd "$tmp/readme" && run sh -c "$line")
LD_LIBRARY_PATH=$libdir run "$tmp/readme/app" "$pools/readme.pool"

cmake_consumer "$version" libdaxmap::libdaxmap cm
run "$cmake" -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc"
run "$cmake" --build "$tmp/cm/build"
LD_LIBRARY_PATH=$libdir run "$tmp/cm/build/consumer" "$pools/cm.pool" "$version"
major=${version%%.*}
minor=${version#*.}
minor=${minor%%.*}
cmake_consumer "$major.$((minor + 1))" libdaxmap::libdaxmap cm_next
if "$cmake" -S "$tmp/cm_next" -B "$tmp/cm_next/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" > "$tmp/cm_next.log" 2>&1; then
	fail "find_package(libdaxmap $major.$((minor + 1))) accepted version $version"
fi

# --- 3. the exported symbols ------------------------------------------------
so=$libdir/libdaxmap.so.0
readelf -d "$so" | grep -q 'SONAME.*\[libdaxmap\.so\.0\]' || fail "soname of $so is not libdaxmap.so.0"
nm -D --defined-only "$so" | awk '{ print $NF }' > "$tmp/exports"
bad=$(grep -v -x -e 'LIBDAXMAP_0\.1' -e 'daxmap_[a-z0-9_]*@@LIBDAXMAP_0\.1' "$tmp/exports" || true)
[ -z "$bad" ] || fail "exported besides daxmap_*@@LIBDAXMAP_0.1: $bad"
for f in $(sh "$src/tests/api_functions.sh" "$src/include/libdaxmap.h"); do
	grep -qx "$f@@LIBDAXMAP_0.1" "$tmp/exports" || fail "$f is not exported as $f@@LIBDAXMAP_0.1"
done

# --- 4. man -----------------------------------------------------------------
if command -v man >/dev/null; then
	for f in $(sh "$src/tests/api_functions.sh" "$src/include/libdaxmap.h") libdaxmap; do
		man -M "$prefix/share/man" -w 3 "$f" > /dev/null 2>&1 || fail "man 3 $f finds no page"
		MANWIDTH=80 man -M "$prefix/share/man" -P cat 3 "$f" 2> /dev/null | grep -q "$f" ||
			fail "man 3 $f does not show $f"
	done
	man -M "$prefix/share/man" -w 1 daxmap > /dev/null 2>&1 || fail "man 1 daxmap finds no page"
else
	echo "test_install: no man(1): checked the installed files only"
fi

# --- 5. the core alone: no SQLite, static, an absolute libdir ---------------
core=$tmp/core
abslib=$tmp/abs/lib
mkdir -p "$tmp/pc-min"
for m in libpmem libunwind; do
	ln -s "$(pkg-config --variable pcfiledir "$m")/$m.pc" "$tmp/pc-min/$m.pc"
done
# SQLite out of reach indeed: the examples cannot configure so
if PKG_CONFIG_LIBDIR=$tmp/pc-min PKG_CONFIG_PATH='' "$cmake" -S "$src" -B "$tmp/examples" \
	-DCMAKE_C_COMPILER="$cc" -DDAXMAP_TESTS=OFF -DDAXMAP_BENCH=OFF > "$tmp/examples.log" 2>&1 ||
	! grep -q sqlite3 "$tmp/examples.log"; then
	fail "SQLite is still visible: the examples configured (or failed for another reason)"
fi
PKG_CONFIG_LIBDIR=$tmp/pc-min PKG_CONFIG_PATH='' run "$cmake" -S "$src" -B "$core" \
	-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
	-DDAXMAP_EXAMPLES=OFF -DDAXMAP_TESTS=OFF -DDAXMAP_BENCH=OFF \
	-DDAXMAP_STATIC=ON -DCMAKE_INSTALL_PREFIX="$tmp/core-prefix" -DCMAKE_INSTALL_LIBDIR="$abslib"
! grep -q -e '^SQLITE3_' -e '^LMDB_' "$core/CMakeCache.txt" || fail "the core's configuration looked for SQLite or LMDB"
run "$cmake" --build "$core" -j 2
# (with an absolute libdir, CMake's exported targets carry the configured
# prefix, so this one is installed to it, not with --prefix)
run "$cmake" --install "$core"
grep -qx "libdir=$abslib" "$abslib/pkgconfig/libdaxmap.pc" ||
	fail "libdaxmap.pc with CMAKE_INSTALL_LIBDIR=$abslib: $(grep '^libdir=' "$abslib/pkgconfig/libdaxmap.pc")"
grep -qx 'includedir=${prefix}/include' "$abslib/pkgconfig/libdaxmap.pc" ||
	fail "libdaxmap.pc: $(grep '^includedir=' "$abslib/pkgconfig/libdaxmap.pc")"
libs=$(PKG_CONFIG_PATH=$abslib/pkgconfig pkg-config --libs libdaxmap)
[ "$(echo $libs)" = "-L$abslib -ldaxmap" ] || fail "pkg-config --libs with an absolute libdir: $libs"
PKG_CONFIG_PATH=$abslib/pkgconfig pkg-config --static --libs libdaxmap | grep -q -- '-lpmem' ||
	fail "pkg-config --static --libs libdaxmap lacks -lpmem"
bad=$(nm -g --defined-only "$abslib/libdaxmap.a" | awk 'NF == 3 { print $3 }' | grep -v '^daxmap_' || true)
[ -z "$bad" ] || fail "libdaxmap.a defines besides daxmap_*: $bad"
cmake_consumer "$version" libdaxmap::libdaxmap_static cm_static
run "$cmake" -S "$tmp/cm_static" -B "$tmp/cm_static/build" -DCMAKE_C_COMPILER="$cc" \
	-Dlibdaxmap_DIR="$abslib/cmake/libdaxmap"
run "$cmake" --build "$tmp/cm_static/build"
! readelf -d "$tmp/cm_static/build/consumer" | grep -q 'NEEDED.*libdaxmap' ||
	fail "the program linked with libdaxmap::libdaxmap_static needs libdaxmap.so"
run "$tmp/cm_static/build/consumer" "$pools/static.pool" "$version"

if [ "$failures" -ne 0 ]; then
	echo "test_install: $failures failures" >&2
	exit 1
fi
echo "test_install: installed, used from pkg-config and CMake (shared and static), symbols and man pages checked"
