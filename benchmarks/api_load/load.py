"""Saturating a server: wrk with a Lua script, or the built-in client in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.api_load.options import REPO, Options
from benchmarks.api_load.servers import Server


@dataclass(frozen=True)
class Workload:
    """What a run sends: one kind of request, each as a random (or the next) caller's.

    ``credentials`` is a file of lines ``TOKEN`` or ``TOKEN TASK_ID``; ``{id}`` in the path
    is replaced by the line's task id. ``once`` hands each line out at most once (a complete
    needs a task still open): the run takes lines ``start`` to ``stop`` of the file, split
    between the client's threads, and reports in ``detail["reused"]`` how many requests
    found their share used up.
    """

    endpoint: str  # the name results are filed under
    method: str
    path: str
    credentials: Path
    body: str = ""  # "create", "patch" or "" (none)
    once: bool = False
    start: int = 0
    stop: int = 0


@dataclass
class LoadResult:
    server: str
    endpoint: str
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    errors: int
    offered_rps: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by whom

    @property
    def server_ms_per_request(self) -> float:
        if not self.requests or "server" not in self.cpu:
            return 0.0
        return self.cpu["server"] * self.cpu["seconds"] / self.requests * 1000

    @property
    def failures(self) -> int:
        return self.non2xx + self.errors


WRK_LUA = r"""
-- One request kind, a random (or, with once, the next) caller per request; counts non-2xx
-- and reused lines; prints one JSON line when done.
-- args: credentials file, method, path, body kind, once (0/1), start, stop, threads
local entries = {}
local method, path, body_kind, once = "GET", "/", "", false
local counter, position = 0, 0
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  local all = {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      local token, id = line:match("^(%S+)%s*(%S*)$")
      all[#all + 1] = {token = token, id = id}
    end
  end
  method, path, body_kind = args[2], args[3], args[4]
  once = args[5] == "1"
  if once then
    local first, last, count = tonumber(args[6]), tonumber(args[7]), tonumber(args[8])
    local share = math.floor((last - first) / count)
    local from = first + (tid - 1) * share
    for index = from + 1, math.min(from + share, #all) do entries[#entries + 1] = all[index] end
    if #entries == 0 then entries[1] = all[1] end
  else
    entries = all
  end
  math.randomseed(os.time() * 100 + (tid or 0))
  non2xx = 0
  reused = 0
end

function request()
  local entry
  if once then
    position = position + 1
    if position > #entries then reused = reused + 1; position = 1 end
    entry = entries[position]
  else
    entry = entries[math.random(#entries)]
  end
  local headers = {["Authorization"] = "Bearer " .. entry.token}
  local body = nil
  counter = counter + 1
  if body_kind == "create" then
    body = '{"title":"bench task ' .. tid .. "-" .. counter ..
      '","description":"created by the load benchmark","priority":"medium"}'
  elseif body_kind == "patch" then
    body = '{"title":"bench edit ' .. tid .. "-" .. counter .. '","progress":' ..
      (counter % 10) * 10 .. '}'
  end
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, path:gsub("{id}", entry.id), headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad, again = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    again = again + (t:get("reused") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"non2xx":%d,"reused":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, bad, again, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def run_wrk(
    server: Server,
    workload: Workload,
    options: Options,
    workdir: Path,
    duration: float,
) -> LoadResult:
    script = workdir / "load.lua"
    if not script.exists():
        script.write_text(WRK_LUA)
    command = [
        "wrk",
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{server.port}/",
        "--",
        str(workload.credentials),
        workload.method,
        workload.path,
        workload.body,
        "1" if workload.once else "0",
        str(workload.start),
        str(workload.stop),
        str(options.threads),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRKJSON "))
    seconds = data["duration_us"] / 1e6
    socket_errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return LoadResult(
        server=server.name,
        endpoint=workload.endpoint,
        tool="wrk",
        requests=data["requests"],
        seconds=seconds,
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non2xx=data["non2xx"],
        errors=socket_errors,
        detail=data,
    )


def run_python_load(
    server: Server,
    workload: Workload,
    options: Options,
    duration: float,
    rate: float | None = None,
    connections: int | None = None,
) -> LoadResult:
    """The built-in asyncio client, in its own process (closed loop, or open loop at rate)."""
    spec = {
        "port": server.port,
        "method": workload.method,
        "path": workload.path,
        "body": workload.body,
        "credentials": str(workload.credentials),
        "once": workload.once,
        "start": workload.start,
        "stop": workload.stop,
        "connections": connections or options.connections,
        "duration": duration,
        "rate": rate,
    }
    command = [sys.executable, "-m", "benchmarks.api_load.loadgen", json.dumps(spec)]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed ({result.returncode}): {result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return LoadResult(
        server=server.name,
        endpoint=workload.endpoint,
        tool="python-open-loop" if rate else "python",
        requests=data["completed"],
        seconds=data["seconds"],
        rps=data["rps"],
        p50_ms=data["p50_ms"],
        p90_ms=data["p90_ms"],
        p99_ms=data["p99_ms"],
        max_ms=data["max_ms"],
        non2xx=data["non2xx"],
        errors=data["errors"],
        offered_rps=rate,
        detail=data,
    )
