#!/usr/bin/env bash
# Builds b2bbudget and runs every check. This is the one test command (README, CI: .ci/run).
#
# Phases (each runs even when an earlier one failed, so one run shows every problem):
#   deps      install the Debian packages it needs (apt-get, only when something is missing)
#   build     everything with -Werror and line coverage, in build/coverage
#   ctest     all test labels (c, python, node) in that build
#   coverage  line coverage of lib/ with gcovr; fails below 95 %
#   asan      a second build with ASan+UBSan (bindings off) runs the "c" and "server" tests
#             (the server itself runs sanitized under the HTTP suite; a leak fails its exit)
#   valgrind  the "c" tests and the SQLite store, workflow and mail suites under valgrind (leaks
#             and errors fail)
#   install   installs into build/prefix and builds examples/ against it through pkg-config
#             and through find_package(b2bbudget), then runs both binaries
#   format    clang-format --dry-run --Werror over the project's own C sources
#
# Usage: tests/run.sh            Exit status 0 only when every phase passed.
# Environment: CI=true makes a missing Node.js an error instead of a skipped binding.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
jobs=2
export CMAKE_BUILD_PARALLEL_LEVEL=$jobs CTEST_PARALLEL_LEVEL=$jobs
logs=$root/build/logs
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/results "$logs"/build.ok

start_all=$(date +%s)
coverage_min=95

# Debian packages the build and the checks need. nodejs is deliberately absent: the development
# machines and CI already have Node.js 20 (Debian 12's own nodejs is 18); we only check for it.
# The server adds libuv, http-parser, SQLite and libpq; its store tests start a throwaway
# PostgreSQL cluster (tests/server/pg.sh); libcurl and OpenSSL serve Shopify, SMTP and HMACs;
# doxygen checks the library reference; Debian's Chromium (with a font) runs the portal's
# browser tests through playwright-core (tests/browser; never a downloaded browser).
packages=(build-essential cmake pkg-config git check libsubunit-dev libjansson-dev swig python3-dev
    valgrind gcovr clang-format libuv1-dev libhttp-parser-dev libsqlite3-dev libpq-dev postgresql
    libcurl4-openssl-dev libssl-dev sqlite3 tzdata doxygen chromium fonts-dejavu-core)

say() { printf '\n==> %s\n' "$*"; }

