#!/usr/bin/env bash
# Builds the library and the benchmark in Release (-O2) under build/bench and runs it.
# Usage: bench/run.sh     (exit status 1 when the budget check is below its target)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DB2B_BUILD_TESTS=OFF -DB2B_BUILD_EXAMPLES=OFF \
    -DB2B_BUILD_BENCH=ON -DB2B_BUILD_PYTHON=OFF -DB2B_BUILD_NODE=OFF -DB2B_BUILD_SERVER=OFF \
    >/dev/null
cmake --build "$build" -j 2 --target bench_check >/dev/null
"$build/bench/bench_check"
