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
RUN_PID=
on_exit() {
    if [ -n "$RUN_PID" ]; then kill -TERM "$RUN_PID" 2>/dev/null && wait "$RUN_PID" 2>/dev/null || true; fi
}
# shellcheck source=scripts/throwaway-cluster.sh
source scripts/throwaway-cluster.sh

export DATABASE_URL="$BASE/postgres"
"$CREDITOPS" migrate >/dev/null 2>&1
"$CREDITOPS" seed --profile demo --as-of 2026-11-27 2>/dev/null | tail -1
"$CREDITOPS" run --http 127.0.0.1:0 --log-level warning >"$OUT/run.log" 2>&1 &
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
