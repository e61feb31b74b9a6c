# Sourced by .ci/run: a PostgreSQL server for the state-store tests, which must run in CI.
# Uses MILESTONES_TEST_POSTGRES_URL when it is set; otherwise installs Debian's postgresql
# package if absent, starts the cluster when nothing listens on 5432, creates the role and
# the database, and exports the URL (the password only in PGPASSWORD, never in the URL).
if [ -z "${MILESTONES_TEST_POSTGRES_URL:-}" ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    cluster=$(pg_lsclusters --no-header | awk 'NR == 1 {print $1 " " $2}')
    if [ -z "$cluster" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      pg_createcluster "$version" main >/dev/null
      cluster="$version main"
    fi
    # shellcheck disable=SC2086
    pg_ctlcluster $cluster start
    for _ in $(seq 50); do
      (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break
      sleep 0.2
    done
  fi
  PGPASSWORD="ci-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  export PGPASSWORD
  (cd / && su postgres -c "psql -q -v ON_ERROR_STOP=1") <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'milestones') THEN
    CREATE ROLE milestones LOGIN;
  END IF;
END \$\$;
ALTER ROLE milestones PASSWORD '$PGPASSWORD';
SQL
  if ! (cd / && su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'milestones_test'\"") | grep -q 1; then
    (cd / && su postgres -c "createdb -O milestones milestones_test")
  fi
  export MILESTONES_TEST_POSTGRES_URL="postgresql://milestones@127.0.0.1:5432/milestones_test"
fi
# In CI the PostgreSQL tests fail rather than skip when the server cannot be reached.
export CI="${CI:-1}"
