#!/usr/bin/env bash
# Finds a Docker Compose v2 client and prints the command to run it on stdout (messages go
# to stderr): `docker compose` when the Docker client has the compose plugin, else
# `docker-compose` on PATH, else a versioned cache outside the repository, else it builds
# the pinned version with `go install` into that cache (the Go module proxy is reachable
# on machines with no general internet). `compose config` needs no Docker engine.
# Exits 3 when none of that works: the caller then skips the compose check.
set -euo pipefail

version="${COMPOSE_VERSION:-v2.40.3}"
cache_root="${SODIMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sodimo-warehouse}"
cache_dir="$cache_root/compose-$version"
say() { printf 'compose-cli: %s\n' "$*" >&2; }

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  say "using the docker client's compose plugin"
  echo "docker compose"; exit 0
fi
if on_path="$(command -v docker-compose 2>/dev/null)" && "$on_path" version 2>/dev/null | grep -q 'v2\.'; then
  say "using $on_path from PATH"
  echo "$on_path"; exit 0
fi
if [[ -x "$cache_dir/docker-compose" ]]; then
  say "using cached $cache_dir/docker-compose"
  echo "$cache_dir/docker-compose"; exit 0
fi
if command -v go >/dev/null 2>&1; then
  # Compose's go.mod has replace/exclude directives, so `go install …@version` refuses it:
  # download the module, then build its cmd package inside a writable copy.
  say "building Docker Compose $version from the Go module proxy into $cache_dir (minutes on a cold module cache; cached afterwards)"
  mkdir -p "$cache_dir"
  work="$(mktemp -d "$cache_root/build.XXXXXX")"
  if { src="$(go mod download -json "github.com/docker/compose/v2@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" \
       && cp -r "$src/." "$work/src" && chmod -R u+w "$work/src" \
       && (cd "$work/src" && CGO_ENABLED=0 go build -trimpath -o "$work/docker-compose" ./cmd); } >"$cache_dir/build.log" 2>&1; then
    mv "$work/docker-compose" "$cache_dir/docker-compose"
    rm -rf "$work"
    echo "$cache_dir/docker-compose"; exit 0
  fi
  rm -rf "$work"
  say "the build failed; see $cache_dir/build.log"
fi
say "no Docker Compose v2 client"
exit 3
