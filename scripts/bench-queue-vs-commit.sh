#!/usr/bin/env bash
# The queue against an earlier commit's, side by side in one run on one throwaway cluster
# (BENCHMARKS.md "Issue 18"): builds BASE in a worktree and this tree, then alternates the two
# binaries' `bench queue` for ROUNDS rounds, the base first in odd rounds and the head first in
# even ones (a machine that slows down over the run then favours neither). Usage:
#   scripts/bench-queue-vs-commit.sh BASE [debug|release] [ROUNDS]
# REUSE=DIR reuses the two binaries a previous run left in DIR (creditops-base, creditops-head).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_COMMIT="${1:?usage: scripts/bench-queue-vs-commit.sh BASE [debug|release] [ROUNDS]}"
CONFIGURATION="${2:-release}"
ROUNDS="${3:-2}"
WORK="${REUSE:-$(mktemp -d /tmp/creditops-vs-XXXXXX)}"
if [ -z "${REUSE:-}" ]; then
    git worktree add -f "$WORK/base" "$BASE_COMMIT" >/dev/null
    (cd "$WORK/base" && swift build -c "$CONFIGURATION" --product creditops >/dev/null)
    swift build -c "$CONFIGURATION" --product creditops >/dev/null
    cp "$WORK/base/.build/$CONFIGURATION/creditops" "$WORK/creditops-base"
    cp ".build/$CONFIGURATION/creditops" "$WORK/creditops-head"
fi
rm -rf "$WORK/pgdata"

PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
AS_POSTGRES=()
[ "$(id -u)" = 0 ] && AS_POSTGRES=(runuser -u postgres --)
mkdir -p "$WORK/pgdata" && chmod 777 "$WORK"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pgdata"
"${AS_POSTGRES[@]}" "$PGBIN/initdb" -D "$WORK/pgdata" -A trust -U postgres >/dev/null
"${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/postgres.log" -w -o \
    "-p 55433 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK -c shared_buffers=256MB -c max_connections=200" start >/dev/null
cleanup() {
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m fast stop >/dev/null || true
    git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "== $(nproc) cores, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), $CONFIGURATION builds: base $BASE_COMMIT, head $(git rev-parse --short HEAD)"
for round in $(seq 1 "$ROUNDS"); do
    order="base head"; [ $((round % 2)) = 0 ] && order="head base"
    for b in $order; do
        echo "== round $round $b"
        DATABASE_URL='postgresql://postgres@127.0.0.1:55433/postgres?sslmode=disable' \
            "$WORK/creditops-$b" bench queue --jobs 20000 --concurrency 50 --reps 3 --json
done; done
