#!/bin/sh
# Readiness and the image's HEALTHCHECK: the server answers a query in the service's database
# (pg_isready alone says only that connections are accepted).
exec psql -qtA -h /tmp -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c 'SELECT 1' >/dev/null
