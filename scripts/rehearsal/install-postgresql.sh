#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages when it is not there yet (idempotent, quiet),
# and prints the directory of its server binaries (initdb, postgres, pg_ctl) on stdout.
# Needs root for apt-get; Debian's package also creates the `postgres` system user.
set -euo pipefail
say() { printf 'install-postgresql: %s\n' "$*" >&2; }

newest_bindir() { { ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true; } | sort -V | tail -n 1; }

bindir="$(newest_bindir)"
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]] || ! id postgres >/dev/null 2>&1; then
  [[ "$(id -u)" == 0 ]] || { say "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"; exit 1; }
  say "installing PostgreSQL from Debian's packages (apt-get install postgresql)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # The package starts its default cluster on 5432 where it can; the rehearsal runs its own.
  pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" { print $1, $2 }' | while read -r version cluster; do
    pg_ctlcluster "$version" "$cluster" stop || true
  done
  bindir="$(newest_bindir)"
fi
[[ -x "$bindir/initdb" ]] || { say "no initdb under /usr/lib/postgresql/*/bin after installing"; exit 1; }
echo "$bindir"