install_packages() {
    local missing=() p
    for p in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all Debian packages present"
        return 0
    fi
    echo "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

# Records a phase result: "name status passed failed" in $logs/results.
record() { echo "$1 $2 $3 $4" >>"$logs/results"; }

# Runs ctest with the given arguments in build dir $1, logs to $logs/$2.log, records the counts
# from ctest's summary line ("100% tests passed, 0 tests failed out of 12").
run_ctest() {
    local dir=$1 name=$2 rc=0 line total failed
    shift 2
    (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" "$@") 2>&1 |
        tee "$logs/$name.log" || rc=$?
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$logs/$name.log" |
        tail -n 1 || true)
    if [ -n "$line" ]; then
        total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
        failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
    else
        total=1 failed=1
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1 total=$((total + 1))
    fi
    record "$name" "$([ "$failed" -eq 0 ] && echo ok || echo FAILED)" $((total - failed)) "$failed"
    [ "$failed" -eq 0 ]
}

# Runs phase function $2 as step $1 in a subshell with `set -e` in force (a function called
# from `if` would silently lose it) and records a failure when the phase did not record itself.
phase() {
    local name=$1 fn=$2 t0 rc=0
    t0=$(date +%s)
    say "$name"
    set +e
    (
        set -euo pipefail
        "$fn"
    )
    rc=$?
    set -e
    if ! grep -q "^$name " "$logs/results" 2>/dev/null; then
        record "$name" "$([ $rc -eq 0 ] && echo ok || echo FAILED)" \
            "$([ $rc -eq 0 ] && echo 1 || echo 0)" "$([ $rc -eq 0 ] && echo 0 || echo 1)"
    elif [ $rc -ne 0 ] && ! grep -q "^$name FAILED" "$logs/results"; then
        record "$name" FAILED 0 1
    fi
    echo "--- $name: $([ $rc -eq 0 ] && echo ok || echo FAILED) ($(($(date +%s) - t0)) s)"
}

# ---- phases ----

node_opts=(-DB2B_BUILD_NODE=ON)

phase_build() {
    # Every option explicit: a cached value from an earlier configure must not linger.
    cmake -S . -B build/coverage -DB2B_WERROR=ON -DB2B_COVERAGE=ON -DB2B_SANITIZE=OFF \
        -DB2B_BUILD_TESTS=ON -DB2B_BUILD_EXAMPLES=ON -DB2B_BUILD_BENCH=ON -DB2B_BUILD_PYTHON=ON \
        -DB2B_BUILD_SERVER=ON "${node_opts[@]}"
    cmake --build build/coverage -j "$jobs"
    touch "$logs/build.ok"
}

phase_ctest() {
    # Never run the stale binaries of an earlier build.
    if [ ! -f "$logs/build.ok" ]; then
        echo "not run: the build failed" >&2
        return 1
    fi
    # Stale counters from an earlier run would inflate the coverage figure.
    find build/coverage -name '*.gcda' -delete
    run_ctest build/coverage ctest
}

phase_coverage() {
    local pct
    if [ ! -f "$logs/build.ok" ]; then
        echo "not run: the build failed" >&2
        return 1
    fi
    gcovr -r . --filter 'lib/' --object-directory build/coverage build/coverage \
        --print-summary | tee "$logs/coverage.log"
    pct=$(sed -nE 's/^lines: ([0-9.]+)%.*/\1/p' "$logs/coverage.log")
    if [ -z "$pct" ]; then
        echo "no coverage figure" >&2
        return 1
    fi
    echo "line coverage of lib/: $pct % (minimum $coverage_min %)"
    awk -v p="$pct" -v m="$coverage_min" 'BEGIN { exit !(p >= m) }'
}

phase_asan() {
    cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DB2B_WERROR=ON -DB2B_SANITIZE=ON \
        -DB2B_COVERAGE=OFF -DB2B_BUILD_TESTS=ON -DB2B_BUILD_EXAMPLES=ON -DB2B_BUILD_PYTHON=OFF \
        -DB2B_BUILD_NODE=OFF -DB2B_BUILD_BENCH=OFF -DB2B_BUILD_SERVER=ON
    cmake --build build/asan -j "$jobs"
    # No fork: leaks are reported when the test process itself exits.
    export CK_FORK=no
    export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # The long end-to-end suites run sanitized on SQLite; their PostgreSQL runs (the same server
    # code over db_pg.c, which the store and workflow suites sanitize) stay in phase ctest.
    run_ctest build/asan asan -L '^(c|server)$' -E '^(http|ingest|portal_api|notify)_pg$'
}

phase_valgrind() {
    # This plain build (no coverage, no sanitizer) is also the one installed in phase "install".
    cmake -S . -B build/plain -DB2B_WERROR=ON -DB2B_COVERAGE=OFF -DB2B_SANITIZE=OFF \
        -DB2B_BUILD_TESTS=ON -DB2B_BUILD_EXAMPLES=ON -DB2B_BUILD_PYTHON=OFF -DB2B_BUILD_NODE=OFF \
        -DB2B_BUILD_BENCH=OFF -DB2B_BUILD_SERVER=ON -DCMAKE_INSTALL_PREFIX="$root/build/prefix"
    cmake --build build/plain -j "$jobs"
    export CK_FORK=no
    local leaks=definite,indirect,possible
    local options="--leak-check=full --show-leak-kinds=$leaks --errors-for-leak-kinds=$leaks"
    options+=" --error-exitcode=1 --track-origins=yes --num-callers=30"
    # Any error or leak makes valgrind exit 1, which fails the test.
    run_ctest build/plain valgrind -R '^(c_.*|example.*|store_sqlite|workflow_sqlite|usage_check_sqlite|mail)$' \
        -T memcheck \
        --overwrite MemoryCheckCommand="$(command -v valgrind)" \
        --overwrite MemoryCheckCommandOptions="$options"
    # ctest's own defect count, in case a defect did not change the exit status.
    if sed -n '/^Memory checking results:/,$p' "$logs/valgrind.log" |
        grep -qE '^[A-Za-z ]+ - [0-9]+$'; then
        echo "valgrind reported defects (see build/plain/Testing/Temporary/MemoryChecker.*.log)" >&2
        return 1
    fi
}

phase_install() {
    local prefix=$root/build/prefix libdir out bin deps
    local pc
    rm -rf "$prefix" build/example-pkgconfig build/example-find
    cmake --build build/plain -j "$jobs" # fails here, not later, if that build is broken
    cmake --install build/plain --prefix "$prefix"
    libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' build/plain/CMakeCache.txt)

    # 1. pkg-config (examples/Makefile)
    mkdir -p build/example-pkgconfig
    PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig make -C examples \
        OUT="$root/build/example-pkgconfig"
    pc=(env PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" pkg-config)
    echo "pkg-config b2bbudget $("${pc[@]}" --modversion b2bbudget):" \
        "$("${pc[@]}" --cflags --libs b2bbudget)"

    # 2. find_package(b2bbudget) (examples/CMakeLists.txt, standalone)
    cmake -S examples -B build/example-find -DCMAKE_PREFIX_PATH="$prefix"
    cmake --build build/example-find -j "$jobs"

    for bin in build/example-pkgconfig/plan_and_check build/example-find/plan_and_check; do
        # It must run against the installed library, not the build tree's.
        deps=$(LD_LIBRARY_PATH=$prefix/$libdir ldd "$bin")
        if ! grep -q "=> $prefix/$libdir/libb2bbudget" <<<"$deps"; then
            echo "$bin does not load $prefix/$libdir/libb2bbudget.so" >&2
            return 1
        fi
        out=$(LD_LIBRARY_PATH=$prefix/$libdir "$bin")
        grep -q 'Über dem Budget' <<<"$out"
        grep -q 'Your role does not allow this action' <<<"$out"
        grep -q 'plan_and_check: all results as expected' <<<"$out"
        echo "$bin: all results as expected"
    done
}

# The project's own C sources: no build trees, no SWIG output, no third-party code.
c_sources() {
    local dirs='^(include|lib|tests|examples|bench|server|bindings)/'
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files --cached --others --exclude-standard -- '*.c' '*.h'
    else
        find include lib tests examples bench server bindings -name '*.[ch]' 2>/dev/null
    fi | grep -E "$dirs" | grep -vE '(_wrap\.c|_wrap\.cxx|/node_modules/|/build/|/third_party/)' |
        while read -r f; do [ -f "$f" ] && echo "$f"; done | sort -u
}

phase_format() {
    local files
    mapfile -t files < <(c_sources)
    echo "clang-format $(clang-format --version | sed -E 's/.*version ([0-9.]+).*/\1/'):" \
        "${#files[@]} files"
    clang-format --dry-run --Werror "${files[@]}"
}

# ---- run ----

say "deps"
if ! install_packages; then
    record deps FAILED 0 1
    echo "cannot install the Debian packages; stopping" >&2
    exit 1
fi
if command -v node >/dev/null 2>&1; then
    echo "node $(node --version)"
    # The npm packages the tests use (graphql; pinned in tests/package-lock.json). Installed
    # only when the lock file changed since the last install.
    if [ ! -f tests/node_modules/.package-lock.json ] ||
        ! cmp -s tests/package-lock.json tests/node_modules/.b2b-lock; then
        npm ci --prefix tests --no-audit --no-fund && cp tests/package-lock.json tests/node_modules/.b2b-lock
    fi
elif [ "${CI:-}" = true ]; then
    echo "node not found: CI needs Node.js 20 for the Node binding" >&2
    record deps FAILED 0 1
    exit 1
else
    echo "node not found: building without the Node binding" >&2
    node_opts=(-DB2B_BUILD_NODE=OFF)
fi

phase build phase_build
phase ctest phase_ctest
phase coverage phase_coverage
phase asan phase_asan
phase valgrind phase_valgrind
phase install phase_install
phase format phase_format

# ---- summary ----

say "summary ($(($(date +%s) - start_all)) s)"
passed=0
failed=0
while read -r name status p f; do
    printf '  %-9s %-6s %s passed, %s failed\n' "$name" "$status" "$p" "$f"
    passed=$((passed + p))
    failed=$((failed + f))
done <"$logs/results"
for name in ctest asan valgrind; do
    if [ -f "$logs/$name.log" ]; then
        printf '  %-9s %s\n' "$name" \
            "$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$logs/$name.log" | tail -n 1)"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
