#!/usr/bin/env bash
# The whole test suite: setup (packages + Release build), then every test under ctest (unit,
# integration and end-to-end runs of the shipped plans). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
# Debian's redis-server package may start a system instance; tests never use fixed ports, so it
# does no harm, but it is not needed either.
ctest --test-dir build --output-on-failure -j2 --timeout 600
