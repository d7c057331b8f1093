#!/usr/bin/env bash
# The worker's two statements alone under pgbench, with `jobs_kind_state` over the whole history
# (before JobQueue schema step 7) and without running and completed jobs (after it), alternating:
# the figures of BENCHMARKS.md "Issue 21: a kind index without the history".
#
#   scripts/bench-kind-index.sh [ROUNDS]     # default 2; each round measures both indexes
#
# A throwaway PostgreSQL server with initdb's defaults (fsync and synchronous_commit on) in a new
# folder under /tmp (or $BENCH_OUT). Each measurement: 300,000 available jobs, VACUUM ANALYZE,
# CHECKPOINT, then 4 pgbench clients for 15 s, each transaction one claim of 50 through
# `jobqueue_claim` and the completion of what that client holds, as `WorkerStore.complete` writes
# it (outcome counts included). The completion finds the client's jobs by `attempted_by`, through
# a partial index this script adds; the worker names them by id instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-kind-index.XXXXXX)}"
PORT="${BENCH_PGPORT:-55434}"
# shellcheck source=scripts/throwaway-cluster.sh
source scripts/throwaway-cluster.sh
export DATABASE_URL="$BASE/postgres"
"$CREDITOPS" migrate >/dev/null 2>&1
PSQL=(psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL")
"${PSQL[@]}" -c "CREATE INDEX jobs_running_by ON jobs (attempted_by) WHERE state = 'running'"

cat > "$OUT/claim_complete.sql" <<'SQL'
SELECT count(*) FROM jobqueue_claim('w' || :client_id, 60, 'default', 50);
WITH completed AS (
    UPDATE jobs SET state = 'completed', finalized_at = now(), lease_expires_at = NULL
    WHERE state = 'running' AND attempted_by = 'w' || :client_id
    RETURNING jobs.queue
), counted AS (
    SELECT queue, 'w' || :client_id AS worker, count(*)::int AS completed, 0 AS failed, 0 AS discarded
    FROM completed GROUP BY queue
)
INSERT INTO job_outcome_counts AS c (minute, queue, worker, completed, failed, discarded)
SELECT date_trunc('minute', now()), queue, worker, completed, failed, discarded FROM counted
ON CONFLICT (minute, queue, worker) DO UPDATE SET completed = c.completed + excluded.completed;
SQL

declare -A INDEX=(
    [whole]="CREATE INDEX jobs_kind_state ON jobs (kind, state)"
    [partial]="CREATE INDEX jobs_kind_state ON jobs (kind, state) WHERE state NOT IN ('running', 'completed')"
)
echo "== 4 clients, 15 s, 50 jobs a transaction"
for round in $(seq 1 "$ROUNDS"); do
    order="whole partial"; [ $((round % 2)) = 0 ] && order="partial whole"
    for index in $order; do
        "${PSQL[@]}" -c "DROP INDEX jobs_kind_state" -c "${INDEX[$index]}" -c "TRUNCATE jobs" \
            -c "INSERT INTO jobs (kind) SELECT 'noop' FROM generate_series(1, 300000)" -c "VACUUM ANALYZE jobs" -c "CHECKPOINT"
        tps=$(pgbench -n -c 4 -j 2 -T 15 -f "$OUT/claim_complete.sql" "$DATABASE_URL" 2>&1 | awk '/^tps/ {print $3}')
        printf "round %s  %-8s %8.1f transactions/s  %7.0f jobs/s\n" "$round" "$index" "$tps" "$(echo "$tps * 50" | bc)"
    done
done
