#!/usr/bin/env bash
# go-build.sh NAME VERSION MODULE/PKG[=BIN]...: builds Go packages at VERSION with
# `go install` into ~/.cache/sodimo-warehouse/NAME-VERSION/ (once; cached afterwards)
# and prints that directory on stdout (messages go to stderr). PKG=BIN renames the binary.
#
# The same fallbacks as scripts/temporal-cli.sh: a failed build is retried with
# GOSUMDB=off GOFLAGS=-mod=mod (a module proxy without the checksum database). A binary
# is moved into the cache only once every package has built, so a half-built one is
# never used.
set -euo pipefail

name="$1" version="$2"; shift 2
cache_root="${SODIMO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sodimo-warehouse}"
cache_dir="$cache_root/$name-$version"
say() { printf 'go-build: %s\n' "$*" >&2; }
[[ -d /usr/local/go/bin ]] && PATH="$PATH:/usr/local/go/bin"

bins=()
pkgs=()
for spec in "$@"; do
  pkg="${spec%%=*}"
  bin="${spec#*=}"; [[ "$spec" == *=* ]] || bin="${pkg##*/}"
  pkgs+=("$pkg@$version")
  bins+=("${pkg##*/}=$bin")
done

# One build per cache directory at a time: a second caller waits, then finds the binaries.
mkdir -p "$cache_root"
exec 9>"$cache_dir.lock"
flock 9

missing=0
for b in "${bins[@]}"; do [[ -x "$cache_dir/${b#*=}" ]] || missing=1; done
if [[ "$missing" == 0 ]]; then
  say "using cached $cache_dir"
  echo "$cache_dir"; exit 0
fi

command -v go >/dev/null 2>&1 || { say "Go is not installed, so $name $version cannot be built here"; exit 3; }
say "building $name $version with go install into $cache_dir (cold: minutes; cached afterwards; log in $cache_dir/build.log)"
mkdir -p "$cache_dir"
build_log="$cache_dir/build.log"
tmp_bin="$(mktemp -d "$cache_root/build.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT
if ! CGO_ENABLED=0 GOBIN="$tmp_bin" go install "${pkgs[@]}" >"$build_log" 2>&1 \
   && ! CGO_ENABLED=0 GOBIN="$tmp_bin" GOSUMDB=off GOFLAGS=-mod=mod go install "${pkgs[@]}" >>"$build_log" 2>&1; then
  say "go install failed; see $build_log"; tail -n 20 "$build_log" >&2; exit 1
fi
for b in "${bins[@]}"; do mv "$tmp_bin/${b%%=*}" "$cache_dir/${b#*=}"; done
say "built $cache_dir"
echo "$cache_dir"
