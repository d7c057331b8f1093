# Sourced by the benchmark scripts: builds the release binary (BENCH_CONFIGURATION=debug: the
# debug one, when a release build would take longer than the measurement) and starts a throwaway PostgreSQL
# server with the defaults of initdb (fsync and synchronous_commit on) in $OUT on $PORT, stopped
# when the script exits. Sets CREDITOPS (the binary), PGBIN and BASE (postgres://… without a
# database) and calls `on_exit` (if the script defines it) before stopping the server.
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
AS_POSTGRES=()
[ "$(id -u)" = 0 ] && AS_POSTGRES=(runuser -u postgres --)

CONFIGURATION="${BENCH_CONFIGURATION:-release}"
swift build -c "$CONFIGURATION" --product creditops >/dev/null
CREDITOPS="$PWD/.build/$CONFIGURATION/creditops"

mkdir -p "$OUT/pgdata" && chmod 777 "$OUT"
[ "$(id -u)" = 0 ] && chown postgres "$OUT/pgdata"
"${AS_POSTGRES[@]}" "$PGBIN/initdb" -D "$OUT/pgdata" -A trust -U postgres >/dev/null
"${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$OUT/pgdata" -l "$OUT/postgres.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$OUT" start >/dev/null
stop_cluster() {
    if declare -F on_exit >/dev/null; then on_exit; fi
    "${AS_POSTGRES[@]}" "$PGBIN/pg_ctl" -D "$OUT/pgdata" -m fast stop >/dev/null
}
trap stop_cluster EXIT
BASE="postgres://postgres@127.0.0.1:$PORT"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), commit $(git rev-parse --short HEAD), $CONFIGURATION build"
