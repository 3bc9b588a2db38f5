#!/usr/bin/env bash
# The upgrade runbook done by hand with the standard tools: the baseline
# upshift is compared with. The benchmark writes this script into each
# sample installation and runs it from the installation's folder:
#
#   runbook.sh start     start the installed version and wait for health
#   runbook.sh upgrade   unpack the release beside the running one (before
#                        the window), then maintenance on, stop, pg_dump -Fc,
#                        switch, migrate, start, wait for health, maintenance off
#   runbook.sh restore   pg_restore the dump into a fresh database, swap names
#
# Timing uses bash's $EPOCHREALTIME (no fork per measurement). Each phase
# prints `phase <name> <ms>`; `upgrade` ends with `window <ms>` (maintenance
# on to maintenance off), `restore` with `restore <ms>`.
#
# Environment: BASE (server URL), TO (target version), ARCHIVE (its release
# archive), DUMP (dump file),
# PG_BIN (pg_dump, pg_restore, psql), PGHOST PGPORT PGUSER PGDATABASE
# PGPASSWORD (the standard libpq variables), JOBS (pg_restore jobs).
set -euo pipefail

root=server
config=server/server.toml
pidfile=run/server.pid
log=logs/server.log

now() { t=${EPOCHREALTIME/./}; }
now; last=$t
mark() {
    now
    echo "phase $1 $(((t - last) / 1000))"
    last=$t
}

maintenance() {
    curl -fsS -o /dev/null -X PUT -H "X-Api-Key: $(<server/keys/api.key)" \
        -H 'Content-Type: application/json' \
        -d "{\"IsInMaintenanceMode\":$1}" "$BASE/api/maintenance"
}

# A zombie counts as gone: whoever started the process reaps it.
alive() {
    local state
    state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$state" != Z ]
}

start() {
    setsid "$root/current/bin/sample-server" serve --config "$config" \
        >>"$log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid $(cut -d' ' -f22 "/proc/$pid/stat")" >"$pidfile"
    until curl -fsS -o /dev/null "$BASE/api/health"; do
        alive "$pid" || { echo "the server exited; see $log" >&2; exit 1; }
        sleep 0.02
    done
}

stop() {
    local pid
    pid=$(cut -d' ' -f1 "$pidfile")
    kill "$pid"
    while alive "$pid"; do sleep 0.02; done
    rm -f "$pidfile"
}

psql_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"
}

case "${1:-}" in
start)
    start
    ;;
upgrade)
    mkdir -p "$root/versions/$TO"
    tar -xzf "$ARCHIVE" -C "$root/versions/$TO"
    mark stage
    begin=$last
    maintenance true
    mark maintenance-on
    stop
    mark stop
    "$PG_BIN/pg_dump" -Fc -f "$DUMP"
    mark backup-db
    ln -sfn "versions/$TO" "$root/current"
    mark switch
    "$root/current/bin/sample-server" migrate --config "$config" >/dev/null
    mark migrate
    start
    mark start
    maintenance false
    mark maintenance-off
    echo "window $(((last - begin) / 1000))"
    ;;
restore)
    begin=$last
    fresh="${PGDATABASE}_restore"
    old="${PGDATABASE}_old"
    psql_admin -c "CREATE DATABASE \"$fresh\""
    "$PG_BIN/pg_restore" --exit-on-error --jobs="$JOBS" -d "$fresh" "$DUMP"
    mark pg_restore
    psql_admin -c "ALTER DATABASE \"$PGDATABASE\" RENAME TO \"$old\"" \
        -c "ALTER DATABASE \"$fresh\" RENAME TO \"$PGDATABASE\""
    psql_admin -c "DROP DATABASE \"$old\""
    mark rename
    echo "restore $(((last - begin) / 1000))"
    ;;
*)
    echo "usage: runbook.sh start|upgrade|restore" >&2
    exit 2
    ;;
esac
