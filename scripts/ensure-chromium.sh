#!/usr/bin/env bash
# The browser tests (tests/e2e) drive Debian's Chromium at /usr/bin/chromium. Install it from
# Debian's packages when it is missing and we may (root with apt-get); never download a browser
# any other way. Without it the browser tests skip, except under CI=true, where they fail.
set -uo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $CHROMIUM"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium: installing Debian's chromium package …"
  apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $CHROMIUM"
else
  echo "chromium: NOT installed (run 'apt-get install chromium' as root); browser tests skip," \
    "or fail under CI=true" >&2
fi
exit 0
