#!/bin/sh
# Make the cluster on the volume at first start (user, password, database), then run PostgreSQL
# in the foreground. A later start finds PG_VERSION and keeps the data.
set -eu
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required (from a Secret)}"
log() { echo "workshop-postgres: $*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  log "initialising $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # Over TCP a password (scram-sha-256); on the socket in /tmp, inside this container only, trust
  # (what the readiness probe uses).
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-host=scram-sha-256 --auth-local=trust >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses= -c unix_socket_directories=/tmp &
  until pg_isready -q -h /tmp -U "$POSTGRES_USER" -d postgres; do sleep 0.2; done
  [ "$POSTGRES_DB" = postgres ] || psql -q -h /tmp -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE \"$POSTGRES_DB\""
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
# Kubernetes stops it with the image's STOPSIGNAL, SIGINT: a fast shutdown (see the Dockerfile).
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
