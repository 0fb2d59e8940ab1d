#!/bin/sh
# CTest's entry to the browser suite (tests/browser/CMakeLists.txt): checks that its pieces are
# there, then runs `node --test portal.test.mjs`. A missing piece (Node.js 20, Debian's Chromium,
# playwright-core / axe-core in tests/node_modules, the server binary) skips the test with exit
# code 77 and says what is missing - unless CI is set (CI=true): then it is a failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
modules=$(cd "$here/.." && pwd)/node_modules
node=${B2B_NODE:-node}
chromium=${B2B_CHROMIUM:-/usr/bin/chromium}
missing=""

if ! command -v "$node" >/dev/null 2>&1; then
    missing="$missing
  - Node.js 20 or later ('$node' not found)"
elif ! "$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    missing="$missing
  - Node.js 20 or later ('$node' is $("$node" --version))"
fi
[ -x "$chromium" ] || missing="$missing
  - Chromium at $chromium (Debian: apt-get install chromium; never a downloaded browser)"
for pkg in playwright-core/package.json axe-core/axe.min.js; do
    [ -f "$modules/$pkg" ] || missing="$missing
  - $modules/${pkg%%/*} (npm ci --prefix tests)"
done
if [ -z "${B2B_SERVER_BIN:-}" ] || [ ! -x "${B2B_SERVER_BIN:-}" ]; then
    missing="$missing
  - the server binary in B2B_SERVER_BIN ('${B2B_SERVER_BIN:-}')"
fi

if [ -n "$missing" ]; then
    case "${CI:-}" in
        "" | 0 | false | FALSE | no)
            echo "SKIPPED: the browser tests of the portal need:$missing"
            exit 77 ;;
        *)
            echo "FAILED: CI is set and the browser tests of the portal need:$missing" >&2
            exit 1 ;;
    esac
fi

exec "$node" --test --test-reporter=spec "$here/portal.test.mjs"
