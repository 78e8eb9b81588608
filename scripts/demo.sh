#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs what is missing, builds, and runs the demo on a default pool file
# (/dev/shm/daxmap-demo.pool, or the path given).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh build Release -DDAXMAP_TESTS=OFF
./build/examples/daxmap_demo "$@"
