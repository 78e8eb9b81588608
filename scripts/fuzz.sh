#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds the libFuzzer target with clang (ASan + UBSan, build-fuzz/) and runs
# it over pool images for a bounded time (default 60 s: $1 or
# DAXMAP_FUZZ_TIME), starting from tests/fuzz/corpus/. New inputs go to a
# scratch corpus (build-fuzz/corpus), not into the source tree. Any crash,
# hang, leak or sanitizer report fails; the input is left in
# build-fuzz/artifacts/: copy it to tests/fuzz/regressions/ once the bug is
# fixed, so fuzz_regressions replays it from then on.
set -eu
cd "$(dirname "$0")/.."
time=${1:-${DAXMAP_FUZZ_TIME:-60}}
dir=build-fuzz
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DDAXMAP_FUZZ=ON \
	-DDAXMAP_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz_pool fuzz_replay
mkdir -p "$dir/corpus" "$dir/artifacts"
echo "== fuzz_pool for ${time}s"
# libFuzzer's own leak check is on; the handler threads of an open pool make
# each input slow enough that 10 s per input means a hang
"$dir/tests/fuzz/fuzz_pool" -max_total_time="$time" -timeout=10 -rss_limit_mb=4096 \
	-max_len=73729 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
	"$dir/corpus" tests/fuzz/corpus
echo "== replaying tests/fuzz/regressions under the sanitizers"
"$dir/tests/fuzz/fuzz_replay" tests/fuzz/regressions tests/fuzz/corpus >/dev/null
