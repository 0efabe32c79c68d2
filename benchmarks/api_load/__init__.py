"""Load benchmark: Haven's task API against a raw Starlette + asyncpg baseline, in one run.

What it does (see docs/benchmarks.md for the method and the last full run's figures):

1. creates a throwaway PostgreSQL database, runs Haven's Alembic migrations on it and
   bulk-loads users, personal workspaces, memberships, tags and tasks with COPY;
2. mints an access JWT per user with Haven's own ``issue_access_token``;
3. starts Haven (``haven serve --no-migrate``, or uvicorn on ``haven.app:create_app`` while
   the CLI lacks it) and the raw baseline (benchmarks/raw_baseline.py), one uvicorn worker
   each, uvloop + httptools, and checks that both answer the same JSON;
4. saturates each server from a separate process (wrk with a Lua script, or the package's own
   asyncio HTTP/1.1 client when wrk is missing): GET /api/v1/tasks?limit=50 and
   POST /api/v1/tasks, a random user per request, interleaved rounds;
5. measures latency at a fixed offered rate (open loop, ~50% of Haven's saturated rate);
6. prints the results and writes docs/benchmarks.md; drops the database, stops every
   process it started (also on errors and Ctrl-C).

Usage, from the repository root: ``.venv/bin/python -m benchmarks.api_load [--quick]
[--duration S] [--connections N] [--users N] [--tasks-per-user N] [--profile DIR] ...``;
``--help`` lists every flag.

One module a part: options.py (flags, shared constants), seed.py (the throwaway database),
servers.py (start, check, compare, stop), load.py (saturation runs), loadgen.py (the built-in
client's process), cpu.py (who used the CPU), profiling.py (py-spy), report.py (tables and
docs/benchmarks.md), run.py (one run from start to clean-up).
"""
