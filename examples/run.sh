#!/usr/bin/env bash
# The b2bbudget demo: builds the server, starts the Shopify simulator with German demo data and the
# server on SQLite, plays budgets and order states through the portal, and prints where to go.
# Ctrl-C stops both. The C library's example moved to examples/run-c-example.sh.
#
# Usage: examples/run.sh [--port N] [--sim-port N] [--keep] [--no-seed] [--state-dir DIR] [--help]
set -euo pipefail

caller_dir=$PWD
cd "$(dirname "$0")/.."
root=$PWD
t_start=$(date +%s)

port=8080
sim_port=8090
keep=0
do_seed=1
state=$root/var/demo
build=$root/build/demo
seed_file=$root/tests/shopify-sim/seed-demo.json
python=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree

usage() {
    cat <<EOF
Usage: examples/run.sh [options]

Startet die b2bbudget-Demo: baut den Server (build/demo), startet den Shopify-Simulator mit
deutschen Demodaten und den Server auf SQLite, setzt Budgets und Bestellstatus über das Portal
und zeigt Portal-Adresse und Demo-Zugänge. Strg-C beendet beides.
(Starts the demo: builds the server, starts the Shopify simulator with German demo data and the
server on SQLite, sets budgets and order states through the portal, prints the portal address
and the demo logins. Ctrl-C stops both.)

Options:
  --port N         port of the server and portal (default 8080)
  --sim-port N     port of the Shopify simulator, its shop page and mailbox (default 8090)
  --keep           keep the server's state (database, mails) of the last run instead of starting
                   fresh and do not seed again; the simulator always starts from its seed
  --no-seed        do not set budgets and order states (all 12 orders stay drafts)
  --state-dir DIR  where the demo state lives (default var/demo; wiped on each start unless --keep)
  --help           this text

Installs the Debian packages it needs when they are missing (apt-get; sudo when not root).
Logs: <state-dir>/server.log, <state-dir>/simulator.log. More: examples/demo/README.md.
The C library example that this command used to run: examples/run-c-example.sh
EOF
}

die() {
    echo "run.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --port=*) port=${1#*=}; shift ;;
    --sim-port) sim_port=${2:?--sim-port needs a number}; shift 2 ;;
    --sim-port=*) sim_port=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    --no-seed) do_seed=0; shift ;;
    --state-dir) state=${2:?--state-dir needs a directory}; shift 2 ;;
    --state-dir=*) state=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
    esac
