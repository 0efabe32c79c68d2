"""Saturating a server: wrk with a Lua script, or the built-in client in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.api_load.options import GET_PATH, POST_PATH, REPO, Options
from benchmarks.api_load.servers import Server


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
-- Random user per request; counts non-2xx; prints one JSON line when done.
local tokens = {}
local method = "GET"
local counter = 0
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  method = args[2] or "GET"
  math.randomseed(os.time() * 100 + (tid or 0))
  non2xx = 0
end

function request()
  local token = tokens[math.random(#tokens)]
  if method == "POST" then
    counter = counter + 1
    local body = '{"title":"bench task ' .. tid .. "-" .. counter ..
      '","description":"created by the load benchmark","priority":"medium"}'
    return wrk.format("POST", nil, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"non2xx":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, bad, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def run_wrk(
    server: Server,
    endpoint: str,
    options: Options,
    workdir: Path,
    duration: float,
    tokens_file: Path,
) -> LoadResult:
    script = workdir / "load.lua"
    if not script.exists():
        script.write_text(WRK_LUA)
    path = GET_PATH if endpoint == "GET" else POST_PATH
    command = [
        "wrk",
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{server.port}{path}",
        "--",
        str(tokens_file),
        endpoint,
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
        endpoint=endpoint,
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
    endpoint: str,
    options: Options,
    duration: float,
    tokens_file: Path,
    rate: float | None = None,
) -> LoadResult:
    """The built-in asyncio client, in its own process (closed loop, or open loop at rate)."""
    spec = {
        "port": server.port,
        "method": endpoint,
        "path": GET_PATH if endpoint == "GET" else POST_PATH,
        "tokens": str(tokens_file),
        "connections": options.connections,
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
        endpoint=endpoint,
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
