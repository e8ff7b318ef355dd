#!/usr/bin/env bash
# Finds the Temporal CLI and prints its absolute path on stdout (messages go to stderr).
#
# Order: $TEMPORAL_CLI, then `temporal` on PATH, then a versioned cache outside the
# repository, else it builds the pinned version with `go install` into that cache
# (the Go module proxy is reachable on machines with no general internet).
# If none of that works it exits 3: callers then fall back to the Temporal SDK's
# own download of the CLI, which needs the internet.
set -euo pipefail

version="${TEMPORAL_CLI_VERSION:-v1.5.1}"
cache_root="${SODIMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sodimo-warehouse}"
cache_dir="$cache_root/temporal-cli-$version"
say() { printf 'temporal-cli: %s\n' "$*" >&2; }

if [[ -n "${TEMPORAL_CLI:-}" ]]; then
  if [[ -x "$TEMPORAL_CLI" ]]; then
    say "using \$TEMPORAL_CLI=$TEMPORAL_CLI"
    echo "$TEMPORAL_CLI"; exit 0
  fi
  say "\$TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file"; exit 1
fi

if on_path="$(command -v temporal 2>/dev/null)"; then
  say "using $on_path from PATH"
  echo "$on_path"; exit 0
fi

if [[ -x "$cache_dir/temporal" ]]; then
  say "using cached $cache_dir/temporal"
  echo "$cache_dir/temporal"; exit 0
fi

if command -v go >/dev/null 2>&1; then
  say "building Temporal CLI $version with go install into $cache_dir (a cold build downloads several hundred MB of modules and takes minutes; it is cached afterwards)"
  mkdir -p "$cache_dir"
  build_log="$cache_dir/build.log"
  tmp_bin="$(mktemp -d "$cache_root/build.XXXXXX")"
  if CGO_ENABLED=0 GOBIN="$tmp_bin" go install "github.com/temporalio/cli/cmd/temporal@$version" >"$build_log" 2>&1 \
     || CGO_ENABLED=0 GOBIN="$tmp_bin" GOSUMDB=off GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$version" >>"$build_log" 2>&1; then
    mv "$tmp_bin/temporal" "$cache_dir/temporal"   # atomic: a half-built binary is never cached
    rmdir "$tmp_bin"
    say "built $cache_dir/temporal"
    echo "$cache_dir/temporal"; exit 0
  fi
  rm -rf "$tmp_bin"
  say "go install failed; see $build_log"
else
  say "Go is not installed, so the Temporal CLI cannot be built here"
fi

say "no Temporal CLI available: callers fall back to the Temporal SDK's download (needs the internet)"
exit 3
