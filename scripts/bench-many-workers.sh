#!/usr/bin/env bash
# Many workers against one PostgreSQL server (issue 22, BENCHMARKS.md "Many workers"): the
# national data set, a day's reminders planned, then 8 `creditops worker` processes deliver them
# to a local webhook sink while 2 `creditops serve` processes answer the root unit's dashboard
# summary under wrk. Once straight to PostgreSQL, once through PgBouncer in transaction mode.
# Prints deliveries per second, the CPU the server and the processes used, and the most
# connections the server had; before that, the root's summary alone under wrk.
#
#   scripts/bench-many-workers.sh          # seeds the national profile on a throwaway cluster (minutes)
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:55440/postgres scripts/bench-many-workers.sh
#                                          # a national database seeded already (its reminders are replanned)
#
# WORKERS (8) and APIS (2) change the shape, ROUNDS ("direct pgbouncer") which rounds run; WRK_SECONDS=20 also runs wrk (one thread, 4
# connections) on each API process for the first 20 s of the delivery (on 2 cores it takes CPU from
# everything else). Needs wrk and pgbouncer (Debian).
# Works in a new folder under /tmp (or $BENCH_OUT), never in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${WORKERS:-8}"
APIS="${APIS:-2}"
WRK_SECONDS="${WRK_SECONDS:-0}"
ROUNDS="${ROUNDS:-direct pgbouncer}"
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-many-workers.XXXXXX)}"
mkdir -p "$OUT"
PORT="${BENCH_PGPORT:-55436}"
for tool in wrk pgbouncer psql; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "$tool is needed (apt-get install $tool)" >&2; exit 1; }
done
PIDS=()
BOUNCER_PID=
stop_processes() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
    if [ -n "$BOUNCER_PID" ]; then kill -KILL "$BOUNCER_PID" 2>/dev/null || true; BOUNCER_PID=; fi
}

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    swift build -c release --product creditops >/dev/null
    CREDITOPS="$PWD/.build/release/creditops"
    DIRECT="$BENCH_DATABASE_URL"
    trap stop_processes EXIT
else
    on_exit() { stop_processes; }
    # shellcheck source=scripts/throwaway-cluster.sh
    source scripts/throwaway-cluster.sh
    # Straight to the server, every process opens pools of its own: room for them (initdb's 100 is not).
    psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -c "ALTER SYSTEM SET max_connections = 500" >/dev/null
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$OUT/pgdata" -l "$OUT/postgres.log" -w -m fast restart >/dev/null
    DIRECT="$BASE/postgres"
    DATABASE_URL="$DIRECT" "$CREDITOPS" migrate >/dev/null 2>&1
    echo "== seed --profile national"
    DATABASE_URL="$DIRECT" "$CREDITOPS" seed --profile national --as-of "$(date +%F)" 2>/dev/null | tail -1
fi
sql() { psql -qAt "$DIRECT" -c "$1"; }
PG_HOST=$(sql "SELECT inet_server_addr()"); PG_PORT=$(sql "SELECT inet_server_port()")
echo "== machine: $(nproc) cores, PostgreSQL $(sql 'SHOW server_version'), max_connections $(sql 'SHOW max_connections'), commit $(git rev-parse --short HEAD), $WORKERS workers, $APIS API processes"

# A day's reminders, due now: the sending window opened for the whole day, the day's outbox
# emptied (a second run replans the same day), every unit's figures computed.
sql "UPDATE reminder_settings SET send_from = '00:00', send_until = '23:59'"
if [ "$(sql "SELECT count(*) FROM jobs WHERE kind LIKE 'aggregates.%' AND state = 'available'")" != 0 ]; then
    DATABASE_URL="$DIRECT" "$CREDITOPS" aggregates rebuild >/dev/null
    sql "DELETE FROM jobs WHERE kind LIKE 'aggregates.%'"