done
for p in "$port" "$sim_port"; do
    if ! [[ $p =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
        die "not a port: $p"
    fi
done
[ "$port" != "$sim_port" ] || die "--port and --sim-port must differ"
state=$(cd "$caller_dir" && realpath -m "$state")

say() { printf '%s\n' "$*"; }

# ---- Debian packages (only when missing) ----

# What the server build and the demo need: compiler and CMake, the server's libraries (libuv,
# http-parser, SQLite, libpq, jansson, libcurl, OpenSSL) and Python 3 for the simulator and the
# seed script.
# tzdata: the server reads the shop's time zone from /usr/share/zoneinfo.
packages=(build-essential cmake pkg-config libuv1-dev libhttp-parser-dev libsqlite3-dev libpq-dev
    libjansson-dev libcurl4-openssl-dev libssl-dev python3 tzdata)

install_packages() {
    local missing=() p
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "not a Debian system: make sure these are installed: ${packages[*]}" >&2
        return 0
    fi
    for p in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "Installiere Debian-Pakete (installing): ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "install as root: apt-get install ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

install_packages || die "cannot install the Debian packages"
[ -x "$python" ] || python=$(command -v python3) || die "python3 not found"

port_free() {
    "$python" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
port_free "$port" || die "port $port is in use (another demo?): choose one with --port"
port_free "$sim_port" || die "port $sim_port is in use: choose one with --sim-port"

# ---- build ----

mkdir -p "$build"
buildlog=$build/build.log
# One build at a time in build/demo (a second demo, or the CI loop test, may start meanwhile).
exec 9>"$build/.run-sh.lock"
flock 9
say "Baue den Server (building the server) in ${build#"$root"/} …"
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DB2B_BUILD_TESTS=OFF -DB2B_BUILD_EXAMPLES=OFF \
    -DB2B_BUILD_BENCH=OFF -DB2B_BUILD_PYTHON=OFF -DB2B_BUILD_NODE=OFF -DB2B_BUILD_SERVER=ON \
    -DB2B_WERROR=OFF -DB2B_COVERAGE=OFF -DB2B_SANITIZE=OFF &&
    cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target b2bbudget-server; } >"$buildlog" 2>&1; then
    tail -n 40 "$buildlog" >&2
    die "the build failed (whole log: $buildlog)"
fi
exec 9>&-
bin=$build/server/b2bbudget-server
[ -x "$bin" ] || die "no server binary at $bin"

# ---- state ----

if [ "$keep" -eq 0 ] && [ -e "$state" ]; then
    # Only a directory this script made (or an empty one) is wiped.
    if [ -e "$state/.b2bbudget-demo" ] || [ -z "$(ls -A "$state")" ]; then
        rm -rf "$state"
    else
        die "$state exists and is not a demo state directory: not wiping it"
    fi
fi
mkdir -p "$state/data/mail"
touch "$state/.b2bbudget-demo"
rm -f "$state/.seeding" "$state/server.fifo"
if [ ! -s "$state/staff-token" ]; then
    (umask 077 && "$python" -c 'import secrets; print("staff-" + secrets.token_hex(16))' >"$state/staff-token")
fi

# The shop's values the server needs are the seed's (demo values, not secrets of a real shop);
# they go to the server through its environment, never on a command line.
read -r shop_domain shop_token shop_secret ndrafts ncontacts < <("$python" -c 'import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
print(s["shop"]["domain"], s["shop"]["access_tokens"][0], s["shop"]["client_secret"], len(s["draft_orders"]),
      sum(len(c["contacts"]) for c in s["companies"]))' "$seed_file") || die "cannot read $seed_file"

portal=http://127.0.0.1:$port
sim=http://127.0.0.1:$sim_port

# ---- processes ----

server_pid=
sim_pid=
filter_pid=

# Ends what this script started: SIGTERM, then at most 15 s, then SIGKILL.
stop_children() {
    local pid n
    for pid in $server_pid $sim_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $server_pid $sim_pid; do
        for ((n = 0; n < 150; n++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "run.sh: process $pid did not stop: killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$filter_pid" ]; then
        wait "$filter_pid" 2>/dev/null || true
    fi
    server_pid='' sim_pid='' filter_pid=''
    rm -f "$state/server.fifo" "$state/server.pid" "$state/simulator.pid" "$state/.seeding"
}

on_signal() {
    trap '' INT TERM HUP
    say ""
    say "Beende Server und Simulator (stopping) …"
    stop_children
    say "Beendet (stopped). Zustand (state): ${state#"$root"/}"
    exit 0
}

on_exit() {
    local rc=$?
    trap '' INT TERM
    if [ -n "$server_pid$sim_pid" ]; then
        stop_children
    fi
    exit $rc
}

# (A shell cannot trap a signal that was ignored when it started: run in the background from another
# script, SIGINT may be ignored; SIGTERM always works.)
trap on_signal INT TERM HUP
trap on_exit EXIT
# The children ignore SIGPIPE (inherited): a closed pipe must not end the server.
trap '' PIPE

# Every server log line goes to server.log; the demo's login codes are shown here too.
log_filter() {
    trap '' INT TERM
    local line email code msg
    local re_code='"msg":"demo: login code"' re_email='"email":"([^"]*)"' re_num='"code":"([0-9]+)"'
    local re_msg='"msg":"([^"]*)"'
    while IFS= read -r line; do
        printf '%s\n' "$line" >>"$state/server.log"
        if [[ $line =~ $re_code ]]; then
            email='?' code='?'
            if [[ $line =~ $re_email ]]; then email=${BASH_REMATCH[1]}; fi
            if [[ $line =~ $re_num ]]; then code=${BASH_REMATCH[1]}; fi
            if [ ! -e "$state/.seeding" ]; then
                printf '  ✉  Anmeldecode für %s: %s   (login code; also in %s/_sim/mail)\n' "$email" "$code" "$sim"
            fi
        elif [[ $line == *'"level":"error"'* ]]; then
            msg=$line
            if [[ $line =~ $re_msg ]]; then msg=${BASH_REMATCH[1]}; fi
            printf '  !  Server: %s (server.log)\n' "$msg"
        fi
    done
}

say "Starte den Shopify-Simulator (starting the Shopify simulator) auf $sim …"
"$python" "$root/tests/shopify-sim/simulator.py" --seed "$seed_file" --host 127.0.0.1 --port "$sim_port" \
    --webhook-url "$portal/webhooks/shopify" --mail-dir "$state/data/mail" \
    >"$state/simulator.out" 2>>"$state/simulator.log" </dev/null &
sim_pid=$!
echo "$sim_pid" >"$state/simulator.pid"

mkfifo "$state/server.fifo"
log_filter <"$state/server.fifo" &
filter_pid=$!
say "Starte den Server (starting the server) auf $portal …"
(
    export B2B_LISTEN=127.0.0.1:$port
    export B2B_DATA_DIR=$state/data
    export DATABASE_URL=sqlite:$state/data/b2bbudget.db
    export B2B_WEB_ROOT=$root/server/web
    export B2B_PORTAL_URL=$portal
    export B2B_DEMO=1
    export B2B_SMTP_URL=
    export B2B_MAIL_DIR=$state/data/mail
    export B2B_MAIL_FROM="Altruan B2B-Portal (Demo) <portal@example.com>"
    export B2B_STAFF_EMAIL=shop-team@example.com
    export B2B_SHOP_NAME="Altruan (Demo)"
    export B2B_SHOPIFY_SHOP=$shop_domain
    export B2B_SHOPIFY_API_BASE=$sim
    export B2B_SHOPIFY_ACCESS_TOKEN=$shop_token
    export B2B_SHOPIFY_CLIENT_SECRET=$shop_secret
    export B2B_RECONCILE_INTERVAL_MS=60000
    export B2B_SHUTDOWN_TIMEOUT_MS=5000
    export B2B_LOG_LEVEL=info
    B2B_ADMIN_TOKEN=$(cat "$state/staff-token")
    export B2B_ADMIN_TOKEN
    unset B2B_CONFIG
    # Loopback calls to the simulator never go through a proxy.
    export no_proxy=127.0.0.1,localhost${no_proxy:+,$no_proxy} NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}
    exec "$bin" serve
) >"$state/server.fifo" 2>&1 </dev/null &
server_pid=$!
echo "$server_pid" >"$state/server.pid"

alive() {
    kill -0 "$server_pid" 2>/dev/null || die "the server ended during the start; see $state/server.log"
    kill -0 "$sim_pid" 2>/dev/null || die "the simulator ended during the start; see $state/simulator.log"
}

http_ok() {
    "$python" -c 'import sys, urllib.request
try:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    sys.exit(0 if opener.open(sys.argv[1], timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)' "$1"
}

# Every seeded draft is an order and every contact a user (the first reconciliation runs 2 s
# after the start). Read-only look into the demo database.
ingested() {
    "$python" -c 'import sqlite3, sys, urllib.parse
try:
    c = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(sys.argv[1]), uri=True, timeout=2)
    orders = c.execute("SELECT count(*) FROM orders").fetchone()[0]
    users = c.execute("SELECT count(*) FROM users").fetchone()[0]
except sqlite3.Error:
    sys.exit(1)
sys.exit(0 if orders >= int(sys.argv[2]) and users >= int(sys.argv[3]) else 1)' \
        "$state/data/b2bbudget.db" "$ndrafts" "$ncontacts"
}

wait_for() {
    local what=$1 seconds=$2 n
    shift 2
    for ((n = 0; n < seconds * 5; n++)); do
        alive
        if "$@"; then
            return 0
        fi
        sleep 0.2
    done
    die "timed out after ${seconds}s waiting for $what (logs: $state/server.log, $state/simulator.log)"
}

wait_for "the simulator" 20 grep -q listening "$state/simulator.out"
wait_for "$portal/readyz" 30 http_ok "$portal/readyz"
say "Warte, bis der Server die Entwürfe aus dem Shop eingelesen hat (ingesting the drafts) …"
wait_for "the drafts to be ingested" 90 ingested

if [ "$do_seed" -eq 1 ] && { [ "$keep" -eq 0 ] || [ ! -s "$state/demo.json" ]; }; then
    say "Spiele Budgets und Bestellstatus über das Portal ein (examples/demo/seed.py) …"
    touch "$state/.seeding"
    if ! "$python" "$root/examples/demo/seed.py" --portal "$portal" --sim "$sim" \
        --mail-dir "$state/data/mail" --state-file "$state/demo.json"; then
        rm -f "$state/.seeding"
        die "seeding the demo failed (logs: $state/server.log)"
    fi
    rm -f "$state/.seeding"
fi

logins=$("$python" "$root/examples/demo/seed.py" --logins --state-file "$state/demo.json")
rel_state=${state#"$root"/}
line=$(printf '%.0s─' {1..78})
# shellcheck disable=SC1111  # German quotation marks in the text
cat <<EOF

$line
 b2bbudget – Demo läuft (demo is running) · bereit nach $(($(date +%s) - t_start)) s
$line
 Kundenportal (customer portal):  $portal/
 Postfach (mailbox, demo only):   $sim/_sim/mail
 Shop spielen (act as the shop):  $sim/_sim/ui

 Anmelden (sign in): eine Adresse unten eingeben und „Code anfordern“. Der Code erscheint
 hier in der Konsole und im Postfach. (Enter an address below and request a code; it appears
 here on the console and in the mailbox.)

 Demo-Zugänge (demo logins):
$logins

 Den Shop spielen, auch auf der Kommandozeile (act as the shop, also on the command line):
   tests/shopify-sim/shopifysim --sim $sim create --company "Müller Haustechnik GmbH" \\
       --location München --contact julia.schneider@example.com --line "Akkuschrauber 18V Brushless:2:129.90"
   tests/shopify-sim/shopifysim --sim $sim update '#D105' --line "Tonerkartusche schwarz:4:79.00"
   tests/shopify-sim/shopifysim --sim $sim complete '#D113'   |   delete '#D113'   |   list
 Der ganze Ablauf (the whole loop): neuer Entwurf → E-Mail → genehmigen → abgeschlossen;
   Überarbeitung anfordern → der Shop ändert den Entwurf → erneut einreichen.

 Protokolle (logs): $rel_state/server.log, $rel_state/simulator.log · mehr: examples/demo/README.md
 Beenden (stop): Strg-C / Ctrl-C
$line
EOF

# Runs until Ctrl-C (on_signal) or until one of the two ends by itself.
while :; do
    wait -n "$server_pid" "$sim_pid" 2>/dev/null || true
    if ! kill -0 "$server_pid" 2>/dev/null; then
        die "the server ended unexpectedly; see $state/server.log"
    fi
    if ! kill -0 "$sim_pid" 2>/dev/null; then
        die "the simulator ended unexpectedly; see $state/simulator.log"
    fi
done
