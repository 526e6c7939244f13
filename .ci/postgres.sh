#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the storage tests and bench/storage_concurrency.py.
#
#   .ci/postgres.sh start DIR   initdb in DIR, serve on a free 127.0.0.1 port, print the URL
#                               (postgresql://almea@127.0.0.1:PORT/almea, trust auth)
#   .ci/postgres.sh stop DIR    stop the server (removing DIR is the caller's)
#
# Binaries: $POSTGRES_BIN, else initdb on PATH, else the newest /usr/lib/postgresql/*/bin.
# initdb refuses to run as root, so as root the cluster belongs to an unprivileged user:
# almea-pg (created once with useradd), or nobody where no user can be created.
set -euo pipefail

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

bin=${POSTGRES_BIN:-}
if [ -z "$bin" ]; then
    if command -v initdb >/dev/null 2>&1; then
        bin=$(dirname "$(command -v initdb)")
    else
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "no PostgreSQL binaries (initdb, pg_ctl, postgres) found; set POSTGRES_BIN" >&2
    exit 1
fi

owner=""
if [ "$(id -u)" -eq 0 ]; then
    owner=almea-pg
    if ! id -u "$owner" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$owner" 2>/dev/null || owner=nobody
    fi
fi

as_owner() {
    if [ -z "$owner" ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$owner" -- "$@"
    else
        su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")"
    fi
}

case "$command" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -n "$owner" ]; then
        chown "$owner" "$dir"
    fi
    if ! as_owner test -w "$dir"; then
        echo "$dir is not writable by ${owner:-$(id -un)}: use a folder whose parents others may enter (e.g. under /tmp)" >&2
        exit 1
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U almea --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "CREATE DATABASE almea" | as_owner "$bin/postgres" --single -D "$dir/data" postgres >"$dir/createdb.log" 2>&1 \
        || { cat "$dir/createdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql://almea@127.0.0.1:$port/almea"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    fi
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
