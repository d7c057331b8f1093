#!/usr/bin/env bash
# Plans a month of reminders over the national data set, all four planners, first without
# digests and then with them (the month's rows removed in between): the "Reminders" figures of
# BENCHMARKS.md. A throwaway PostgreSQL server with initdb's defaults; seeding takes minutes.
#
#   scripts/bench-reminders.sh                            # release build
#   BENCH_CONFIGURATION=debug scripts/bench-reminders.sh  # the debug build
#
# Works in a new folder under /tmp (or $BENCH_OUT), never in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-reminders-bench.XXXXXX)}"
PORT="${BENCH_PGPORT:-55435}"
MONTH="${BENCH_MONTH:-2026-12}"
# shellcheck source=scripts/throwaway-cluster.sh
source scripts/throwaway-cluster.sh

psql -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE national"
export DATABASE_URL="$BASE/national"
"$CREDITOPS" migrate >/dev/null 2>&1
echo "== seed --profile national"
/usr/bin/time -f "   %e s wall" "$CREDITOPS" seed --profile national --as-of 2026-11-27 2>/dev/null | tail -1
psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d national -c "VACUUM ANALYZE"
echo "== plan $MONTH, every planner, without and then with digests"
"$CREDITOPS" bench reminders --month "$MONTH" --planners all --digests both --deliver 0 --json | tee "$OUT/reminders.json"
