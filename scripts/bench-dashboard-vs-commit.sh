#!/usr/bin/env bash
# The dashboard's HTML and the summary API against an earlier commit's, side by side in one run
# (BENCHMARKS.md "Issue 19"): builds BASE in a worktree and this tree in release, seeds the demo
# data set into a throwaway cluster, then serves it with each binary in turn (ABBA over ROUNDS
# rounds) under Debian's wrk, one thread and 8 connections for 15 s per address. Usage:
#   scripts/bench-dashboard-vs-commit.sh BASE [ROUNDS]
# REUSE=DIR reuses the binaries a previous run left in DIR (creditops-base, creditops-head).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_COMMIT="${1:?usage: scripts/bench-dashboard-vs-commit.sh BASE [ROUNDS]}"
ROUNDS="${2:-2}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
WORK="${REUSE:-$(mktemp -d /tmp/creditops-dash-XXXXXX)}"
if [ -z "${REUSE:-}" ]; then
    git worktree add -f "$WORK/base" "$BASE_COMMIT" >/dev/null
    (cd "$WORK/base" && swift build -c release --product creditops >/dev/null)
    swift build -c release --product creditops >/dev/null
    cp "$WORK/base/.build/release/creditops" "$WORK/creditops-base"
    cp ".build/release/creditops" "$WORK/creditops-head"
fi
rm -rf "$WORK/pgdata"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
AS_POSTGRES=()
[ "$(id -u)" = 0 ] && AS_POSTGRES=(runuser -u postgres --)
mkdir -p "$WORK/pgdata" && chmod 777 "$WORK"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pgdata"
"${AS_POSTGRES[@]}" "$PGBIN/initdb" -D "$WORK/pgdata" -A trust -U postgres >/dev/null
"${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/postgres.log" -w -o \
    "-p 55434 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK" start >/dev/null
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m fast stop >/dev/null || true
    git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export DATABASE_URL='postgres://postgres@127.0.0.1:55434/postgres?sslmode=disable'
"$WORK/creditops-head" migrate >/dev/null
"$WORK/creditops-head" seed --profile demo >/dev/null
"$WORK/creditops-head" aggregates rebuild >/dev/null
TOKEN="$("$WORK/creditops-head" tokens create --unit T01-H03 | tail -1)"
echo "== $(nproc) cores, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), release builds: base $BASE_COMMIT, head $(git rev-parse --short HEAD)"
for round in $(seq 1 "$ROUNDS"); do
    order="base head"; [ $((round % 2)) = 0 ] && order="head base"
    for b in $order; do
        "$WORK/creditops-$b" serve --http 127.0.0.1:18082 --log-level warning &
        SERVER=$!
        for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18082/healthz >/dev/null && break; sleep 0.1; done
        for path in /dashboard/T01-H03 /api/v1/units/T01-H03/summary; do
            echo "== round $round $b $path"
            wrk -t1 -c8 -d15s --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:18082$path" | grep -E "Requests/sec|^ +(50|99)%|Non-2xx"
        done
        kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    done
done
