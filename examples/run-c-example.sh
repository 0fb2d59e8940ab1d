#!/usr/bin/env bash
# Builds the library and runs the C example (examples/plan_and_check.c).
# Usage: examples/run-c-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/examples
cmake -S . -B "$build" -DB2B_BUILD_TESTS=OFF -DB2B_BUILD_EXAMPLES=ON -DB2B_BUILD_BENCH=OFF \
    -DB2B_BUILD_PYTHON=OFF -DB2B_BUILD_NODE=OFF -DB2B_BUILD_SERVER=OFF >/dev/null
cmake --build "$build" -j 2 --target plan_and_check >/dev/null
exec "$build/examples/plan_and_check"
