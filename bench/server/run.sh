#!/usr/bin/env bash
# HTTP benchmark of b2bbudget-server: wrk on loopback against the server and, in the same run,
# against nginx returning a static 200 (the ceiling) (issue #4), and webhook ingest on SQLite and
# PostgreSQL (issue #5). Method: docs/performance.md.
#
# Usage: bench/server/run.sh [--quick] [--duration S] [--soak S] [--orders N] [--no-pg]
#                            [--only reads|webhook] [--out FILE] [--server BIN]
#   (default)      30 s per measurement, 5-minute RSS soak, SQLite and PostgreSQL
#   --quick        smoke run: 10 s per measurement, 30 s soak
#   --duration S   seconds per measurement (each is preceded by a 3 s warm-up that is not counted)
#   --soak S       length of the RSS soak in seconds (0 skips it); RSS is sampled every 10 s
#   --orders N     orders seeded into each store (default 10000)
#   --no-pg        skip PostgreSQL (otherwise a throwaway cluster from tests/server/pg.sh)
#   --only PART    reads: only issue #4 (nginx, /healthz, order reads, soak);
#                  webhook: only the webhook ingest of issue #5 (with --quick: ~1 minute)
#   --out FILE     markdown report (default bench/server/results.md)
#   --server BIN   benchmark this server binary instead of building one (e.g. to compare a patch)
# Needs wrk, sqlite3, curl; nginx for the reads; openssl, base64 and python3 for the webhooks; for
# PostgreSQL the postgresql-15 server and psql. The webhook rows write ~6 KiB per request into a
# database under /tmp (about 4 GB per backend at 20 000 req/s for 33 s), removed at the end.
# Exit status 1 when a target of issue #4 or #5 is missed, or when the webhook check finds an
# acknowledged delivery missing or a non-2xx answer (the report is written anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

