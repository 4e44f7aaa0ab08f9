#!/usr/bin/env bash
# A throwaway PostgreSQL server for payplan's tests.
#
#   scripts/postgres.sh start   prints a postgresql+psycopg:// URL on stdout
#   scripts/postgres.sh stop    stops the server and deletes its data
#   scripts/postgres.sh url     prints the URL of the running server
#
# Installs Debian's `postgresql` package with apt-get when no initdb is
# found (as root, after `apt-get update`), creates a cluster in a temporary
# directory owned by the `postgres` user (initdb refuses to run as root),
# and listens on 127.0.0.1 on a free port. TCP logins need a password
# (scram-sha-256 in pg_hba.conf, as a real server asks): the superuser's
# is a random one made at start and carried in the URL printed, so a test
# can log in with a wrong password and see the server refuse it
# (SQLSTATE 28P01). Only the Unix socket in the cluster's own folder trusts
# its owner. Nothing here is fit for data you want to keep. State lives in
# $PAYPLAN_PG_STATE (default: .postgres-test/ in the repository).
#
# PAYPLAN_PG_FILE_LIMIT_KB=N starts the server with `ulimit -f N` (no file
# of it may grow past N KiB; WAL segments of 1 MiB) for the store's
# full-disk test: a table that grows past the limit gets a short write,
# which PostgreSQL itself reports as SQLSTATE 53100 disk_full ("could not
# extend file ... Check free disk space"). Use it with its own
# PAYPLAN_PG_STATE, never for the shared test server.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE="${PAYPLAN_PG_STATE:-$PWD/.postgres-test}"

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" != 0 ]; then
        log "PostgreSQL is not installed and this is not root: install Debian's 'postgresql' package"
        exit 1
    fi
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
}

as_owner() {
    # run "$@" as the cluster's owner: postgres when we are root, else ourselves
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    if [ -f "$STATE/url" ] && [ -f "$STATE/data/postmaster.pid" ]; then
        cat "$STATE/url"; return 0
    fi
    local bin
    bin="$(find_bin)" || { install_postgres; bin="$(find_bin)"; } || { log "no initdb after installing"; exit 1; }
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    rm -rf "$STATE"
    mkdir -p "$STATE"
    local root
    root="$(mktemp -d "${TMPDIR:-/tmp}/payplan-pg.XXXXXX")"
    chmod 755 "$root"
    ln -s "$root" "$STATE/root"
    mkdir "$root/data" "$root/run"
    if [ "$(id -u)" = 0 ]; then chown postgres "$root/data" "$root/run"; fi
    ln -s "$root/data" "$STATE/data"
    local password
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    # the password file is read by initdb (as the cluster's owner), then deleted
    ( umask 077; printf '%s\n' "$password" >"$root/run/pwfile" )
    if [ "$(id -u)" = 0 ]; then chown postgres "$root/run/pwfile"; fi
    local limit="${PAYPLAN_PG_FILE_LIMIT_KB:-}" walseg=()
    if [ -n "$limit" ]; then walseg=(--wal-segsize=1); fi
    as_owner "$bin/initdb" -D "$root/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$root/run/pwfile" "${walseg[@]}" -E UTF8 --no-locale >"$STATE/initdb.log" 2>&1 \
        || { rm -f "$root/run/pwfile"; cat "$STATE/initdb.log" >&2; exit 1; }
    rm -f "$root/run/pwfile"
    local port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    ( if [ -n "$limit" ]; then ulimit -f "$limit"; fi
      as_owner "$bin/pg_ctl" -D "$root/data" -l "$root/run/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $root/run -c fsync=off -c max_connections=100" start >&2 ) \
        || { cat "$root/run/server.log" >&2; exit 1; }
    echo "$bin" >"$STATE/bin"
    ( umask 077; echo "postgresql+psycopg://postgres:$password@127.0.0.1:$port/postgres" >"$STATE/url" )
    cat "$STATE/url"
}

stop() {
    [ -d "$STATE" ] || return 0
    local root=""
    root="$(readlink "$STATE/root" 2>/dev/null || true)"
    if [ -f "$STATE/bin" ] && [ -n "$root" ] && [ -f "$root/data/postmaster.pid" ]; then
        as_owner "$(cat "$STATE/bin")/pg_ctl" -D "$root/data" -m immediate -w stop >&2 || true
    fi
    [ -n "$root" ] && rm -rf "$root"
    rm -rf "$STATE"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) cat "$STATE/url" ;;
    *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
