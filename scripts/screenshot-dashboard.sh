#!/usr/bin/env bash
# Saves a PNG of a district's dashboard so people can see it without running anything.
#
#   DATABASE_URL=postgres://… scripts/screenshot-dashboard.sh [UNIT] [OUT.png]
#
# Needs a seeded database (creditops seed --profile demo), Debian's chromium, and port 18080 free.
# Creates a read-only token for UNIT (default T01-H03), serves the API on 127.0.0.1:18080 while
# Chromium renders the page, then stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a seeded database}"
UNIT="${1:-T01-H03}"
OUT="${2:-dashboard.png}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
swift build -c release --product creditops >/dev/null
CREDITOPS="$PWD/.build/release/creditops"
TOKEN="$("$CREDITOPS" tokens create --unit "$UNIT" --name screenshot 2>/dev/null | tail -1)"
"$CREDITOPS" serve --http 127.0.0.1:18080 --log-level warning &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1900 \
    --screenshot="$OUT" "http://127.0.0.1:18080/dashboard/$UNIT?token=$TOKEN" >/dev/null 2>&1
echo "saved $OUT"
