#!/usr/bin/env bash
# `make mutation`: judge every mutant of src/haven/recurrence with cosmic-ray (mutation.toml).
#
# cosmic-ray mutates the source file in place, so two mutants can only be tested at the same
# time in two copies of the tree. Each worker gets its own copy under .mutation/worker-N
# (src, tests and the project metadata; the .venv is shared, and PYTHONPATH=src in the test
# command makes the copy's mutated sources the ones imported) and serves cosmic-ray's http
# distributor on a local port. The copies are made afresh at every run, so they test the
# current tests. The work tree itself is never mutated: tests can be run there meanwhile.
#
#   MUTATION_FRESH=1   start a new session (otherwise an unfinished one is resumed)
#   MUTATION_SESSION   the session database (default .mutation/recurrence.sqlite)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${VENV:-.venv}
session=${MUTATION_SESSION:-.mutation/recurrence.sqlite}
ports=(9871 9872) # must match worker-urls in mutation.toml

mkdir -p "$(dirname "$session")"
if [[ -n "${MUTATION_FRESH:-}" || ! -f "$session" ]]; then
    "$venv/bin/cosmic-ray" init mutation.toml "$session" --force
    "$venv/bin/cr-filter-operators" "$session" mutation.toml
    "$venv/bin/cr-filter-pragma" "$session"
fi

worker_pids=()
stop_workers() {
    # A worker finishes the mutant in hand before it stops: wait, so the next run finds its
    # port free.
    for pid in "${worker_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_workers EXIT

for n in "${!ports[@]}"; do
    copy=.mutation/worker-$((n + 1))
    rm -rf "$copy"
    mkdir -p "$copy"
    cp -r src tests pyproject.toml "$copy/"
    find "$copy" -name __pycache__ -type d -prune -exec rm -rf {} +
    ln -s "$root/$venv" "$copy/.venv"
    (cd "$copy" && exec .venv/bin/cosmic-ray --verbosity WARNING http-worker --port "${ports[$n]}") \
        >"$copy/worker.log" 2>&1 &
    worker_pids+=($!)
done
# The workers listen within a second; cosmic-ray does not retry a refused connection.
for port in "${ports[@]}"; do
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.2
    done
done

sleep 1
# A worker that could not listen (its port taken) must stop the run: cosmic-ray would record
# every mutant sent to that port as ABNORMAL, in a fraction of a second each.
for pid in "${worker_pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "a mutation worker did not start: see .mutation/worker-*/worker.log" >&2
        exit 1
    fi
done

"$venv/bin/cosmic-ray" exec mutation.toml "$session"
"$venv/bin/cr-report" "$session" --surviving-only
"$venv/bin/cr-rate" "$session"
