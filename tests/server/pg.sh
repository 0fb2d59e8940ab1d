#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 cluster for the store tests.
#   pg.sh start STATE_DIR   writes STATE_DIR/pg_url (a postgresql:// URL) and STATE_DIR/pg_home
#   pg.sh stop STATE_DIR    stops the cluster and removes it
# The server refuses to run as root, so as root it runs as the postgres user (runuser).
set -eu

cmd=${1:?usage: pg.sh start|stop STATE_DIR}
state=${2:?usage: pg.sh start|stop STATE_DIR}

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ]; then bindir=$d; break; fi
    done
fi
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then
    bindir=$(dirname "$(command -v initdb)")
fi
[ -n "$bindir" ] || { echo "pg.sh: initdb not found (install postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case $cmd in
start)
    mkdir -p "$state"
    if [ -f "$state/pg_home" ]; then "$0" stop "$state" || true; fi
    home=$(mktemp -d /tmp/b2b-pg.XXXXXX)
    chmod 700 "$home"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$home"; fi
    echo "$home" > "$state/pg_home"
    as_owner "$bindir/initdb" -D "$home/data" -U postgres -A trust -E UTF8 --no-sync \
        >"$home/initdb.log" 2>&1 || { cat "$home/initdb.log" >&2; exit 1; }
    tries=0
    while :; do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ))
        tries=$((tries + 1))
        port_free "$port" || continue
        if as_owner "$bindir/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 30 \
            -o "-p $port -k $home -c listen_addresses=127.0.0.1 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
            start >/dev/null; then
            break
        fi
        [ "$tries" -lt 5 ] || { cat "$home/server.log" >&2; exit 1; }
    done
    as_owner "$bindir/createdb" -h "$home" -p "$port" -U postgres b2btest
    echo "postgresql://postgres@127.0.0.1:$port/b2btest" > "$state/pg_url"
    echo "pg.sh: PostgreSQL on 127.0.0.1:$port ($home)"
    ;;
stop)
    [ -f "$state/pg_home" ] || exit 0
    home=$(cat "$state/pg_home")
    case $home in /tmp/b2b-pg.*) ;; *) echo "pg.sh: refusing to remove $home" >&2; exit 1 ;; esac
    as_owner "$bindir/pg_ctl" -D "$home/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$home"
    rm -f "$state/pg_home" "$state/pg_url"
    ;;
*)
    echo "usage: pg.sh start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
