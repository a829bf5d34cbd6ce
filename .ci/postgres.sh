#!/usr/bin/env bash
# CI: a PostgreSQL server for the tests on this machine (Debian's packages and cluster tooling; run as root).
# Installs the server if missing, creates and starts its cluster, creates a role that may create databases
# and a database to connect to, and prints the URL for SRADIT_TEST_PG_URL on stdout (progress on stderr).
# Idempotent: a second run finds everything in place. Each test then makes and drops its own database.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
ROLE=sradit PASSWORD=sradit DB=sradit_test

if ! command -v pg_lsclusters >/dev/null; then
  apt-get update -q >&2
  apt-get install -y -q postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
# initdb refuses to run as root: pg_createcluster runs it as the postgres user.
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {found = 1} END {exit !found}'; then
  pg_createcluster "$version" main >&2
fi
read -r port status < <(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3, $4}')
if [[ $status != online* ]]; then
  pg_ctlcluster "$version" main start >&2
fi

as_postgres() {  # from /, which the postgres user may read (the clone may not be)
  (cd / && runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@")
}
for _ in $(seq 30); do
  as_postgres -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 1
done
if [[ -z $(as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") ]]; then
  as_postgres -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
fi
if [[ -z $(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
  as_postgres -c "CREATE DATABASE $DB OWNER $ROLE"
fi
echo "postgres: PostgreSQL $version on port $port, role $ROLE, database $DB" >&2
echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
