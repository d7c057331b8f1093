#!/usr/bin/env bash
# Measures `creditops import` and `creditops seed` on a throwaway PostgreSQL server with the
# defaults of initdb (fsync and synchronous_commit on): the import figures of BENCHMARKS.md.
#
#   scripts/bench-import.sh            # 1,000,000 borrowers: first import, re-import, 10% changed
#   scripts/bench-import.sh national   # also `seed --profile national` (needs ~6 GB of disk, minutes)
#
# Works in a new folder under /tmp (or $BENCH_OUT), never in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${BENCH_OUT:-$(mktemp -d /tmp/creditops-import-bench.XXXXXX)}"
PORT="${BENCH_PGPORT:-55433}"
# shellcheck source=scripts/throwaway-cluster.sh
source scripts/throwaway-cluster.sh
export DATABASE_URL="$BASE/postgres"

"$CREDITOPS" migrate >/dev/null 2>&1
echo "== seed --profile province (the units, points and 2,700 groups the borrowers join)"
/usr/bin/time -f "   %e s wall, %M KB max RSS (creditops)" "$CREDITOPS" seed --profile province --as-of 2026-11-27 | tail -1

# 1,000,000 borrowers spread over the seeded groups, with Vietnamese names.
GROUPS_FILE="$OUT/groups.txt"
psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -c "SELECT code FROM groups ORDER BY code" >"$GROUPS_FILE"
python3 - "$GROUPS_FILE" "$OUT/borrowers.csv" "$OUT/borrowers-changed.csv" <<'PY'
import random, sys
groups = open(sys.argv[1]).read().split()
family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]
middle = ["Văn", "Thị", "Đức", "Ngọc", "Minh", "Thu"]
given = ["An", "Bình", "Cường", "Dũng", "Hà", "Hạnh", "Hương", "Lan", "Phúc", "Thảo", "Tuấn", "Yến"]
# Prefixes mobile networks use today (VietnamesePhone.mobilePrefixes): an import refuses others.
mobile = ["90", "91", "93", "94", "96", "97", "98", "32", "33", "35", "37", "39", "86", "88"]
rng = random.Random(1)
rows = []
for i in range(1_000_000):
    name = f"{rng.choice(family)} {rng.choice(middle)} {rng.choice(given)}"
    rows.append([f"BM{i:07d}", name, groups[i % len(groups)], f"0{rng.choice(mobile)}{rng.randrange(10**7):07d}", str(rng.randrange(0, 500) * 10000)])
header = "code,name,group_code,phone,savings_balance\n"
with open(sys.argv[2], "w") as f:
    f.write(header)
    f.writelines(",".join(r) + "\n" for r in rows)
with open(sys.argv[3], "w") as f:
    f.write(header)
    for i, r in enumerate(rows):
        if i % 10 == 0:
            r = r[:4] + [str(int(r[4]) + 10000)]
        f.write(",".join(r) + "\n")
PY
echo "== borrowers.csv: $(($(wc -l <"$OUT/borrowers.csv") - 1)) rows, $(du -h "$OUT/borrowers.csv" | cut -f1)"
for run in "first import:borrowers.csv" "re-import, unchanged:borrowers.csv" "10% changed:borrowers-changed.csv"; do
    echo "== ${run%%:*}"
    /usr/bin/time -f "   %e s wall, %M KB max RSS (creditops)" "$CREDITOPS" import borrowers "$OUT/${run#*:}"
done

if [ "${1:-}" = national ]; then
    psql -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE national"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/national"
    "$CREDITOPS" migrate >/dev/null 2>&1
    echo "== seed --profile national"
    /usr/bin/time -f "   %e s wall, %M KB max RSS (creditops)" "$CREDITOPS" seed --profile national --as-of 2026-11-27
    psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -d national -c "SELECT pg_size_pretty(pg_database_size('national'))" | sed 's/^/   database size: /'
fi
