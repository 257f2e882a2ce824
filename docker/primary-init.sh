#!/bin/bash
# Lets the replica stream from the primary (runs once, at initdb, inside the postgres image).
set -euo pipefail
echo "host replication app all scram-sha-256" >> "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 -U app -d app -c "GRANT pg_read_all_stats TO app"
