#!/usr/bin/env bash
# Start the local services the integration tests use, if they are installed but not running.
# (On the project's machines they are Debian packages started at boot; this covers restarts.)
set -uo pipefail

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "postgresql: ready"
else
  echo "postgresql: NOT reachable on 127.0.0.1:5432 (the PostgreSQL half of make test will fail)" >&2
fi

bash "$(dirname "$0")/ensure-chromium.sh"
