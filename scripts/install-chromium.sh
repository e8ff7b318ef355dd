#!/usr/bin/env bash
# Installs Chromium from Debian's packages when it is not there yet (idempotent, quiet), and
# prints its path on stdout. The Web UI screenshot test (test/e2e/web-ui-screenshot.test.ts)
# drives it headless through playwright-core; without it that test fails and says to run this.
# Needs root for apt-get, as CI on this machine kind has.
set -euo pipefail
say() { printf 'install-chromium: %s\n' "$*" >&2; }

chromium=/usr/bin/chromium
if [[ ! -x "$chromium" ]]; then
  [[ "$(id -u)" == 0 ]] || { say "Chromium is not installed and installing it needs root (apt-get install chromium)"; exit 1; }
  say "installing Chromium from Debian's packages (apt-get install chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
fi
[[ -x "$chromium" ]] || { say "no $chromium after installing"; exit 1; }
echo "$chromium"
