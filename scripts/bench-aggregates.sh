#!/usr/bin/env bash
# Measures the aggregates on a throwaway PostgreSQL server with the defaults of initdb (fsync and
# synchronous_commit on): the freshness and rebuild figures of BENCHMARKS.md.
#
#   scripts/bench-aggregates.sh            # freshness: `creditops run` going on the demo data set,
#                                          # 200 inspections inserted one by one
#   scripts/bench-aggregates.sh national   # also `aggregates rebuild` over the national data set
#                                          # with a year of inspections (seeds it: minutes, ~6 GB)
#
# Works in a new folder under /tmp (or $BENCH_OUT), never in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-aggregates-bench.XXXXXX)}"
PORT="${BENCH_PGPORT:-55434}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
AS_POSTGRES=()
[ "$(id -u)" = 0 ] && AS_POSTGRES=(runuser -u postgres --)

swift build -c release --product creditops >/dev/null
CREDITOPS="$PWD/.build/release/creditops"

mkdir -p "$OUT/pgdata" && chmod 777 "$OUT"
[ "$(id -u)" = 0 ] && chown postgres "$OUT/pgdata"
"${AS_POSTGRES[@]}" "$PGBIN/initdb" -D "$OUT/pgdata" -A trust -U postgres >/dev/null
"${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$OUT/pgdata" -l "$OUT/postgres.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$OUT" start >/dev/null
RUN_PID=
cleanup() {
    [ -n "$RUN_PID" ] && kill -TERM "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null || true
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$OUT/pgdata" -m fast stop >/dev/null
}
trap cleanup EXIT
BASE="postgres://postgres@127.0.0.1:$PORT"

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), commit $(git rev-parse --short HEAD)"
export DATABASE_URL="$BASE/postgres"
"$CREDITOPS" migrate >/dev/null 2>&1
"$CREDITOPS" seed --profile demo --as-of 2026-11-27 2>/dev/null | tail -1
"$CREDITOPS" run --log-level warning >"$OUT/run.log" 2>&1 &
RUN_PID=$!
# Let the seed's recompute jobs (one per unit) drain before measuring.
for _ in $(seq 1 120); do
    pending=$(psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -c "SELECT count(*) FROM jobs WHERE kind LIKE 'aggregates.%' AND state IN ('available', 'running')")
    [ "$pending" = 0 ] && break
    sleep 1
done
echo "== freshness: one inspection per commit, creditops run going (demo data set)"
"$CREDITOPS" bench freshness --inserts 200
kill -TERM "$RUN_PID" && wait "$RUN_PID" || true
RUN_PID=

if [ "${1:-}" = national ]; then
    psql -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE national"
    export DATABASE_URL="$BASE/national"
    "$CREDITOPS" migrate >/dev/null 2>&1
    echo "== seed --profile national"
    "$CREDITOPS" seed --profile national --as-of 2026-11-27 2>/dev/null | tail -1
    psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -d national -c "SELECT count(*) FROM inspected_borrowers" | sed 's/^/   inspected borrowers (rows): /'
    psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d national -c "VACUUM ANALYZE"
    for rep in 1 2 3; do
        echo "== aggregates rebuild, rep $rep"
        /usr/bin/time -f "   %e s wall, %M KB max RSS (creditops)" "$CREDITOPS" aggregates rebuild
    done
fi
