#!/usr/bin/env bash
# The production topology, rehearsed without Docker: runs what docker-compose.yml runs, as
# processes on this machine, then an operator's day through it (scripts/rehearsal/scenario.ts).
#
#   PostgreSQL        Debian's package (installed here if missing), as user postgres
#   temporal-schema   compose's own job script, with temporal-sql-tool built at compose's version
#   temporal          the Temporal server itself (not the dev server), same version, same environment
#   temporal-setup    compose's own job script: the namespace and the search attributes
#   mailpit           built at compose's version; the worker's SMTP server
#   worker            started as ops/sodimo-warehouse-worker.service starts it, from a .env
#                     filled in from .env.example (as the runbook says)
#   D1                the local D1 service (d1/local-service): there is no Cloudflare here
#
# Versions, job scripts and service environments come from `docker compose config` (so the
# rehearsal and the compose file cannot drift); only addresses differ: every server listens
# on 127.0.0.1, on free ports. Go builds are cached in ~/.cache/sodimo-warehouse/<name>-<version>.
# Everything it started is stopped at the end, pass or fail; on failure the logs are kept
# and their last lines printed. REHEARSAL_KEEP=1 keeps the run directory after a pass too.
#
# Needs root (apt-get, and running PostgreSQL as its own user). Exit 0: every step held.
#
#   bash scripts/rehearsal/rehearse.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
here="$repo/scripts/rehearsal"
started_at=$SECONDS
say() { printf 'rehearsal: %s\n' "$*"; }
fail() { say "FAILED: $*" >&2; exit 1; }

[[ -x node_modules/.bin/node ]] || fail "node_modules/.bin/node is missing: run npm ci first"
export PATH="$repo/node_modules/.bin:$PATH:/usr/local/go/bin"
[[ "$(id -u)" == 0 ]] || fail "run as root: PostgreSQL is installed with apt-get and runs as the postgres user"

run="$(mktemp -d /tmp/sodimo-rehearsal.XXXXXX)"
chmod 0755 "$run"
mkdir -p "$run/logs" "$run/bin" "$run/compose"

# ---- stopping everything, pass or fail --------------------------------------------------
names=() pids=()
# started NAME PID: remembered, to be stopped at the end in reverse order.
started() { names+=("$1"); pids+=("$2"); }
# stop_one NAME PID SIGNAL GRACE_SECONDS: signal, wait, SIGKILL after the grace; returns the exit status.
stop_one() {
  local name="$1" pid="$2" signal="$3" grace="$4" waited=0 status=0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || status=$?; return "$status"; }
  kill "-$signal" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && (( waited < grace * 10 )); do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) did not stop within ${grace} s of SIG$signal: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}
