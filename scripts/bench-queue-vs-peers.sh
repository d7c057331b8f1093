#!/usr/bin/env bash
# Measures CreditOps' queue, the fastest peer and PostgreSQL's own ceiling side by side, on one
# throwaway PostgreSQL server with default durability, in one run, and prints the ratios that
# BENCHMARKS.md and issue 21 use:
#
#   PEERBENCH_VENV=<venv with pgqueuer, see below> scripts/bench-queue-vs-peers.sh [PEERS] [REPS]
#
# PEERS defaults to pgqueuer (the fastest peer we measured); pass e.g. pgqueuer,oban,procrastinate
# (those need Python 3.12: ../shared/peers/setup_venv.sh). For pgqueuer alone, Debian's Python will do:
#   python3 -m venv /work/peervenv && /work/peervenv/bin/pip install pgqueuer==1.6.0 asyncpg==0.32.0 \
#     uvloop==0.23.0 'psycopg[binary]==3.3.9' psycopg-pool==3.3.3
# Order: the peers' harness, then pgbench's claim-and-mark ceiling (../shared/peers/ceiling.py,
# one and 100 jobs per transaction), then `creditops bench queue`, REPS reps each (default 3).
# Writes results/ under $BENCH_OUT (default: a new folder in /tmp), never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS_DIR="$(cd ../shared/peers && pwd)"
: "${PEERBENCH_VENV:?set PEERBENCH_VENV (see the top of this script)}"
PEERS="${1:-pgqueuer}"
REPS="${2:-3}"
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-bench.XXXXXX)}"
export PEERBENCH_OUT="$OUT"
export PEERBENCH_PGDATA="$OUT/pgdata"
export PEERBENCH_PGPORT="${PEERBENCH_PGPORT:-55432}"
export PEERBENCH_DSN="postgresql://postgres@127.0.0.1:$PEERBENCH_PGPORT/postgres"
PY="$PEERBENCH_VENV/bin/python"

swift build -c release --product creditops >/dev/null
"$PEERS_DIR/cluster.sh" start
trap '"$PEERS_DIR/cluster.sh" stop' EXIT
echo "== $(nproc) cores, $(psql -X -At "$PEERBENCH_DSN" -c 'SHOW server_version'), commit $(git rev-parse --short HEAD), results in $OUT"

(cd "$PEERS_DIR" && "$PY" peerbench.py run-all --out "$OUT/peers.jsonl" --peers "$PEERS" --concurrency 50 --reps "$REPS")
(cd "$PEERS_DIR" && "$PY" ceiling.py --out "$OUT/ceiling.jsonl" --variants mark_100,mark_1 --reps "$REPS")
DATABASE_URL="$PEERBENCH_DSN?sslmode=disable" .build/release/creditops bench queue \
    --jobs 20000 --concurrency 50 --reps "$REPS" --json > "$OUT/creditops.json"

"$PY" - "$OUT" "$PEERS" <<'EOF'
import json, statistics, sys
out, peers = sys.argv[1], sys.argv[2].split(",")
lines = lambda name: [json.loads(l) for l in open(f"{out}/{name}") if l.strip()]
ours = json.load(open(f"{out}/creditops.json"))
rows = [r for r in lines("peers.jsonl") if "error" not in r and r.get("metric") != "meta"]
# A run whose table ran dry counted empty transactions as jobs: left out.
ceiling = [r for r in lines("ceiling.jsonl") if r.get("metric") == "ceiling" and "error" not in r and not r.get("ran_dry")]

def cell(values, digits=0):
    values = [v for v in values if v is not None]
    if not values:
        return None, "n/a"
    median = statistics.median(values)
    return median, f"{median:,.{digits}f} [{' / '.join(f'{v:,.{digits}f}' for v in values)}]"

def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "n/a"

# The ratio is always CreditOps ÷ the peer: above 1 is better for rates, below 1 for latencies.
measures = [  # label, our key, the peer's metric, its field, digits
    ("bulk enqueue, jobs/s", "bulkEnqueueJobsPerSecond", "enqueue_batch", "jobs_per_s", 0),
    ("single enqueue, jobs/s", "singleEnqueueJobsPerSecond", "enqueue_single", "jobs_per_s", 0),
    ("process noop at concurrency 50, jobs/s", "processJobsPerSecond", "process", "jobs_per_s", 0),
    ("enqueue → start latency p50, ms", "latencyP50Milliseconds", "latency", "p50_ms", 2),
    ("latency p99, ms", "latencyP99Milliseconds", "latency", "p99_ms", 2),
]
for peer in peers:
    print(f"\n| measurement | CreditOps | {peer} | ratio |\n|---|---|---|---|")
    for label, key, metric, field, digits in measures:
        mine, mine_text = cell(ours[key]["values"], digits)
        theirs, theirs_text = cell([r.get(field) for r in rows if r["peer"] == peer and r["metric"] == metric
                                    and (metric != "process" or r.get("concurrency") == 50)
                                    and r.get("mode", "notify") == "notify"], digits)
        print(f"| {label} | {mine_text} | {theirs_text} | {ratio(mine, theirs)} |")
print(f"| worker RSS, MB | {cell(ours['maxRSSMegabytes']['values'], 1)[1]} | | |")

print("\n| PostgreSQL's ceiling (pgbench, 10 clients) | jobs/s | CreditOps' processing as a share |\n|---|---|---|")
process = statistics.median(ours["processJobsPerSecond"]["values"])
for variant in ("mark_100", "mark_1"):
    median, text = cell([r.get("jobs_per_s") for r in ceiling if r["variant"] == variant])
    share = f"{process / median * 100:.0f} %" if median else "n/a"
    print(f"| {variant} | {text} | {share} |")
EOF
