#!/bin/sh
# Installs what is missing, builds, and runs the whole test suite:
#  1. gcc, Debug: every CUnit program, pools in /dev/shm (tmpfs);
#  2. the persistence suites again with pools on a disk file system
#     (DAXMAP_DISK_TEST_DIR, default /var/tmp), where persistence is msync;
#  3. clang with -Wthread-safety -Werror: the lock annotations must hold.
# Set DAXMAP_TEST_DIR to put the first run's pools elsewhere.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

echo "== clang build: warnings and thread-safety analysis as errors"
CC=clang ./scripts/build.sh build-clang Debug -DDAXMAP_BENCH=OFF

echo "== gcc Release build (the demo's configuration): -O2 warnings as errors"
CC=gcc ./scripts/build.sh build Release -DDAXMAP_TESTS=OFF

echo "== gcc Debug build"
CC=gcc ./scripts/build.sh build-test Debug

echo "== suite on a disk file system (${DAXMAP_DISK_TEST_DIR:-/var/tmp})"
(cd build-test && DAXMAP_TEST_DIR="${DAXMAP_DISK_TEST_DIR:-/var/tmp}" \
	ctest --output-on-failure -R 'test_(pool|fault)$')

echo "== full suite (pools in ${DAXMAP_TEST_DIR:-/dev/shm})"
cd build-test
ctest --output-on-failure

echo "== fuzzing pool images (${DAXMAP_FUZZ_TIME:-60}s; DAXMAP_FUZZ_TIME=0 skips)"
cd ..
if [ "${DAXMAP_FUZZ_TIME:-60}" != 0 ]; then
	./scripts/fuzz.sh "${DAXMAP_FUZZ_TIME:-60}"
fi
