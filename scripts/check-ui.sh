#!/usr/bin/env bash
# The web UI's own checks, run by `make test`: its lint (ESLint + Prettier), its unit tests
# (Vitest), and that the API types it is built with are the API's: frontend/src/api/openapi.json
# is what the app answers at /openapi.json, and schema.d.ts is what openapi-typescript makes of
# it. After changing the API: `.venv/bin/python scripts/export-openapi.py`, then
# `npm run gen:api` in frontend/, and commit both files.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${HAVEN_PYTHON:-.venv/bin/python}
[[ -f frontend/package.json ]] || exit 0
if ! command -v npm >/dev/null 2>&1; then
    if [[ "${CI:-}" == "true" ]]; then
        echo "check-ui: npm is missing (CI=true: failing)" >&2
        exit 1
    fi
    echo "check-ui: npm is missing; the web UI's checks are skipped" >&2
    exit 0
fi

if grep -q "://" frontend/package-lock.json; then
    echo "check-ui: frontend/package-lock.json names other hosts (npm's funding addresses);" \
        "run npm run lock:clean in frontend/ and commit" >&2
    exit 1
fi

scratch=frontend/.check
rm -rf "$scratch" && mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
"$PY" scripts/export-openapi.py "$scratch/openapi.json" >/dev/null
if ! cmp -s "$scratch/openapi.json" frontend/src/api/openapi.json; then
    echo "check-ui: frontend/src/api/openapi.json is not the API's schema; regenerate it" \
        "(scripts/export-openapi.py, then npm run gen:api in frontend/) and commit" >&2
    diff -u frontend/src/api/openapi.json "$scratch/openapi.json" | head -40 >&2 || true
    exit 1
fi
(
    cd frontend
    npx --no-install openapi-typescript src/api/openapi.json -o .check/schema.d.ts \
        --default-non-nullable false >/dev/null
    npx --no-install prettier --write .check/schema.d.ts >/dev/null
)
if ! cmp -s "$scratch/schema.d.ts" frontend/src/api/schema.d.ts; then
    echo "check-ui: frontend/src/api/schema.d.ts is stale; run npm run gen:api in frontend/" >&2
    exit 1
fi
rm -rf "$scratch"
(cd frontend && npm run --silent lint && npm run --silent test)