fi
ROOT=$(sql "SELECT code FROM units WHERE parent_id IS NULL ORDER BY code LIMIT 1")
TOKEN=$(DATABASE_URL="$DIRECT" "$CREDITOPS" tokens create --unit "$ROOT" --role viewer --name many-workers-bench 2>/dev/null | tail -1)
SUMMARY="/api/v1/units/$ROOT/summary"

python3 scripts/webhook-sink.py 18190 "$OUT/sink.count" &
PIDS+=($!)

start_apis() {  # URL
    for i in $(seq 1 "$APIS"); do
        DATABASE_URL="$1" "$CREDITOPS" serve --http "127.0.0.1:$((18190 + i))" --log-level warning >"$OUT/serve-$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in $(seq 1 "$APIS"); do
        for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$((18190 + i))/healthz" >/dev/null && break; sleep 0.1; done
        curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$((18190 + i))$SUMMARY" \
            || { echo "serve $i: $SUMMARY did not answer 200" >&2; exit 1; }
    done
}

echo "== the root's summary ($ROOT), one API process alone: wrk -t1 -c8 -d15s"
APIS_SAVED=$APIS; APIS=1; start_apis "$DIRECT"; APIS=$APIS_SAVED
wrk -t1 -c8 -d15s --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18191$SUMMARY" | grep -E "Requests/sec|^ +(50|90|99)%|Non-2xx"
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'

# CPU seconds (user + system) of every process whose command line matches $1.
cpu_seconds() {
    local ticks=0
    for pid in $(pgrep -f "$1" || true); do
        ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$ticks $(getconf CLK_TCK)" | awk '{printf "%.1f", $1 / $2}'
}
# The server's CPU seconds: the postmaster's own and its reaped children's (backends that ended),
# and every live child's.
POSTMASTER=$(head -1 "$(sql 'SHOW data_directory')/postmaster.pid")
server_cpu_seconds() {
    local ticks
    ticks=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$POSTMASTER/stat")
    for pid in $(pgrep -P "$POSTMASTER"); do
        ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$ticks $(getconf CLK_TCK)" | awk '{printf "%.1f", $1 / $2}'
}
# Busy and total jiffies of the whole machine.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }

