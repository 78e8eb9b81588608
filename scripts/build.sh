#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds libdaxmap into build/ (or $1) with the given CMake build type (default RelWithDebInfo).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
type=${2:-RelWithDebInfo}
shift $(( $# > 2 ? 2 : $# ))
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