cleanup() {
  local code=$? i status
  trap - EXIT INT TERM
  set +e   # stop everything, whatever fails on the way
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
    local name="${names[i]}" pid="${pids[i]}" signal=TERM grace=30
    case "$name" in
      worker) grace=60 ;;            # the unit's TimeoutStopSec
      postgresql) signal=INT ;;      # PostgreSQL's fast shutdown
    esac
    status=0; stop_one "$name" "$pid" "$signal" "$grace" || status=$?
    # The local D1 service exits 1 when an answer or request broke Cloudflare's D1 schema.
    if [[ "$name" == local-d1 && "$status" != 0 && "$status" != 143 ]]; then
      say "the local D1 service reported requests or answers outside Cloudflare's D1 schema (logs/local-d1.log)" >&2
      code=1
    fi
    if [[ "$name" == worker ]]; then say "worker stopped by SIGTERM: exit status $status"; fi
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then say "pid $pid is still running" >&2; code=1; fi
  done
  if [[ "$code" == 0 ]]; then
    say "passed in $((SECONDS - started_at)) s; every process it started has stopped"
    [[ "${REHEARSAL_KEEP:-}" == 1 ]] && say "kept $run" || rm -rf "$run"
  else
    for log in "$run"/logs/*.log; do
      [[ -s "$log" ]] || continue
      printf '\n---- last lines of %s ----\n' "$log" >&2
      tail -n 25 "$log" >&2
    done
    say "FAILED after $((SECONDS - started_at)) s; every process it started has stopped; logs and data kept in $run" >&2
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until WHAT SECONDS PID COMMAND...: polls COMMAND until it succeeds; fails when PID has died or time is up.
wait_until() {
  local what="$1" seconds="$2" pid="$3"; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what: the process exited (see $run/logs)"
    (( SECONDS < deadline )) || fail "$what: not ready after $seconds s (see $run/logs)"
    sleep 1
  done
}

# ---- tools: PostgreSQL, the compose client, the Temporal CLI ------------------------------
pg_bin="$(bash "$here/install-postgresql.sh")"
compose="$(bash scripts/compose-cli.sh)" || fail "no Docker Compose client (scripts/compose-cli.sh): the rehearsal reads docker-compose.yml through it"
temporal_cli="$(bash scripts/temporal-cli.sh)" || fail "no Temporal CLI (scripts/temporal-cli.sh)"
ln -s "$temporal_cli" "$run/bin/temporal"   # compose's temporal-setup job calls `temporal`

# ---- the .env, as an operator fills it in from .env.example --------------------------------
read -r pg_port d1_port smtp_port mailpit_ui_port frontend_port frontend_http_port frontend_member_port \
  history_port history_member_port matching_port matching_member_port worker_port worker_member_port \
  < <(node "$here/free-ports.ts" 13)
mkdir -p "$run/nas/inbox" "$run/var" "$run/approvers"
: > "$run/approvers/allowed_signers"
env_file="$run/env"
node "$here/fill-env.ts" .env.example "$env_file" <<EOF
TEMPORAL_DB_PASSWORD=$(node -p "require('node:crypto').randomBytes(18).toString('hex')")
WAREHOUSE_NAS_HOST_DIR=$run/nas
CLOUDFLARE_ACCOUNT_ID=local-account
D1_DATABASE_ID=local-warehouse
CLOUDFLARE_API_TOKEN=$(node -p "require('node:crypto').randomBytes(18).toString('hex')")
TEMPORAL_ADDRESS=127.0.0.1:$frontend_port
D1_API_URL=http://127.0.0.1:$d1_port/client/v4
WAREHOUSE_VAR_DIR=$run/var
WAREHOUSE_NAS_DIR=$run/nas
SMTP_URL=smtp://127.0.0.1:$smtp_port
APPROVER_PUBLIC_KEYS=$run/approvers/allowed_signers
APPROVER_PUBLIC_KEYS_HOST_FILE=$run/approvers/allowed_signers
APPROVER_KEY=$run/approvers/paul.key
EOF
# shellcheck disable=SC1090
set -a; . "$env_file"; set +a

# ---- what docker-compose.yml runs ------------------------------------------------------------
$compose --project-directory "$repo" -f docker-compose.yml --env-file "$env_file" config --format json \
  | node "$here/compose-facts.ts" "$run/compose"
# shellcheck disable=SC1091
. "$run/compose/versions.env"
export TEMPORAL_VERSION

server_dir="$(bash "$here/go-build.sh" temporal-server "v$TEMPORAL_VERSION" \
  go.temporal.io/server/cmd/server=temporal-server go.temporal.io/server/cmd/tools/sql=temporal-sql-tool)"
mailpit_dir="$(bash "$here/go-build.sh" mailpit "$MAILPIT_VERSION" github.com/axllent/mailpit)"
# The schema files of that server version (admin-tools' /etc/temporal/schema), from the module cache.
server_module="$(go mod download -json "go.temporal.io/server@v$TEMPORAL_VERSION" | node -e 'process.stdin.setEncoding("utf8");let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).Dir))')"
[[ -d "$server_module/schema/postgresql/v12" ]] || fail "no schema/postgresql/v12 in $server_module"

# ---- postgresql ----------------------------------------------------------------------------------
pg_version="$("$pg_bin/postgres" --version | awk '{ print $3 }')"
[[ "${pg_version%%.*}" == "$POSTGRES_VERSION" ]] || say "note: PostgreSQL $pg_version from Debian; compose runs postgres:$POSTGRES_VERSION (Temporal's postgres12 plugin supports both)"
pg_data="$run/postgresql"
install -d -o postgres -g postgres -m 0700 "$pg_data" "$run/postgresql-socket"
# As the postgres image does with compose's POSTGRES_USER and POSTGRES_PASSWORD: that user is the
# superuser, and needs its password over TCP.
# shellcheck disable=SC1091
. "$run/compose/postgresql.env"
install -o postgres -g postgres -m 0600 /dev/null "$run/postgresql.pw"
printf '%s\n' "$POSTGRES_PASSWORD" > "$run/postgresql.pw"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
as_postgres "$pg_bin/initdb" -D "$pg_data" -U "$POSTGRES_USER" --pwfile="$run/postgresql.pw" --auth-local=peer --auth-host=scram-sha-256 \
  >"$run/logs/postgresql-initdb.log" 2>&1 || fail "initdb (logs/postgresql-initdb.log)"
rm -f "$run/postgresql.pw"
# Not through as_postgres: $! must be the server itself (setpriv execs it), to be stopped by its pid.
setpriv --reuid=postgres --regid=postgres --init-groups -- "$pg_bin/postgres" -D "$pg_data" -c listen_addresses=127.0.0.1 \
  -c port="$pg_port" -c unix_socket_directories="$run/postgresql-socket" >"$run/logs/postgresql.log" 2>&1 &
started postgresql $!
# compose's healthcheck
wait_until "postgresql" 60 "${pids[-1]}" "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" -U temporal -d temporal
PGPASSWORD="$POSTGRES_PASSWORD" "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U "$POSTGRES_USER" -d postgres \
  -c "CREATE DATABASE $POSTGRES_USER" >/dev/null   # the image's POSTGRES_DB, which defaults to the user's name
say "postgresql $pg_version on 127.0.0.1:$pg_port"

# ---- temporal-schema (compose's job, run twice: it runs on every `up`) ------------------------------
schema_job() {
  # shellcheck disable=SC1091
  ( . "$run/compose/temporal-schema.env"
    export SQL_HOST=127.0.0.1 SQL_PORT="$pg_port" TEMPORAL_SCHEMA_ROOT="$server_module/schema" PATH="$server_dir:$PATH"
    sh "$run/compose/temporal-schema.sh" ) >>"$run/logs/temporal-schema.log" 2>&1
}
schema_job || fail "the temporal-schema job (logs/temporal-schema.log)"
schema_job || fail "the temporal-schema job, run again on a database it already set up (logs/temporal-schema.log)"
say "temporal-schema: done twice (the second run found the schema current)"

# ---- temporal: the server, with compose's environment; addresses are this machine's ---------------
(
  # shellcheck disable=SC1091
  . "$run/compose/temporal.env"
  cp "$run/compose/dynamicconfig.yaml" "$run/dynamicconfig.yaml"
  export POSTGRES_SEEDS=127.0.0.1 DB_PORT="$pg_port" BIND_ON_IP=127.0.0.1 DYNAMIC_CONFIG_FILE_PATH="$run/dynamicconfig.yaml" \
    FRONTEND_GRPC_PORT="$frontend_port" FRONTEND_HTTP_PORT="$frontend_http_port" FRONTEND_MEMBERSHIP_PORT="$frontend_member_port" \
    HISTORY_GRPC_PORT="$history_port" HISTORY_MEMBERSHIP_PORT="$history_member_port" \
    MATCHING_GRPC_PORT="$matching_port" MATCHING_MEMBERSHIP_PORT="$matching_member_port" \
    WORKER_GRPC_PORT="$worker_port" WORKER_MEMBERSHIP_PORT="$worker_member_port"
  cd "$run"
  # What the image's entrypoint runs: the embedded config template, filled in from the environment.
  exec "$server_dir/temporal-server" start
) >"$run/logs/temporal.log" 2>&1 &
started temporal $!
# compose's healthcheck only checks the port; waiting for SERVING here fails at once when the server exits.
wait_until "temporal" 120 "${pids[-1]}" "$run/bin/temporal" operator cluster health --address "127.0.0.1:$frontend_port"
say "temporal $TEMPORAL_VERSION on 127.0.0.1:$frontend_port (PostgreSQL persistence and visibility)"

# ---- temporal-setup (compose's job) --------------------------------------------------------------
# shellcheck disable=SC1091
( . "$run/compose/temporal-setup.env"
  export TEMPORAL_ADDRESS="127.0.0.1:$frontend_port" PATH="$run/bin:$PATH"
  sh "$run/compose/temporal-setup.sh" ) >"$run/logs/temporal-setup.log" 2>&1 || fail "the temporal-setup job (logs/temporal-setup.log)"
say "temporal-setup: $(tail -n 1 "$run/logs/temporal-setup.log")"

# ---- mailpit ------------------------------------------------------------------------------------
(
  # shellcheck disable=SC1091
  . "$run/compose/mailpit.env"
  export MP_DATABASE="$run/mailpit.db" MP_SMTP_BIND_ADDR="127.0.0.1:$smtp_port" MP_UI_BIND_ADDR="127.0.0.1:$mailpit_ui_port"
  exec "$mailpit_dir/mailpit"
) >"$run/logs/mailpit.log" 2>&1 &
started mailpit $!
# compose's healthcheck (`mailpit readyz`, which reads the same MP_UI_BIND_ADDR)
wait_until "mailpit" 30 "${pids[-1]}" env MP_UI_BIND_ADDR="127.0.0.1:$mailpit_ui_port" "$mailpit_dir/mailpit" readyz
say "mailpit $MAILPIT_VERSION: SMTP 127.0.0.1:$smtp_port, API http://127.0.0.1:$mailpit_ui_port"

# ---- the warehouse: the local D1 service stands in for Cloudflare D1 ------------------------------
D1_API_TOKEN="$CLOUDFLARE_API_TOKEN" node "$here/local-d1.ts" "$d1_port" "$run/d1" >"$run/logs/local-d1.log" 2>&1 &
started local-d1 $!
wait_until "local D1 service" 30 "${pids[-1]}" node -e "fetch('http://127.0.0.1:$d1_port/__local/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
say "local D1 service on 127.0.0.1:$d1_port (no Cloudflare account here: same REST API, local SQLite)"

# ---- the approver's key (runbook: "Approver keys"), then the worker ---------------------------------
# The CLI as ops/README.md's alias runs it.
warehouse() { env -i PATH="$PATH" HOME="$run" node --env-file="$env_file" "$repo/client/cli.ts" "$@"; }
warehouse approver-key create --name paul --out "$APPROVER_KEY" --register >"$run/logs/approver-key.log" 2>&1 \
  || fail "warehouse approver-key create (logs/approver-key.log)"
say "approver key: $(grep -c . "$APPROVER_PUBLIC_KEYS") line in APPROVER_PUBLIC_KEYS"

# ExecStart of ops/sodimo-warehouse-worker.service: its Environment= lines, then its EnvironmentFile,
# in WorkingDirectory, Node 24 from node_modules (WORKFLOW_BUNDLE_PATH unset: bundled at start).
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$run" NODE_ENV=production WAREHOUSE_VAR_DIR=/var/lib/sodimo-warehouse WAREHOUSE_NAS_DIR=/mnt/sodiwin \
  bash -c 'set -a; . "$1"; set +a; cd "$2"; exec "$2/node_modules/.bin/node" client/cli.ts worker' _ "$env_file" "$repo" \
  >"$run/logs/worker.log" 2>&1 &
started worker $!
# compose's healthcheck of the worker container: the Temporal server sees this host's worker poll.
wait_until "worker" 120 "${pids[-1]}" env -i PATH="$PATH" node --env-file="$env_file" "$repo/ops/worker-healthcheck.ts"
say "worker polling (ops/worker-healthcheck.ts says healthy)"

# ---- the operator's day ---------------------------------------------------------------------------
REHEARSAL_ENV_FILE="$env_file" REHEARSAL_DIR="$run" MAILPIT_API="http://127.0.0.1:$mailpit_ui_port" node "$here/scenario.ts"

# What Temporal recorded is in PostgreSQL.
nights="$(PGPASSWORD="$TEMPORAL_DB_PASSWORD" "$pg_bin/psql" -tA -h 127.0.0.1 -p "$pg_port" -U temporal -d temporal_visibility \
  -c "SELECT count(*) FROM executions_visibility WHERE workflow_id LIKE 'nightly-2027-12-0_' AND status = 2")"
[[ "$nights" == 2 ]] || fail "PostgreSQL's visibility store holds $nights completed nightly runs, not 2"
say "PostgreSQL holds both completed nights (temporal_visibility.executions_visibility)"
