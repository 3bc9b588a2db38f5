#!/usr/bin/env bash
# The HA upgrade runbook done by hand over ssh with the standard tools: the
# baseline upshift's cluster window is compared with. Run from the sample
# installation's folder (the benchmark writes it there):
#
#   cluster_runbook.sh upgrade   unpack the release on every node (before the
#                                window), then maintenance on, stop every
#                                node in turn, sqlite3 .backup, on the first
#                                node switch + migrate + start + wait for
#                                health, then each other node switch + start +
#                                wait for health, maintenance off
#
# One `ssh` per node and phase, node after node, as a checklist reads. Each
# phase prints `phase <name> <ms>`; the run ends with `window <ms>`.
#
# Environment: SSH_CONFIG (ssh -F), TO (target version), ARCHIVE (its
# release archive), DB (the shared SQLite file), DUMP (backup file), and per
# node i (1..N): NODE_i (ssh address), ROOT_i (install root), URL_i (its base
# URL); N (node count).
set -euo pipefail

now() { t=${EPOCHREALTIME/./}; }
now; last=$t
mark() {
    now
    echo "phase $1 $(((t - last) / 1000))"
    last=$t
}

on() { # on <i> <command>: run a shell command on node i
    local host="NODE_$1"
    ssh -F "$SSH_CONFIG" -o BatchMode=yes "root@${!host}" "$2"
}

var() { local v="$1_$2"; echo "${!v}"; }

maintenance() {
    curl -fsS -o /dev/null -X PUT -H "X-Api-Key: $(<server/keys/api.key)" \
        -H 'Content-Type: application/json' \
        -d "{\"IsInMaintenanceMode\":$1}" "$URL_1/api/maintenance"
}

stop() { # stop <i>: kill the node's server and wait until it is gone
    local root
    root=$(var ROOT "$1")
    on "$1" "pid=\$(cut -d' ' -f1 '$root/run/server.pid'); kill \$pid; while [ -e /proc/\$pid ] && [ \"\$(cut -d' ' -f3 /proc/\$pid/stat)\" != Z ]; do sleep 0.02; done; rm -f '$root/run/server.pid'"
}

switch_start() { # switch_start <i>: point current at TO, start, wait for health
    local root url
    root=$(var ROOT "$1")
    url=$(var URL "$1")
    on "$1" "ln -sfn 'versions/$TO' '$root/current' && cd '$PWD' || exit 1; setsid '$root/current/bin/sample-server' serve --config '$root/server.toml' >>'$root/logs/server.log' 2>&1 </dev/null & pid=\$!; echo \"\$pid \$(cut -d' ' -f22 /proc/\$pid/stat)\" > '$root/run/server.pid'"
    until curl -fsS -o /dev/null "$url/api/health"; do sleep 0.02; done
}

case "${1:-}" in
upgrade)
    for i in $(seq 1 "$N"); do
        root=$(var ROOT "$i")
        on "$i" "mkdir -p '$root/versions/$TO' && tar -xzf - -C '$root/versions/$TO'" <"$ARCHIVE"
    done
    mark stage
    begin=$last
    maintenance true
    mark maintenance-on
    for i in $(seq 1 "$N"); do stop "$i"; done
    mark stop
    sqlite3 "$DB" ".backup '$DUMP'"
    mark backup-db
    on 1 "cd '$PWD' && '$ROOT_1/versions/$TO/bin/sample-server' migrate --config server/server.toml >/dev/null"
    mark migrate
    switch_start 1
    mark start-first
    for i in $(seq 2 "$N"); do switch_start "$i"; done
    mark start-others
    maintenance false
    mark maintenance-off
    echo "window $(((last - begin) / 1000))"
    ;;
*)
    echo "usage: cluster_runbook.sh upgrade" >&2
    exit 2
    ;;
esac
