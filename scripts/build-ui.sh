#!/usr/bin/env bash
# Build the web UI (frontend/) into src/haven/web/dist/, when its sources changed since the
# last build. Run by `make install` (so by `make run` and `make test`); fast when nothing changed.
#
# - No frontend/package.json: nothing to build.
# - No node/npm: say so and carry on (the server then answers / with a "not built" page);
#   with CI=true that is an error instead. Likewise a failing `npm ci` or build.
# - `npm ci` runs only when node_modules is missing or the lock file (or .npmrc) changed.
# - The hash of the sources, the lock file, .npmrc and node's version is kept in
#   src/haven/web/dist/.build-hash (the server never serves dot-files).
set -euo pipefail

cd "$(dirname "$0")/.."
FRONTEND=frontend
DIST=src/haven/web/dist
HASH_FILE="$DIST/.build-hash"
LOCK_HASH_FILE="$FRONTEND/node_modules/.haven-lock-hash"

[[ -f "$FRONTEND/package.json" ]] || exit 0

in_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

give_up() {
    if in_ci; then
        echo "build-ui: $1 (CI=true: failing)" >&2
        exit 1
    fi
    echo "build-ui: $1; the web UI was not built (the server keeps any earlier build, else / says how to build it)." >&2
    exit 0
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    give_up "node and npm are needed to build frontend/ (install Node.js 20 or newer, then run make install again)"
fi

if command -v sha256sum >/dev/null 2>&1; then
    SHA=(sha256sum)
else
    SHA=(shasum -a 256)  # macOS
fi
digest() { "${SHA[@]}" | cut -d' ' -f1; }

# Every file of frontend/ (its path and content) except installed packages and build
# output, and node's version: a new node may build differently.
sources_hash() {
    {
        node --version
        (
            cd "$FRONTEND"
            find . \( -name node_modules -o -name dist -o -name .vite -o -name coverage \
                -o -name test-results -o -name playwright-report -o -name '*.tsbuildinfo' \) \
                -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r "${SHA[@]}" --
        )
    } | digest
}

lock_hash() {
    local file
    for file in "$FRONTEND/package-lock.json" "$FRONTEND/.npmrc"; do
        echo "$file"
        if [[ -f "$file" ]]; then cat "$file"; fi
    done | digest
}

wanted=$(sources_hash)
if [[ -f "$DIST/index.html" && -f "$HASH_FILE" && "$(cat "$HASH_FILE")" == "$wanted" ]]; then
    exit 0  # up to date
fi

lock=$(lock_hash)
if [[ ! -d "$FRONTEND/node_modules" || ! -f "$LOCK_HASH_FILE" || "$(cat "$LOCK_HASH_FILE")" != "$lock" ]]; then
    echo "build-ui: npm ci in $FRONTEND/ …"
    (cd "$FRONTEND" && npm ci --no-audit --no-fund) || give_up "npm ci failed"
    mkdir -p "$FRONTEND/node_modules"  # npm ci makes none for a project without packages
    echo "$lock" > "$LOCK_HASH_FILE"
fi

echo "build-ui: npm run build in $FRONTEND/ …"
(cd "$FRONTEND" && npm run build) || give_up "npm run build failed"
[[ -f "$DIST/index.html" ]] || give_up "the build wrote no $DIST/index.html (vite outDir must be ../src/haven/web/dist)"
echo "$wanted" > "$HASH_FILE"
echo "build-ui: built the web UI into $DIST/"
