#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for tests (.ci/run and the
# sqlregistry tests use it). Debian's postgresql package; the cluster is
# initdb'ed into a temporary directory as an unprivileged user (postgres,
# or entrasaml-pg when run as root without one), with trust auth on
# 127.0.0.1 only and fsync off.
#
#   bash .ci/postgres.sh install            apt-get install postgresql if missing
#   bash .ci/postgres.sh start DIR [PID]    start in DIR (e.g. from mktemp -d) on a free
#                                           port and print its URL; with PID, the
#                                           server stops when that process ends
#   bash .ci/postgres.sh stop DIR           stop it and remove DIR
#
# start exits 3 when the PostgreSQL binaries are not installed.
set -euo pipefail

bindir() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"; return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

# as runs a command as the server's user.
as() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$pguser" -- "$@"; else "$@"; fi
}

pick_user() {
  pguser=$(id -un)
  if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then pguser=postgres; else
      id entrasaml-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin entrasaml-pg
      pguser=entrasaml-pg
    fi
  fi
}

case "${1:-}" in
install)
  if [ -z "$(bindir)" ]; then
    echo "installing: postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  ;;
start)
  dir=${2:?usage: postgres.sh start DIR [PID]}
  bin=$(bindir) || true
  [ -n "$bin" ] || { echo "postgres.sh: PostgreSQL is not installed (initdb, pg_ctl)" >&2; exit 3; }
  pick_user
  mkdir -p "$dir"
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown "$pguser" "$dir"
  as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue # taken
    if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null; then
      echo "$port" >"$dir/port"
      if [ -n "${3:-}" ]; then
        # Stop the server when process $3 ends, whoever forgets to.
        setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" stop "$3"' _ "$3" "$(readlink -f "$0")" "$dir" </dev/null >/dev/null 2>&1 &
      fi
      echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
      exit 0
    fi
  done
  cat "$dir/server.log" >&2
  exit 1
  ;;
stop)
  dir=${2:?usage: postgres.sh stop DIR}
  bin=$(bindir) || true
  pick_user
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: postgres.sh install | start DIR [PID] | stop DIR" >&2; exit 2
  ;;
esac
