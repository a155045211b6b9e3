#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, from Debian's postgresql
# packages: `start STATE` creates a cluster in a new temporary directory,
# starts it on a Unix socket only (no TCP port) and writes the libpq
# connection string to the file STATE; `stop STATE` stops it and removes
# the directory. As root, the server runs as the postgres user (PostgreSQL
# refuses to run as root). `restart STATE` restarts it with its data (what a
# failover or an upgrade does to clients). `start STATE durable` keeps PostgreSQL's
# default durability (fsync on) and more shared memory, for benchmarks.
set -euo pipefail
action=$1
state=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "postgres_server.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_server() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    "$0" stop "$state" 2>/dev/null || true
    dir=$(mktemp -d /tmp/trelink-pg.XXXXXX)
    chmod 700 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_server "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # Sized for tests: small shared memory, fsync off (a crashed test
    # server is thrown away anyway).
    settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB"
    [ "${3:-}" = durable ] && settings="-c shared_buffers=1GB -c max_wal_size=8GB -c work_mem=64MB"
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -c max_connections=100 $settings" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    mkdir -p "$(dirname "$state")"
    echo "host=$dir port=5432 user=postgres dbname=postgres" >"$state"
    ;;
  restart)
    dir=$(sed -n 's/^host=\([^ ]*\) .*/\1/p' "$state")
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    [ -f "$state" ] || exit 0
    dir=$(sed -n 's/^host=\([^ ]*\) .*/\1/p' "$state")
    if [ -n "$dir" ] && [ -d "$dir/data" ]; then
      as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in /tmp/trelink-pg.*) rm -rf "$dir" ;; esac
    rm -f "$state"
    ;;
  *)
    echo "usage: $0 start|restart|stop STATE_FILE" >&2
    exit 2
    ;;
esac
