#!/usr/bin/env bash
# Measures CreditOps' queue and the fastest peers side by side, on one throwaway PostgreSQL
# server with default durability, in one run: the figures of BENCHMARKS.md.
#
#   PEERBENCH_VENV=<venv made by ../shared/peers/setup_venv.sh> scripts/bench-queue-vs-peers.sh [PEERS]
#
# PEERS defaults to pgqueuer (the fastest peer we measured); pass e.g. pgqueuer,oban,procrastinate.
# Writes results/ under $BENCH_OUT (default: a new folder in /tmp), never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS_DIR="$(cd ../shared/peers && pwd)"
: "${PEERBENCH_VENV:?set PEERBENCH_VENV (see ../shared/peers/README.md)}"
PEERS="${1:-pgqueuer}"
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-bench.XXXXXX)}"
export PEERBENCH_OUT="$OUT"
export PEERBENCH_PGDATA="$OUT/pgdata"
export PEERBENCH_PGPORT="${PEERBENCH_PGPORT:-55432}"
DSN="postgresql://postgres@127.0.0.1:$PEERBENCH_PGPORT/postgres"

swift build -c release --product creditops >/dev/null
"$PEERS_DIR/cluster.sh" start
trap '"$PEERS_DIR/cluster.sh" stop' EXIT

# The peers first (their harness recreates its own databases), then CreditOps on the same server.
PEERBENCH_DSN="$DSN" "$PEERS_DIR/run_all.sh" --peers "$PEERS" --concurrency 50 --reps 3
DATABASE_URL="$DSN?sslmode=disable" .build/release/creditops bench queue --jobs 20000 --concurrency 50 --reps 3 --json \
    | tee "$OUT/creditops.json"
echo "results in $OUT (peers: $OUT/report.md)"
