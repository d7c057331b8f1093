#!/usr/bin/env bash
# /ops under wrk with a long history (BENCHMARKS.md "/ops with 100,000 finished jobs"): a
# throwaway PostgreSQL server (initdb's defaults), the demo data set, JOBS finished jobs (default
# 100,000: completed, a few discarded and cancelled, finished over the last day, with their
# per-minute counts) and a few hundred pending ones, then `creditops serve` under Debian's wrk,
# one thread and 8 connections for 15 s, with a province operator's token: once as deployed (the
# overview shared for a second) and once with CREDITOPS_DASHBOARD_REUSE_MS=0. Usage:
#   scripts/bench-ops.sh [JOBS]
# Works in a new folder under /tmp (or $BENCH_OUT), never in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${1:-100000}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-ops-bench.XXXXXX)}"
PORT="${BENCH_PGPORT:-55435}"
SERVER=
on_exit() {
    if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; fi
}
# shellcheck source=scripts/throwaway-cluster.sh
source scripts/throwaway-cluster.sh

export DATABASE_URL="$BASE/postgres?sslmode=disable"
"$CREDITOPS" migrate >/dev/null 2>&1
"$CREDITOPS" seed --profile demo >/dev/null 2>&1
psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -v jobs="$JOBS" <<'SQL'
-- Finished over the last day, one in a hundred discarded and one in two hundred cancelled.
INSERT INTO jobs (queue, kind, args, state, attempt, created_at, attempted_at, finalized_at, run_at)
SELECT q, k, jsonb_build_object('unit', 'T01-H0' || (i % 9 + 1)), s, 1, t - interval '2 seconds', t - interval '1 second', t, t
FROM generate_series(1, :jobs) AS i,
     LATERAL (SELECT now() - (i::float8 / :jobs) * interval '1 day' AS t,
                     (ARRAY['aggregates', 'reminders', 'default'])[i % 3 + 1] AS q,
                     (ARRAY['aggregates.recompute', 'reminders.send', 'reports.remind'])[i % 3 + 1] AS k,
                     CASE WHEN i % 100 = 0 THEN 'discarded' WHEN i % 200 = 1 THEN 'cancelled' ELSE 'completed' END::job_state AS s) AS x;
INSERT INTO jobs (queue, kind, args, state, run_at)
SELECT 'reminders', 'reminders.send', jsonb_build_object('n', i), 'scheduled', now() + i * interval '1 minute'
FROM generate_series(1, 300) AS i;
VACUUM ANALYZE jobs;
SQL
if psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -c "SELECT to_regclass('job_outcome_counts') IS NOT NULL" | grep -q t; then
    psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres <<'SQL'
INSERT INTO job_outcome_counts (minute, queue, worker, completed, failed, discarded)
SELECT date_trunc('minute', finalized_at), queue, 'bench', count(*) FILTER (WHERE state = 'completed'), 0,
       count(*) FILTER (WHERE state = 'discarded')
FROM jobs WHERE state IN ('completed', 'discarded') GROUP BY 1, 2;
SQL
fi
TOKEN="$("$CREDITOPS" tokens create --unit T01 --role operator --name bench | tail -1)"
echo "== $(psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -c "SELECT count(*) FROM jobs") jobs, $JOBS of them finished"
# Once as deployed (the root's overview shared for a second), once reading everything per request.
for reuse in 1000 0; do
    CREDITOPS_DASHBOARD_REUSE_MS=$reuse "$CREDITOPS" serve --http 127.0.0.1:18083 --log-level warning >"$OUT/serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18083/healthz >/dev/null && break; sleep 0.1; done
    curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18083/ops || { echo "/ops did not answer 200" >&2; exit 1; }
    for path in /ops "/ops?state=completed" /api/v1/queues; do
        echo "== reuse ${reuse} ms: $path"
        wrk -t1 -c8 -d15s --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18083$path" | grep -E "Requests/sec|^ +(50|90|99)%|Non-2xx"
    done
    kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
