#!/bin/bash
# A streaming replica: clone the primary once with pg_basebackup -R, then run as a hot standby.
set -euo pipefail
export PGDATA=/var/lib/postgresql/data
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h primary -U app -D "$PGDATA" -R -X stream -C -S replica1; do sleep 1; done
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