duration=30 soak=300 orders=10000 with_pg=1 out=bench/server/results.md server_bin="" only=""
conns=100 threads=2 warmup=3 sample_every=10
webhook_conns=50 # issue #5's load
token=bench-staff-token-0123456789abcdef
shop=bench.myshopify.com

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) duration=10 soak=30 ;;
    --duration) duration=${2:?}; shift ;;
    --soak) soak=${2:?}; shift ;;
    --orders) orders=${2:?}; shift ;;
    --no-pg) with_pg=0 ;;
    --only)
        only=${2:?}
        shift
        case $only in reads | webhook) ;; *) echo "run.sh: --only reads or webhook" >&2; exit 2 ;; esac
        ;;
    --out) out=${2:?}; shift ;;
    --server) server_bin=$(realpath "${2:?}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

want_reads=1 want_webhook=1
[ "$only" = webhook ] && want_reads=0
[ "$only" = reads ] && want_webhook=0
tools=(wrk sqlite3 curl)
[ "$want_reads" = 1 ] && tools+=(nginx)
[ "$want_webhook" = 1 ] && tools+=(openssl base64 python3)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool not found" >&2; exit 1; }
done
if [ "$with_pg" = 1 ]; then
    command -v psql >/dev/null || { echo "run.sh: psql not found (or use --no-pg)" >&2; exit 1; }
fi

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# ---- build (Release, same build tree and options as bench/run.sh, plus the server) ----
build=build/bench
if [ -z "$server_bin" ]; then
    log "building the server (Release) in $build"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DB2B_BUILD_TESTS=OFF \
        -DB2B_BUILD_EXAMPLES=OFF -DB2B_BUILD_BENCH=ON -DB2B_BUILD_PYTHON=OFF -DB2B_BUILD_NODE=OFF \
        -DB2B_BUILD_SERVER=ON >/dev/null
    cmake --build "$build" -j 2 --target b2bbudget-server >/dev/null
    server_bin=$root/$build/server/b2bbudget-server
fi

# ---- scratch space and cleanup ----
tmp=$(mktemp -d /tmp/b2b-bench.XXXXXX)
chmod 755 "$tmp"
server_pid="" nginx_pid="" wrk_pid="" blackhole_pid="" server_port=0
cleanup() {
    set +e
    [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -n "$blackhole_pid" ] && kill "$blackhole_pid" 2>/dev/null && wait "$blackhole_pid" 2>/dev/null
    [ -f "$tmp/pg/pg_home" ] && "$root/tests/server/pg.sh" stop "$tmp/pg" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port below the kernel's ephemeral range: one in it can be taken by any outgoing connection
# (wrk's, the tests' of others) between this check and the server's bind.
free_port() {
    local p lo
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
    [ "$lo" -gt 12000 ] || lo=50000
    while :; do
        p=$((10000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (lo - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

wait_http() { # URL: until it answers, at most 30 s
    local i
    for i in $(seq 300); do
        curl -fs -o /dev/null --max-time 1 "$1" && return 0
        sleep 0.1
    done
    echo "run.sh: $1 did not answer" >&2
    return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# ---- wrk ----
declare -A R_RPS R_P50 R_P90 R_P99 R_MAX R_ERR R_DESC R_CPU R_LOOP R_US R_OTHER R_WRK R_DB
declare -A R_REQ R_NON2XX
runs=()
hz=$(getconf CLK_TCK)
proc_ticks() { # PID...: user + system CPU ticks, all threads
    local p t=0
    for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    echo "$t"
}
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; } # busy, all CPUs
measure_pids=() # the processes under test (their CPU is reported), set before run_wrk
loop_tid=""     # the server's event-loop thread (= its pid), empty for nginx
db_parent=""    # PostgreSQL's postmaster, when the server runs on it
wrk_script=bench/server/wrk.lua # (bench/server/webhook.lua for the webhook rows)

# run_wrk NAME DESCRIPTION URL [VAR=VALUE...]: a warm-up, then the measured run ($wrk_script,
# $conns connections). Besides wrk's figures it records the CPU of the processes under test, of
# the event-loop thread, and of everything else on the machine (the "other" column: a noisy
# neighbour shows up there).
run_wrk() {
    local name=$1 desc=$2 url=$3 line non2xx errs t0 t1 l0=0 l1=0 m0 m1 d0=0 d1=0 wrk_cpu TIMEFORMAT
    shift 3
    env "$@" wrk -t "$threads" -c "$conns" -d "${warmup}s" -s "$wrk_script" "$url" >/dev/null
    log "wrk $name: $desc, ${duration}s"
    local db_pids=()
    # shellcheck disable=SC2207
    [ -n "$db_parent" ] && db_pids=("$db_parent" $(pgrep -P "$db_parent"))
    t0=$(proc_ticks "${measure_pids[@]}")
    [ -n "$loop_tid" ] && l0=$(proc_ticks "$loop_tid/task/$loop_tid")
    [ "${#db_pids[@]}" -gt 0 ] && d0=$(proc_ticks "${db_pids[@]}")
    m0=$(machine_ticks)
    [ -z "$metrics_snap" ] || curl -fs "http://127.0.0.1:$server_port/metrics" >"$tmp/metrics-$name-0.txt"
    TIMEFORMAT='%U %S'
    { time env "$@" wrk -t "$threads" -c "$conns" -d "${duration}s" --timeout 5s --latency \
        -s "$wrk_script" "$url" >"$tmp/wrk-$name.txt"; } 2>"$tmp/time-$name.txt"
    m1=$(machine_ticks)
    [ -z "$metrics_snap" ] || curl -fs "http://127.0.0.1:$server_port/metrics" >"$tmp/metrics-$name-1.txt"
    [ "${#db_pids[@]}" -gt 0 ] && d1=$(proc_ticks "${db_pids[@]}")
    [ -n "$loop_tid" ] && l1=$(proc_ticks "$loop_tid/task/$loop_tid")
    t1=$(proc_ticks "${measure_pids[@]}")
    wrk_cpu=$(awk '{print $1 + $2}' "$tmp/time-$name.txt")
    line=$(grep '^BENCH ' "$tmp/wrk-$name.txt")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$tmp/wrk-$name.txt")
    R_RPS[$name]=$(sed -E 's/.* rps=([0-9.]+).*/\1/' <<<"$line")
    R_P50[$name]=$(sed -E 's/.* p50_ms=([0-9.]+).*/\1/' <<<"$line")
    R_P90[$name]=$(sed -E 's/.* p90_ms=([0-9.]+).*/\1/' <<<"$line")
    R_P99[$name]=$(sed -E 's/.* p99_ms=([0-9.]+).*/\1/' <<<"$line")
    R_MAX[$name]=$(sed -E 's/.* max_ms=([0-9.]+).*/\1/' <<<"$line")
    errs=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^err_(connect|read|write|timeout)=/) \
        {split($i, a, "="); s += a[2]}} END {print s + 0}' <<<"$line")
    R_ERR[$name]=$((errs + ${non2xx:-0}))
    R_NON2XX[$name]=${non2xx:-0}
    local secs requests
    secs=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$line")
    requests=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")
    R_REQ[$name]=$requests
    R_CPU[$name]=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
    R_US[$name]=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.1f", 1e6 * t / hz / n}')
    if [ -n "$loop_tid" ]; then
        R_LOOP[$name]=$(awk -v t=$((l1 - l0)) -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
    else
        R_LOOP[$name]="–"
    fi
    if [ "${#db_pids[@]}" -gt 0 ]; then
        R_DB[$name]=$(awk -v t=$((d1 - d0)) -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.0f", 100 * t / hz / s}')
    else
        R_DB[$name]="–"
    fi
    R_OTHER[$name]=$(awk -v m=$((m1 - m0 - d1 + d0)) -v t=$((t1 - t0)) -v w="$wrk_cpu" -v hz="$hz" -v s="$secs" \
        'BEGIN {o = 100 * ((m - t) / hz - w) / s; printf "%.0f", o < 0 ? 0 : o}')
    R_WRK[$name]=$(awk -v w="$wrk_cpu" -v s="$secs" 'BEGIN {printf "%.0f", 100 * w / s}')
    R_DESC[$name]=$desc
    runs+=("$name")
    printf '  %-12s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %s  CPU %s%% (loop %s%%)  %s us/req  wrk %s%%  db %s%%  other %s%%\n' \
        "$name" "${R_RPS[$name]}" "${R_P50[$name]}" "${R_P99[$name]}" "${R_ERR[$name]}" \
        "${R_CPU[$name]}" "${R_LOOP[$name]}" "${R_US[$name]}" "${R_WRK[$name]}" "${R_DB[$name]}" "${R_OTHER[$name]}" >&2
}

# ---- nginx: static 200 on loopback, private prefix ----
start_nginx() { # WORKERS
    local dir=$tmp/nginx-$1
    nginx_port=$(free_port)
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes $1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        default_type text/plain;
        location / { return 200 "ok"; }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" &
    nginx_pid=$!
    wait_http "http://127.0.0.1:$nginx_port/"
    # shellcheck disable=SC2207
    measure_pids=("$nginx_pid" $(pgrep -P "$nginx_pid"))
    loop_tid=""
}
stop_nginx() {
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
}

# ---- the server ----
server_env() { # DATABASE_URL LOG_LEVEL
    echo "B2B_LISTEN=127.0.0.1:$server_port DATABASE_URL=$1 B2B_LOG_LEVEL=$2" \
        "B2B_DATA_DIR=$tmp/data B2B_WEB_ROOT=$tmp/web B2B_ADMIN_TOKEN=$token" \
        "B2B_SHOPIFY_SHOP=$shop"
}
start_server() { # DATABASE_URL LOG_LEVEL LOGFILE
    server_port=$(free_port)
    # shellcheck disable=SC2046
    env $(server_env "$1" "$2") "$server_bin" serve 2>>"$3" &
    server_pid=$!
    wait_http "http://127.0.0.1:$server_port/healthz" || { tail -5 "$3" >&2; exit 1; }
    sleep 1
    measure_pids=("$server_pid")
    loop_tid=$server_pid
}
stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
migrate() { # DATABASE_URL: schema and the shop, as at a first start
    # shellcheck disable=SC2046
    env $(server_env "$1" warn) "$server_bin" migrate 2>>"$tmp/migrate.log"
}

# Seeding SQL: one company and location, N orders with random 22-character public ids, each
# with three lines (the JSON the API returns is ~1 KiB, like a real small order).
lines_json='[{"sku":"PAP-A4-500","title":"Copy paper A4, 500 sheets","quantity":20,"unit_net":459,"net":9180,"gross":10924},{"sku":"TON-HP-26X","title":"Toner HP 26X black","quantity":2,"unit_net":12990,"net":25980,"gross":30916},{"sku":"PEN-BLU-10","title":"Ballpoint pens blue, 10 pack","quantity":5,"unit_net":349,"net":1745,"gross":2077}]'
seed_sql() { # sqlite|postgres
    local ids series series_from
    if [ "$1" = sqlite ]; then
        ids="substr(hex(randomblob(16)), 1, 22)"
        series="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $orders)"
        series_from="n"
    else
        ids="substr(md5(random()::text || i::text), 1, 22)"
        series=""
        series_from="generate_series(1, $orders) AS n(i)"
    fi
    cat <<EOF
INSERT INTO companies (shop_id, shopify_id, name, created_at, updated_at)
    SELECT id, 1001, 'Bench GmbH', 1700000000000, 1700000000000 FROM shops WHERE domain = '$shop';
INSERT INTO locations (shop_id, company_id, shopify_id, name, currency, created_at, updated_at)
    SELECT s.id, c.id, 2001, 'Head office', 'EUR', 1700000000000, 1700000000000
    FROM shops s JOIN companies c ON c.shop_id = s.id WHERE s.domain = '$shop';
$series
INSERT INTO orders (shop_id, public_id, shopify_draft_id, name, company_id, location_id,
    contact_email, shop_currency, shop_net, shop_gross, shop_goods, presentment_currency,
    presentment_net, presentment_gross, presentment_goods, lines_json, content_hash, state,
    created_at, updated_at)
SELECT s.id, $ids, 900000000 + i, '#D' || i, c.id, l.id, 'buyer' || i || '@example.com', 'EUR',
    36905 + i, 43917 + i, 36905 + i, 'EUR', 36905 + i, 43917 + i, 36905 + i, '$lines_json',
    'h' || i, 'pending_approval', 1700000000000 + i, 1700000000000 + i
FROM $series_from, shops s JOIN companies c ON c.shop_id = s.id JOIN locations l
    ON l.company_id = c.id
WHERE s.domain = '$shop';
EOF
}

# ---- PostgreSQL: one throwaway cluster for the whole run, started when first needed ----
pg_url=""
start_pg() {
    [ -n "$pg_url" ] && return 0
    log "starting a throwaway PostgreSQL cluster (tests/server/pg.sh)"
    tests/server/pg.sh start "$tmp/pg" >&2
    pg_url=$(cat "$tmp/pg/pg_url")
    pg_version=$(psql "$pg_url" -Atc "SHOW server_version" | awk '{print $1}')
    pg_durability=$(psql "$pg_url" -Atc "SELECT 'fsync=' || current_setting('fsync') ||
        ', synchronous_commit=' || current_setting('synchronous_commit')")
    versions="$versions, PostgreSQL $pg_version"
}
pg_postmaster() { head -1 "$(cat "$tmp/pg/pg_home")/data/postmaster.pid"; }

# ---- machine ----
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
# shellcheck disable=SC1091
machine="$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) vCPU ($cpu)"
nginx_version=""
[ "$want_reads" = 1 ] && nginx_version="$(nginx -v 2>&1 | sed 's/.*: //'), "
versions="wrk $(wrk --version 2>&1 | awk 'NR == 1 {print $2}'), ${nginx_version}SQLite $(sqlite3 --version | awk '{print $1}')"
log "$machine"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average (1, 5, 15 min): $load_start"
mkdir -p "$tmp/web" "$tmp/data"

# ---- 1. nginx, the ceiling ----
if [ "$want_reads" = 1 ]; then
    start_nginx 1
    run_wrk nginx-1 "nginx, 1 worker, static 200" "http://127.0.0.1:$nginx_port/"
    stop_nginx
    start_nginx auto
    nginx_auto_workers=$((${#measure_pids[@]} - 1))
    run_wrk nginx-auto "nginx, worker_processes auto ($nginx_auto_workers), static 200" \
        "http://127.0.0.1:$nginx_port/"
    stop_nginx
fi

# ---- 2. the server on SQLite ----
if [ "$want_reads" = 1 ]; then
    sqlite_db=$tmp/data/bench.db
    sqlite_url="sqlite:$sqlite_db"
    migrate "$sqlite_url"
    log "seeding $orders orders into SQLite"
    seed_sql sqlite | sqlite3 "$sqlite_db"
    sqlite3 "$sqlite_db" "SELECT public_id FROM orders" >"$tmp/ids-sqlite.txt"
    [ "$(wc -l <"$tmp/ids-sqlite.txt")" -eq "$orders" ] || { echo "run.sh: seeding failed" >&2; exit 1; }
    ids_env_sqlite=(B2B_BENCH_IDS="$tmp/ids-sqlite.txt" B2B_BENCH_TOKEN="$token")

    one_id=$(head -1 "$tmp/ids-sqlite.txt")
    for level in warn info; do
        logfile=$tmp/server-sqlite-$level.log
        start_server "$sqlite_url" "$level" "$logfile"
        if [ "$level" = warn ]; then
            rss_idle_start=$(rss_kib "$server_pid")
            # a seeded order must come back 200, or the numbers would measure 404s
            curl -fs -o "$tmp/order.json" -H "Authorization: Bearer $token" \
                "http://127.0.0.1:$server_port/staff/api/orders/$one_id"
            order_bytes=$(wc -c <"$tmp/order.json")
        fi
        run_wrk "healthz-$level" "server /healthz, log $level" "http://127.0.0.1:$server_port/healthz"
        run_wrk "sqlite-$level" "server order read, SQLite, log $level" \
            "http://127.0.0.1:$server_port/" "${ids_env_sqlite[@]}"
        if [ "$level" = warn ]; then
            sleep 2
            rss_idle_after=$(rss_kib "$server_pid")
        else
            log_bytes=$(wc -c <"$logfile")
            log_lines=$(wc -l <"$logfile")
        fi
        stop_server
        rm -f "$logfile"
    done
fi

# ---- 3. RSS soak: the order read on SQLite, default logging (info, to a file) ----
soak_samples=()
if [ "$want_reads" = 1 ] && [ "$soak" -gt 0 ]; then
    start_server "$sqlite_url" info "$tmp/server-soak.log"
    soak_start_rss=$(rss_kib "$server_pid")
    log "soak: order read on SQLite for ${soak}s, RSS every ${sample_every}s"
    env "${ids_env_sqlite[@]}" wrk -t "$threads" -c "$conns" -d "${soak}s" --timeout 5s \
        --latency -s bench/server/wrk.lua "http://127.0.0.1:$server_port/" >"$tmp/wrk-soak.txt" &
    wrk_pid=$!
    t=0
    while kill -0 "$wrk_pid" 2>/dev/null; do
        sleep "$sample_every"
        t=$((t + sample_every))
        if [ "$t" -le "$soak" ] && kill -0 "$wrk_pid" 2>/dev/null; then
            soak_samples+=("$t $(rss_kib "$server_pid")")
            # the log would otherwise grow by ~1 GB; truncating keeps the file open for the server
            : >"$tmp/server-soak.log"
        fi
    done
    wait "$wrk_pid" || true
    wrk_pid=""
    soak_line=$(grep '^BENCH ' "$tmp/wrk-soak.txt")
    sleep 2
    soak_end_rss=$(rss_kib "$server_pid")
    stop_server
fi

# ---- 4. the server on PostgreSQL ----
if [ "$want_reads" = 1 ] && [ "$with_pg" = 1 ]; then
    start_pg
    migrate "$pg_url"
    log "seeding $orders orders into PostgreSQL"
    seed_sql postgres | psql -q -v ON_ERROR_STOP=1 "$pg_url" >/dev/null
    psql "$pg_url" -qc "VACUUM ANALYZE" >/dev/null
    psql "$pg_url" -Atc "SELECT public_id FROM orders" >"$tmp/ids-pg.txt"
    ids_env_pg=(B2B_BENCH_IDS="$tmp/ids-pg.txt" B2B_BENCH_TOKEN="$token")
    for level in warn info; do
        start_server "$pg_url" "$level" "$tmp/server-pg-$level.log"
        db_parent=$(pg_postmaster)
        [ "$level" = warn ] && rss_idle_pg=$(rss_kib "$server_pid")
        run_wrk "pg-$level" "server order read, PostgreSQL, log $level" \
            "http://127.0.0.1:$server_port/" "${ids_env_pg[@]}"
        [ "$level" = warn ] && { sleep 2; rss_after_pg=$(rss_kib "$server_pid"); }
        stop_server
        db_parent=""
        rm -f "$tmp/server-pg-$level.log"
    done
fi

# ---- 5. webhook ingest (issue #5) ----
# POST /webhooks/shopify with Shopify's sample draft_orders/create body byte for byte, its HMAC and
# a fresh X-Shopify-Webhook-Id per request (bench/server/webhook.lua), at 50 connections, log warn.
# Measured is the ingest: header and shop checks, HMAC, JSON check, the durable insert into the
# inbox (group commit), then 200. Each backend gets a fresh database, so afterwards every inbox row
# must match an acknowledgement and every 2xx that wrk saw must have its row.
webhook_body=tests/fixtures/shopify/webhook_draft_orders_create.json
declare -A W_2XX W_SENT W_RUN_ROWS W_ROWS W_ACKED W_DUPS W_MIB W_CHECK W_BATCH W_INS_US W_COMMIT_MS W_BUSY
metrics_snap="" # set by run_webhook: run_wrk saves /metrics before and after the measured part
webhook_runs=()

# The processor that works the inbox off fetches each draft from Shopify. Its Shopify here is a
# loopback port that accepts connections and never answers, with the longest call timeout (10
# minutes): each processor thread claims one row (or starts the reconciliation) and waits until
# the shutdown cuts the call short. Without it the processor would fail every row at once (no
# Shopify configured) or retry against a closed port, and its claims, store writes and error logs
# would compete with the ingest being measured; in production it is paced by Shopify's API.
start_blackhole() {
    local i
    python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
while True:
    time.sleep(3600)' >"$tmp/blackhole.port" &
    blackhole_pid=$!
    for i in $(seq 100); do
        [ -s "$tmp/blackhole.port" ] && break
        sleep 0.1
    done
    blackhole_port=$(cat "$tmp/blackhole.port")
    [ -n "$blackhole_port" ] || { echo "run.sh: the never-answering port did not start" >&2; exit 1; }
}
stop_blackhole() {
    kill "$blackhole_pid" 2>/dev/null || true
    wait "$blackhole_pid" 2>/dev/null || true
    blackhole_pid=""
}

store_query() { # DATABASE_URL SQL: one value
    case $1 in
    sqlite:*) sqlite3 "${1#sqlite:}" "$2" ;;
    *) psql "$1" -Atc "$2" ;;
    esac
}
metric_delta() { # RUN NAME: how much a counter of /metrics grew during RUN's measured part
    awk -v n="$2" '$1 == n {v[FILENAME] = $2} END {printf "%.6f", v[ARGV[2]] - v[ARGV[1]]}' \
        "$tmp/metrics-$1-0.txt" "$tmp/metrics-$1-1.txt"
}
server_metric() { # NAME: a counter of the running server's /metrics
    curl -fs "http://127.0.0.1:$server_port/metrics" | awk -v n="$1" '$1 == n {print $2}'
}
post_webhook() { # WEBHOOK_ID: one delivery with curl, as webhook.lua sends it; prints the answer
    curl -sS --max-time 5 -w ' HTTP %{http_code}' -H "Content-Type: application/json" \
        -H "X-Shopify-Topic: draft_orders/create" -H "X-Shopify-Hmac-Sha256: $webhook_hmac" \
        -H "X-Shopify-Shop-Domain: $shop" -H "X-Shopify-API-Version: 2026-01" \
        -H "X-Shopify-Webhook-Id: $1" -H "X-Shopify-Event-Id: $1" \
        -H "X-Shopify-Triggered-At: 2026-01-05T10:00:00.000Z" \
        --data-binary "@$webhook_body" "http://127.0.0.1:$server_port/webhooks/shopify"
}

# run_webhook NAME DATABASE_URL DESCRIPTION: migrate the (fresh) database, start the server with
# the client secret, measure, then check the inbox against the acknowledgements.
run_webhook() {
    local name=$1 url=$2 desc=$3 conns=$webhook_conns wrk_script=bench/server/webhook.lua
    local answer line run_id problems=() metrics_snap=1 commits
    migrate "$url"
    # the secrets go into the server's environment, never onto a command line
    B2B_SHOPIFY_CLIENT_SECRET=$webhook_secret B2B_SHOPIFY_ACCESS_TOKEN=bench-unused-token \
        B2B_SHOPIFY_API_BASE="http://127.0.0.1:$blackhole_port" B2B_SHOPIFY_TIMEOUT_MS=600000 \
        start_server "$url" warn "$tmp/server-$name.log"
    case $url in sqlite:*) ;; *) db_parent=$(pg_postmaster) ;; esac
    # one delivery first: a 401 or 400 here would otherwise only show up as non-2xx counts
    answer=$(post_webhook "bench-preflight-$name" 2>&1 || true)
    [ "$answer" = '{"status":"stored"} HTTP 200' ] ||
        { echo "run.sh: the server did not store a webhook: $answer" >&2; tail -5 "$tmp/server-$name.log" >&2; exit 1; }
    run_wrk "$name" "$desc" "http://127.0.0.1:$server_port/webhooks/shopify" \
        B2B_BENCH_WEBHOOK_BODY="$webhook_body" B2B_BENCH_WEBHOOK_HMAC="$webhook_hmac" \
        B2B_BENCH_WEBHOOK_SHOP="$shop"
    sleep 1 # the answers to the requests that were in flight when wrk stopped
    # the inbox writer during the measured run: its batches, and where its time went
    commits=$(metric_delta "$name" b2b_inbox_commits_total)
    W_BATCH[$name]=$(awk -v r="$(metric_delta "$name" b2b_inbox_batched_total)" -v c="$commits" \
        'BEGIN {printf "%.1f", (c > 0 ? r / c : 0)}')
    W_INS_US[$name]=$(awk -v t="$(metric_delta "$name" b2b_inbox_insert_seconds_total)" \
        -v r="$(metric_delta "$name" b2b_inbox_batched_total)" 'BEGIN {printf "%.1f", (r > 0 ? 1e6 * t / r : 0)}')
    W_COMMIT_MS[$name]=$(awk -v t="$(metric_delta "$name" b2b_inbox_commit_seconds_total)" \
        -v c="$commits" 'BEGIN {printf "%.2f", (c > 0 ? 1e3 * t / c : 0)}')
    W_BUSY[$name]=$(awk -v a="$(metric_delta "$name" b2b_inbox_insert_seconds_total)" \
        -v b="$(metric_delta "$name" b2b_inbox_commit_seconds_total)" -v s="$duration" \
        'BEGIN {printf "%.0f", 100 * (a + b) / s}')
    W_ACKED[$name]=$(server_metric b2b_webhooks_received_total || true)
    W_DUPS[$name]=$(server_metric b2b_webhooks_duplicate_total || true)
    stop_server
    db_parent=""

    line=$(grep '^WEBHOOK ' "$tmp/wrk-$name.txt")
    run_id=$(sed -E 's/.* run=([^ ]+).*/\1/' <<<"$line")
    W_SENT[$name]=$(sed -E 's/.* sent=([0-9]+).*/\1/' <<<"$line")
    W_2XX[$name]=$((R_REQ[$name] - R_NON2XX[$name]))
    W_ROWS[$name]=$(store_query "$url" "SELECT count(*) FROM webhook_inbox")
    W_RUN_ROWS[$name]=$(store_query "$url" \
        "SELECT count(*) FROM webhook_inbox WHERE webhook_id LIKE '$run_id-%'")
    case $url in
    sqlite:*) W_MIB[$name]=$(mib $(($(store_query "$url" \
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") / 1024))) ;;
    *) W_MIB[$name]=$(mib $(($(store_query "$url" \
        "SELECT pg_total_relation_size('webhook_inbox')") / 1024))) ;;
    esac

    # Every acknowledgement the server sent (its counter, warm-up and preflight included) has its
    # row; every 2xx wrk counted in the measured run has its row; rows of that run beyond them
    # are requests whose answer wrk did not wait for when it stopped (at most one a connection).
    [ "${R_NON2XX[$name]}" -eq 0 ] || problems+=("${R_NON2XX[$name]} non-2xx answers")
    [ "${R_ERR[$name]}" -eq "${R_NON2XX[$name]}" ] ||
        problems+=("$((R_ERR[$name] - R_NON2XX[$name])) socket errors")
    [ "${W_DUPS[$name]:-1}" -eq 0 ] || problems+=("${W_DUPS[$name]:-?} deliveries taken as duplicates")
    [ "${W_ROWS[$name]}" -eq "${W_ACKED[$name]:--1}" ] ||
        problems+=("${W_ROWS[$name]} inbox rows but ${W_ACKED[$name]:-?} acknowledged by the server")
    [ "${W_RUN_ROWS[$name]}" -ge "${W_2XX[$name]}" ] ||
        problems+=("${W_2XX[$name]} 2xx but only ${W_RUN_ROWS[$name]} rows: acknowledged deliveries lost")
    [ "$((W_RUN_ROWS[$name] - W_2XX[$name]))" -le "$conns" ] ||
        problems+=("$((W_RUN_ROWS[$name] - W_2XX[$name])) more rows than 2xx, more than $conns connections")
    if [ "${#problems[@]}" -eq 0 ]; then
        W_CHECK[$name]="ok"
    else
        W_CHECK[$name]="**failed**: $(printf '%s; ' "${problems[@]}" | sed 's/; $//')"
        : >"$tmp/missed"
    fi
    webhook_runs+=("$name")
    log "inbox check $name: ${W_2XX[$name]} 2xx, ${W_RUN_ROWS[$name]} rows of the run (of" \
        "${W_SENT[$name]} requests generated), ${W_ROWS[$name]} rows in all, ${W_ACKED[$name]}" \
        "acknowledged by the server: ${W_CHECK[$name]}"
}

if [ "$want_webhook" = 1 ]; then
    webhook_bytes=$(wc -c <"$webhook_body")
    # a throwaway secret of this run; the HMAC is over the body only, so one value serves all
    webhook_secret=$(openssl rand -hex 32)
    webhook_hmac=$(openssl dgst -sha256 -hmac "$webhook_secret" -binary <"$webhook_body" | base64)
    start_blackhole
    run_webhook webhook-sqlite "sqlite:$tmp/data/webhooks.db" \
        "webhook ingest, SQLite, $webhook_conns connections, log warn"
    rm -f "$tmp/data/webhooks.db"*
    if [ "$with_pg" = 1 ]; then
        start_pg
        psql "$pg_url" -qc "CREATE DATABASE b2bwebhooks" >/dev/null
        run_webhook webhook-pg "${pg_url%/*}/b2bwebhooks" \
            "webhook ingest, PostgreSQL, $webhook_conns connections, log warn"
        psql "$pg_url" -qc "DROP DATABASE b2bwebhooks" >/dev/null
    fi
    stop_blackhole
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", 100 * a / b}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }
# (called in $(...), so a miss is recorded in a file)
verdict() { if "$@"; then echo "met"; else echo "**missed**"; : >"$tmp/missed"; fi; }
# verdict2 TEST A_WARN A_INFO B: the target judged with the access log off (warn) and on (info)
verdict2() {
    local w i
    if "$1" "$2" "$4"; then w=1; else w=0; fi
    if "$1" "$3" "$4"; then i=1; else i=0; fi
    case $w$i in
    11) echo "met (warn and info)" ;;
    10) echo "met at warn, **missed** at info" ;;
    01) echo "**missed** at warn, met at info" ;;
    *) echo "**missed**" ;;
    esac
    [ "$w" = 1 ] || : >"$tmp/missed"
}

# The issue #4 part of the report: its targets, the access log, the soak.
report_reads() {
    h_warn=$(pct "${R_RPS[healthz-warn]}" "${R_RPS[nginx-1]}")
    h_info=$(pct "${R_RPS[healthz-info]}" "${R_RPS[nginx-1]}")
    h_auto=$(pct "${R_RPS[healthz-warn]}" "${R_RPS[nginx-auto]}")
    echo
    echo "| target (issue #4) | measured | |"
    echo "|---|---|---|"
    echo "| /healthz ≥ 50 % of nginx (1 worker) | $h_warn % (log warn), $h_info % (log info); $h_auto % of nginx auto | $(verdict2 ge "$h_warn" "$h_info" 50) |"
    printf '| order read on SQLite ≥ 20 000 req/s | %.0f (warn), %.0f (info) | %s |\n' \
        "${R_RPS[sqlite-warn]}" "${R_RPS[sqlite-info]}" "$(verdict2 ge "${R_RPS[sqlite-warn]}" "${R_RPS[sqlite-info]}" 20000)"
    printf '| order read on SQLite p99 < 10 ms | %.2f ms (warn), %.2f ms (info) | %s |\n' \
        "${R_P99[sqlite-warn]}" "${R_P99[sqlite-info]}" "$(verdict2 lt "${R_P99[sqlite-warn]}" "${R_P99[sqlite-info]}" 10)"
    if [ "$with_pg" = 1 ]; then
        printf '| order read on PostgreSQL (reported) | %.0f req/s, p99 %.2f ms (warn); %.0f req/s, p99 %.2f ms (info) | – |\n' \
            "${R_RPS[pg-warn]}" "${R_P99[pg-warn]}" "${R_RPS[pg-info]}" "${R_P99[pg-info]}"
    fi
    echo "| idle RSS < 20 MiB (SQLite) | $(mib "$rss_idle_start") MiB after start, $(mib "$rss_idle_after") MiB idle after load | $(verdict lt "$rss_idle_after" 20480) |"
    if [ "$with_pg" = 1 ]; then
        echo "| idle RSS (PostgreSQL, reported) | $(mib "$rss_idle_pg") MiB after start, $(mib "$rss_after_pg") MiB idle after load | – |"
    fi
    if [ "${#soak_samples[@]}" -gt 1 ]; then
        stats=$(printf '%s\n' "${soak_samples[@]}" | awk '
            {t[NR] = $1; r[NR] = $2; if (NR == 1 || $2 < mn) mn = $2; if ($2 > mx) mx = $2}
            END {
                for (i = 1; i <= NR; i++) {st += t[i]; sr += r[i]}
                mt = st / NR; mr = sr / NR
                for (i = 1; i <= NR; i++) {num += (t[i] - mt) * (r[i] - mr); den += (t[i] - mt) ^ 2}
                # growth after the first minute (warm-up: buffers, caches, thread pool)
                w = 1; for (i = 1; i <= NR; i++) if (t[i] <= 60) w = i
                printf "%d %d %.1f %d", mn, mx, 60 * num / den, r[NR] - r[w]
            }')
        read -r s_min s_max s_slope s_growth <<<"$stats"
        soak_rps=$(sed -E 's/.* rps=([0-9.]+).*/\1/' <<<"$soak_line")
        soak_p99=$(sed -E 's/.* p99_ms=([0-9.]+).*/\1/' <<<"$soak_line")
        printf '| RSS flat over a %d s load | %s–%s MiB (min–max), slope %s KiB/min, %+d KiB after the first minute (%.0f req/s, p99 %.2f ms) | %s |\n' \
            "$soak" "$(mib "$s_min")" "$(mib "$s_max")" "$s_slope" "$s_growth" "$soak_rps" \
            "$soak_p99" "$(verdict lt "$s_growth" 1024)"
    fi
    echo
    echo "Access log at info: $log_lines lines, $((log_bytes / log_lines)) bytes a line."
    if [ "${#soak_samples[@]}" -gt 0 ]; then
        echo
        echo "RSS during the soak (KiB; $(mib "$soak_start_rss") MiB before, $(mib "$soak_end_rss") MiB after it):"
        echo
        echo '```'
        printf '%s\n' "${soak_samples[@]}" | awk '{printf "t=%4ds %s\n", $1, $2}'
        echo '```'
    fi
}

# The issue #5 part: the webhook targets (the exit status follows SQLite) and the inbox check.
report_webhook() {
    local n sq=webhook-sqlite checks=met
    for n in "${webhook_runs[@]}"; do
        [ "${W_CHECK[$n]}" = ok ] || checks="**failed**"
    done
    echo
    echo "## Webhook ingest (issue #5)"
    echo
    echo "POST /webhooks/shopify: Shopify's sample \`draft_orders/create\` body ($webhook_bytes bytes, byte for"
    echo "byte), its X-Shopify-Hmac-Sha256 and a fresh X-Shopify-Webhook-Id per request; wrk, $threads threads,"
    echo "$webhook_conns connections, log warn, a fresh database per backend. The processor is parked (its"
    echo "Shopify never answers), so the rows measure the ingest: checks, HMAC, JSON check, the durable"
    echo "inbox insert, 200. SQLite runs as the server configures it (WAL, synchronous=FULL)."
    if [ "$with_pg" = 1 ]; then
        echo "PostgreSQL is the throwaway cluster of tests/server/pg.sh ($pg_durability): its commit"
        echo "is not durable, so its row is an upper bound for a durable PostgreSQL."
    fi
    echo
    echo "| target (issue #5) | measured | |"
    echo "|---|---|---|"
    printf '| webhook ingest on SQLite ≥ 20 000 req/s at %d connections | %.0f req/s | %s |\n' \
        "$webhook_conns" "${R_RPS[$sq]}" "$(verdict ge "${R_RPS[$sq]}" 20000)"
    printf '| … with p99 < 5 ms | %.2f ms (p50 %.2f ms) | %s |\n' \
        "${R_P99[$sq]}" "${R_P50[$sq]}" "$(verdict lt "${R_P99[$sq]}" 5)"
    if [ "$with_pg" = 1 ]; then
        printf '| webhook ingest on PostgreSQL (reported) | %.0f req/s, p50 %.2f ms, p99 %.2f ms | – |\n' \
            "${R_RPS[webhook-pg]}" "${R_P50[webhook-pg]}" "${R_P99[webhook-pg]}"
    fi
    echo "| nothing acknowledged is lost, no non-2xx answer | inbox check below | $checks |"
    echo
    echo "Inbox check, after the server stopped. *2xx* are wrk's answers in the measured run; *rows of"
    echo "the run* its webhook ids found in the inbox (more than 2xx by the requests wrk stopped waiting"
    echo "for at its end, at most one a connection; never fewer); *requests generated* the ids the"
    echo "script made; *acknowledged* the server's b2b_webhooks_received_total (warm-up and one"
    echo "preflight delivery included), which must equal *rows in all*."
    echo
    echo "| run | 2xx | non-2xx | rows of the run | requests generated | acknowledged | rows in all | duplicates | inbox size MiB | check |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for n in "${webhook_runs[@]}"; do
        echo "| ${R_DESC[$n]} | ${W_2XX[$n]} | ${R_NON2XX[$n]} | ${W_RUN_ROWS[$n]} | ${W_SENT[$n]} |" \
            "${W_ACKED[$n]} | ${W_ROWS[$n]} | ${W_DUPS[$n]} | ${W_MIB[$n]} | ${W_CHECK[$n]} |"
    done
    echo
    echo "The inbox writer during the measured run, from the server's /metrics (b2b_inbox_*): one thread"
    echo "takes every delivery waiting, inserts them in one transaction and commits it (group commit)."
    echo "*Busy* is its time inserting and committing over the run's duration; near 100 % it is the"
    echo "bottleneck."
    echo
    echo "| run | webhooks per commit | insert µs per webhook | commit ms (durable write) | writer busy % |"
    echo "|---|---:|---:|---:|---:|"
    for n in "${webhook_runs[@]}"; do
        echo "| ${R_DESC[$n]} | ${W_BATCH[$n]} | ${W_INS_US[$n]} | ${W_COMMIT_MS[$n]} | ${W_BUSY[$n]} |"
    done
}

{
    echo "# b2bbudget-server benchmark results"
    echo
    echo "Generated by \`bench/server/run.sh\` on $(date -u +%Y-%m-%dT%H:%MZ)."
    echo
    echo "- machine: $machine; load average (1, 5, 15 min) $load_start before the run, $load_end after it"
    echo "- tools: $versions"
    if [ "$want_reads" = 1 ]; then
        echo "- load: wrk, $threads threads, $conns connections$([ "$want_webhook" = 0 ] || echo " (webhook rows: $webhook_conns)"), ${duration} s per row after a ${warmup} s warm-up, loopback"
        echo "- store: $orders seeded orders, a random one per request; response body $order_bytes bytes"
    else
        echo "- load: wrk, $threads threads, $webhook_conns connections, ${duration} s per row after a ${warmup} s warm-up, loopback"
    fi
    echo "- server: Release build, default B2B_WORKERS (one store thread per CPU); log *warn* = no access log, *info* = default, one JSON line per request to a file"
    echo
    echo "| run | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | CPU % | loop thread % | CPU µs/request | wrk CPU % | PostgreSQL CPU % | other load % |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for n in "${runs[@]}"; do
        printf '| %s | %.0f | %.2f | %.2f | %.2f | %.1f | %s | %s | %s | %s | %s | %s | %s |\n' "${R_DESC[$n]}" \
            "${R_RPS[$n]}" "${R_P50[$n]}" "${R_P90[$n]}" "${R_P99[$n]}" "${R_MAX[$n]}" \
            "${R_ERR[$n]}" "${R_CPU[$n]}" "${R_LOOP[$n]}" "${R_US[$n]}" "${R_WRK[$n]}" "${R_DB[$n]}" "${R_OTHER[$n]}"
    done
    echo
    echo "CPU % is the process under test (all threads; 100 = one core), *loop thread* its event-loop"
    echo "thread, *other load* what the rest of the machine used besides it and wrk (noise)."
    echo "CPU µs/request is the server's (or nginx's) CPU time divided by the requests answered."
    if [ "$want_reads" = 1 ]; then
        report_reads
    fi
    if [ "$want_webhook" = 1 ]; then
        report_webhook
    fi
} >"$tmp/results.md"

mkdir -p "$(dirname "$out")"
cp "$tmp/results.md" "$out"
cat "$tmp/results.md"
log "written to $out"
[ ! -e "$tmp/missed" ]
