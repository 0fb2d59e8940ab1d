#!/usr/bin/env bash
# Keeps docs/configuration.md true to the server's settings table.
#
# Fails, listing the names, when
#  - a name server/config.c or server/config.h mentions (every B2B_* word, and every setting
#    name in the table, such as DATABASE_URL) is missing from docs/configuration.md, or
#  - a setting row of docs/configuration.md ("| `NAME` | ...") names something that no file
#    under server/ mentions any more (a removed or misspelt setting).
#
# Usage: check_configuration.sh [SOURCE_DIR]   (default: the repository this script is in)
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
config_c=$root/server/config.c
config_h=$root/server/config.h
doc=$root/docs/configuration.md

for f in "$config_c" "$config_h" "$doc"; do
    if [[ ! -f $f ]]; then
        echo "check_configuration: $f not found" >&2
        exit 2
    fi
done

# Whole-word match: B2B_SMTP_URL must not pass because B2B_SMTP_URLS is documented.
mentions() { # FILE NAME
    grep -qE "(^|[^A-Za-z0-9_])$2([^A-Za-z0-9_]|$)" "$1"
}

names=$({
    grep -ohE 'B2B_[A-Z0-9_]+' "$config_c" "$config_h"
    # First field of each row of the settings table: {"NAME", SET_...
    grep -oE '\{"[A-Z][A-Z0-9_]*", *SET_' "$config_c" | sed -E 's/^\{"([A-Z0-9_]+)".*/\1/'
} | sort -u)

if [[ -z $names ]]; then
    echo "check_configuration: no setting names found in $config_c" >&2
    exit 2
fi

missing=()
for name in $names; do
    mentions "$doc" "$name" || missing+=("$name")
done

# Setting rows of the documentation: a table row whose first cell is one `NAME`.
stale=()
for name in $(grep -oE '^\| *`[A-Z][A-Z0-9_]*` *\|' "$doc" | grep -oE '[A-Z][A-Z0-9_]*' | sort -u); do
    grep -rqE "(^|[^A-Za-z0-9_])$name([^A-Za-z0-9_]|$)" "$root/server" || stale+=("$name")
done

status=0
if ((${#missing[@]})); then
    echo "docs/configuration.md does not mention these names from server/config.c or config.h:"
    printf '  %s\n' "${missing[@]}"
    status=1
fi
if ((${#stale[@]})); then
    echo "docs/configuration.md documents settings that nothing under server/ mentions:"
    printf '  %s\n' "${stale[@]}"
    status=1
fi
if ((status == 0)); then
    echo "docs/configuration.md mentions all $(wc -w <<<"$names") names of server/config.c and config.h"
fi
exit $status
