#!/usr/bin/env bash
# HTTP benchmark of b2bbudget-server (issue #4): wrk on loopback against the server and, in the
# same run, against nginx returning a static 200 (the ceiling). Method: docs/performance.md.
#
# Usage: bench/server/run.sh [--quick] [--duration S] [--soak S] [--orders N] [--no-pg]
#                            [--out FILE] [--server BIN]
#   (default)      30 s per measurement, 5-minute RSS soak, SQLite and PostgreSQL
#   --quick        smoke run: 10 s per measurement, 30 s soak
#   --duration S   seconds per measurement (each is preceded by a 3 s warm-up that is not counted)
#   --soak S       length of the RSS soak in seconds (0 skips it); RSS is sampled every 10 s
#   --orders N     orders seeded into each store (default 10000)
#   --no-pg        skip PostgreSQL (otherwise a throwaway cluster from tests/server/pg.sh)
#   --out FILE     markdown report (default bench/server/results.md)
#   --server BIN   benchmark this server binary instead of building one (e.g. to compare a patch)
# Needs wrk, nginx, sqlite3, curl, and for PostgreSQL the postgresql-15 server and psql.
# Exit status 1 when a target of issue #4 is missed (the report is written anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

duration=30 soak=300 orders=10000 with_pg=1 out=bench/server/results.md server_bin=""
conns=100 threads=2 warmup=3 sample_every=10
token=bench-staff-token-0123456789abcdef
shop=bench.myshopify.com

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) duration=10 soak=30 ;;
    --duration) duration=${2:?}; shift ;;
    --soak) soak=${2:?}; shift ;;
    --orders) orders=${2:?}; shift ;;
    --no-pg) with_pg=0 ;;
    --out) out=${2:?}; shift ;;
    --server) server_bin=$(realpath "${2:?}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

for tool in wrk nginx sqlite3 curl; do
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
server_pid="" nginx_pid="" wrk_pid="" server_port=0
cleanup() {
    set +e
    [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null && wait "$wrk_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    [ -f "$tmp/pg/pg_home" ] && "$root/tests/server/pg.sh" stop "$tmp/pg" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local p
    while :; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000))
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

# run_wrk NAME DESCRIPTION URL [VAR=VALUE...]: a warm-up, then the measured run. Besides wrk's
# figures it records the CPU of the processes under test, of the event-loop thread, and of
# everything else on the machine (the "other" column: a noisy neighbour shows up there).
run_wrk() {
    local name=$1 desc=$2 url=$3 line non2xx errs t0 t1 l0=0 l1=0 m0 m1 d0=0 d1=0 wrk_cpu TIMEFORMAT
    shift 3
    env "$@" wrk -t "$threads" -c "$conns" -d "${warmup}s" -s bench/server/wrk.lua "$url" \
        >/dev/null
    log "wrk $name: $desc, ${duration}s"
    local db_pids=()
    # shellcheck disable=SC2207
    [ -n "$db_parent" ] && db_pids=("$db_parent" $(pgrep -P "$db_parent"))
    t0=$(proc_ticks "${measure_pids[@]}")
    [ -n "$loop_tid" ] && l0=$(proc_ticks "$loop_tid/task/$loop_tid")
    [ "${#db_pids[@]}" -gt 0 ] && d0=$(proc_ticks "${db_pids[@]}")
    m0=$(machine_ticks)
    TIMEFORMAT='%U %S'
    { time env "$@" wrk -t "$threads" -c "$conns" -d "${duration}s" --timeout 5s --latency \
        -s bench/server/wrk.lua "$url" >"$tmp/wrk-$name.txt"; } 2>"$tmp/time-$name.txt"
    m1=$(machine_ticks)
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
    local secs requests
    secs=$(sed -E 's/.* seconds=([0-9.]+).*/\1/' <<<"$line")
    requests=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")
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

# ---- machine ----
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
# shellcheck disable=SC1091
machine="$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), $(nproc) vCPU ($cpu)"
versions="wrk $(wrk --version 2>&1 | awk 'NR == 1 {print $2}'), $(nginx -v 2>&1 | sed 's/.*: //'), SQLite $(sqlite3 --version | awk '{print $1}')"
log "$machine"
mkdir -p "$tmp/web" "$tmp/data"

# ---- 1. nginx, the ceiling ----
start_nginx 1
run_wrk nginx-1 "nginx, 1 worker, static 200" "http://127.0.0.1:$nginx_port/"
stop_nginx
start_nginx auto
nginx_auto_workers=$((${#measure_pids[@]} - 1))
run_wrk nginx-auto "nginx, worker_processes auto ($nginx_auto_workers), static 200" \
    "http://127.0.0.1:$nginx_port/"
stop_nginx

# ---- 2. the server on SQLite ----
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

# ---- 3. RSS soak: the order read on SQLite, default logging (info, to a file) ----
soak_samples=()
if [ "$soak" -gt 0 ]; then
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
if [ "$with_pg" = 1 ]; then
    log "starting a throwaway PostgreSQL cluster (tests/server/pg.sh)"
    tests/server/pg.sh start "$tmp/pg" >&2
    pg_url=$(cat "$tmp/pg/pg_url")
    pg_version=$(psql "$pg_url" -Atc "SHOW server_version" | awk '{print $1}')
    migrate "$pg_url"
    log "seeding $orders orders into PostgreSQL"
    seed_sql postgres | psql -q -v ON_ERROR_STOP=1 "$pg_url" >/dev/null
    psql "$pg_url" -qc "VACUUM ANALYZE" >/dev/null
    psql "$pg_url" -Atc "SELECT public_id FROM orders" >"$tmp/ids-pg.txt"
    ids_env_pg=(B2B_BENCH_IDS="$tmp/ids-pg.txt" B2B_BENCH_TOKEN="$token")
    for level in warn info; do
        start_server "$pg_url" "$level" "$tmp/server-pg-$level.log"
        db_parent=$(head -1 "$(cat "$tmp/pg/pg_home")/data/postmaster.pid")
        [ "$level" = warn ] && rss_idle_pg=$(rss_kib "$server_pid")
        run_wrk "pg-$level" "server order read, PostgreSQL, log $level" \
            "http://127.0.0.1:$server_port/" "${ids_env_pg[@]}"
        [ "$level" = warn ] && { sleep 2; rss_after_pg=$(rss_kib "$server_pid"); }
        stop_server
        db_parent=""
        rm -f "$tmp/server-pg-$level.log"
    done
    versions="$versions, PostgreSQL $pg_version"
fi

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

h_warn=$(pct "${R_RPS[healthz-warn]}" "${R_RPS[nginx-1]}")
h_info=$(pct "${R_RPS[healthz-info]}" "${R_RPS[nginx-1]}")
h_auto=$(pct "${R_RPS[healthz-warn]}" "${R_RPS[nginx-auto]}")

{
    echo "# b2bbudget-server benchmark results"
    echo
    echo "Generated by \`bench/server/run.sh\` on $(date -u +%Y-%m-%dT%H:%MZ)."
    echo
    echo "- machine: $machine"
    echo "- tools: $versions"
    echo "- load: wrk, $threads threads, $conns connections, ${duration} s per row after a ${warmup} s warm-up, loopback"
    echo "- store: $orders seeded orders, a random one per request; response body $order_bytes bytes"
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
} >"$tmp/results.md"

mkdir -p "$(dirname "$out")"
cp "$tmp/results.md" "$out"
cat "$tmp/results.md"
log "written to $out"
[ ! -e "$tmp/missed" ]
