#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what is missing, builds, and runs the whole test suite:
#  1. gcc, Debug: every CUnit program, pools in /dev/shm (tmpfs);
#  2. the persistence suites again with pools on a disk file system
#     (DAXMAP_DISK_TEST_DIR, default /var/tmp), where persistence is msync;
#     and the whole gcc Debug suite again with PMEM_IS_PMEM_FORCE=1, so the
#     persistence path of real pmem (pmem_persist cache flushes, 64-byte
#     crash granularity in test_crash) runs on every submission (~90 s);
#  3. clang with -Wthread-safety -Werror: the lock annotations must hold;
#  4. clang, AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite;
#  5. clang, ThreadSanitizer: the suite but test_stress and test_fsx
#     (doc/LOCKING.md, "Sanitizers", says why each exclusion and
#     suppression is there).
# Set DAXMAP_TEST_DIR to put the first run's pools elsewhere.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

echo "== clang build: warnings and thread-safety analysis as errors"
CC=clang ./scripts/build.sh build-clang Debug -DDAXMAP_BENCH=OFF

echo "== gcc Release build (the demo's configuration, tests compiled too): -O2 warnings as errors"
CC=gcc ./scripts/build.sh build Release -DDAXMAP_TESTS=ON

echo "== gcc Debug build"
CC=gcc ./scripts/build.sh build-test Debug

echo "== suite on a disk file system (${DAXMAP_DISK_TEST_DIR:-/var/tmp})"
(cd build-test && DAXMAP_TEST_DIR="${DAXMAP_DISK_TEST_DIR:-/var/tmp}" \
	ctest --output-on-failure -R 'test_(pool|fault|freed|object|grow|mapknown|small)$')

echo "== full suite (pools in ${DAXMAP_TEST_DIR:-/dev/shm})"
(cd build-test && ctest --output-on-failure)

echo "== full suite again as on real pmem (PMEM_IS_PMEM_FORCE=1: cache-flush persistence)"
# (without the reruns of test_mm and test_fsx on objects made of blocks: those
# of the stage above; blocks' persistence here is test_small's and test_crash's)
# (nor the several-processes suites: coherence between processes, which the
# persistence mode does not change; they run in every other stage)
(cd build-test && PMEM_IS_PMEM_FORCE=1 ctest --output-on-failure \
	-E '(_blocks|^test_shared|^test_sqlite_multi|^test_kvstore_readers)$')

echo "== AddressSanitizer + UndefinedBehaviorSanitizer: full suite"
CC=clang ./scripts/build.sh build-asan Debug -DDAXMAP_BENCH=OFF \
	-DDAXMAP_SANITIZE=address,undefined
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest --output-on-failure -E '^test_fsx_blocks$')

echo "== ThreadSanitizer: suite without test_stress, test_fsx and the examples' several-process suites"
# (the library's shared-pool code runs under it in test_shared)
CC=clang ./scripts/build.sh build-tsan Debug -DDAXMAP_BENCH=OFF -DDAXMAP_SANITIZE=thread
(cd build-tsan && TSAN_OPTIONS="suppressions=$(pwd)/../tests/tsan.supp die_after_fork=0" \
	ctest --output-on-failure \
	-E '^(test_stress|test_fsx|test_fsx_blocks|test_sqlite_multi|test_kvstore_readers)$')

suites=5
echo "== fuzzing pool images (${DAXMAP_FUZZ_TIME:-60}s; DAXMAP_FUZZ_TIME=0 skips)"
if [ "${DAXMAP_FUZZ_TIME:-60}" != 0 ]; then
	./scripts/fuzz.sh "${DAXMAP_FUZZ_TIME:-60}"
	suites=7
fi

# every step above stops the script on failure (set -e): reaching here means
# the disk suite, the full suite, the full suite as on pmem, ASan+UBSan, TSan
# and, unless skipped, the fuzzer and the replay of its regressions all passed
echo "suites: $suites passed, 0 failed"
