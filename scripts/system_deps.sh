#!/usr/bin/env bash
# Best-effort system packages for the tests that need them; each such test skips with a message
# naming what to install when its program is missing, so a failure here never fails `make test`.
#   PostgreSQL server binaries: the restart, status and kill -9 tests on a real PostgreSQL server
#   Chromium: the screenshot check of a `ts-plugin plot` page
# Installs only as root with apt-get (Debian); otherwise it says what is missing and goes on.
set -uo pipefail

missing=()
if ! command -v pg_ctl >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; then
  missing+=(postgresql)
fi
if ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages for the tests: ${missing[*]}"
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null; then
    exit 0
  fi
fi
echo "not installed: ${missing[*]} (apt-get install ${missing[*]}); the tests that need them will be skipped"
exit 0