run_round() {  # NAME URL
    local name=$1 url=$2
    sql "DELETE FROM jobs WHERE kind = 'notifications.deliver'"
    sql "DELETE FROM notifications"
    sql "VACUUM ANALYZE jobs"
    sql "VACUUM ANALYZE notifications"
    DATABASE_URL="$DIRECT" "$CREDITOPS" plan all --now "$(date -Iseconds)" | sed 's/^/   /'
    local due
    due=$(sql "SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver' AND state IN ('available', 'scheduled')")
    sql "UPDATE jobs SET run_at = now(), state = 'available' WHERE kind = 'notifications.deliver' AND state = 'scheduled'"
    echo "== $name: $due deliveries due, $WORKERS workers, $APIS API processes$([ "$WRK_SECONDS" -gt 0 ] && echo ", wrk on each for ${WRK_SECONDS} s")"
    start_apis "$url"
    local before_sink server_before app_before machine_before started
    before_sink=$(cat "$OUT/sink.count")
    server_before=$(server_cpu_seconds)
    machine_before=$(machine_ticks)
    app_before=$(cpu_seconds "creditops (worker|serve)")
    started=$(date +%s.%N)
    for i in $(seq 1 "$WORKERS"); do
        DATABASE_URL="$url" CREDITOPS_WEBHOOK_URL=http://127.0.0.1:18190/hook CREDITOPS_WEBHOOK_SECRET=bench-secret \
        CREDITOPS_REMINDERS_RATE=none CREDITOPS_REMINDERS_CONCURRENCY=none \
            "$CREDITOPS" worker --queues reminders,aggregates,default --log-level warning >"$OUT/$name-worker-$i.log" 2>&1 &
        PIDS+=($!)
    done
    for i in $(seq 1 "$APIS"); do
        [ "$WRK_SECONDS" -gt 0 ] || break
        wrk -t1 -c4 -d"${WRK_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$((18190 + i))$SUMMARY" >"$OUT/$name-wrk-$i.txt" &
    done
    local peak=0 left=1 connections
    for _ in $(seq 1 1800); do
        # One short query a second (a full server refuses it too: that sample is skipped).
        read -r connections left < <(sql "
            SELECT (SELECT count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'),
                   (SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver' AND state IN ('available', 'running', 'retryable'))
            " 2>/dev/null | tr '|' ' ' || echo "0 1")
        [ "${connections:-0}" -gt "$peak" ] && peak=$connections
        [ "${left:-1}" = 0 ] && break
        sleep 1
    done
    local ended seconds server_cpu app_cpu sent busy
    ended=$(date +%s.%N)
    server_cpu=$(echo "$(server_cpu_seconds) $server_before" | awk '{print $1 - $2}')
    busy=$(echo "$(machine_ticks) $machine_before" | awk '{printf "%d", 100 * ($1 - $3) / ($2 - $4)}')
    app_cpu=$(echo "$(cpu_seconds "creditops (worker|serve)") $app_before" | awk '{print $1 - $2}')
    seconds=$(echo "$ended $started" | awk '{printf "%.1f", $1 - $2}')
    for _ in $(seq 1 $((WRK_SECONDS + 5))); do pgrep -x wrk >/dev/null || break; sleep 1; done
    sleep 1.1  # the sink writes its count every second
    sent=$(( $(cat "$OUT/sink.count") - before_sink ))
    echo "   delivered $sent (left $left) in $seconds s: $(echo "$sent $seconds" | awk '{printf "%d", $1 / $2}') per second"
    echo "   CPU: PostgreSQL $server_cpu s ($(echo "$server_cpu $seconds" | awk '{printf "%.2f", $1 / $2}') cores), creditops processes $app_cpu s; the machine $busy % busy"
    echo "   connections the server had at most: $peak (sampled every second)"
    sql "SELECT state, count(*) FROM notifications GROUP BY 1 ORDER BY 1" | sed 's/^/   notifications /'
    for i in $(seq 1 "$APIS"); do
        [ "$WRK_SECONDS" -gt 0 ] || break
        echo "   wrk on API $i while delivering:"; grep -E "Requests/sec|^ +(50|99)%|Non-2xx" "$OUT/$name-wrk-$i.txt" | sed 's/^/     /'
    done
    for pid in "${PIDS[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]:1}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=("${PIDS[0]}")
}

[[ " $ROUNDS " == *" direct "* ]] && run_round direct "$DIRECT"
[[ " $ROUNDS " == *" pgbouncer "* ]] || exit 0

# PgBouncer in transaction mode, as the cluster's user (it refuses root), 20 server connections.
mkdir -p "$OUT/pgbouncer" && chmod 777 "$OUT/pgbouncer"
cat >"$OUT/pgbouncer/pgbouncer.ini" <<INI
[databases]
* = host=$PG_HOST port=$PG_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 16432
unix_socket_dir =
auth_type = trust
auth_file = $OUT/pgbouncer/users.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
logfile = $OUT/pgbouncer/pgbouncer.log
pidfile = $OUT/pgbouncer/pgbouncer.pid
INI
echo '"postgres" ""' >"$OUT/pgbouncer/users.txt"
chmod 644 "$OUT/pgbouncer/"*
BOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$BOUNCER" -d "$OUT/pgbouncer/pgbouncer.ini"
else "$BOUNCER" -d "$OUT/pgbouncer/pgbouncer.ini"; fi
sleep 0.5; BOUNCER_PID=$(cat "$OUT/pgbouncer/pgbouncer.pid")
DATABASE=$(sql "SELECT current_database()")
run_round pgbouncer "postgres://postgres@127.0.0.1:16432/$DATABASE?pooling=transaction"
