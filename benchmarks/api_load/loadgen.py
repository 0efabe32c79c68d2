"""The built-in HTTP/1.1 load generator, run as its own process by load.run_python_load.

``python -m benchmarks.api_load.loadgen SPEC_JSON`` prints one JSON line of results.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class _Connection:
    """One HTTP/1.1 keep-alive connection: write a request, read one response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def roundtrip(self, payload: bytes) -> int:
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if start >= 0:
            end = lower.find(b"\r\n", start + 2)
            await self.reader.readexactly(int(lower[start + 17 : end]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if b"\r\nconnection: close" in lower:
            self.close()
        return status


STALL_MS = 50.0


def stall_episodes(timeline: Sequence[tuple[float, float]]) -> list[float]:
    """Longest latency (ms) of each episode of requests slower than STALL_MS.

    Slow requests that fell due within STALL_MS of one another are one episode: many
    requests held up together mean the server stopped (a blocked event loop, a long GC
    pause), where unrelated slow requests would be separate episodes of one.
    """
    slow = sorted((due, latency) for due, latency in timeline if latency * 1000 > STALL_MS)
    episodes: list[float] = []
    last_due = None
    for due, latency in slow:
        if last_due is not None and (due - last_due) * 1000 <= STALL_MS:
            episodes[-1] = max(episodes[-1], latency * 1000)
        else:
            episodes.append(latency * 1000)
        last_due = due
    return [round(ms, 1) for ms in episodes]


def _percentile(ordered: Sequence[float], pct: float) -> float:
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    port: int = spec["port"]
    method: str = spec["method"]
    path: str = spec["path"]
    connections: int = spec["connections"]
    duration: float = spec["duration"]
    rate: float | None = spec["rate"]
    tokens: list[str] = spec["token_list"]
    host = f"127.0.0.1:{port}"
    get_requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {t}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
        for t in tokens
    ]
    rng = random.Random()
    counter = 0

    def build() -> bytes:
        nonlocal counter
        if method == "GET":
            return rng.choice(get_requests)
        counter += 1
        body = (
            f'{{"title":"bench task {os.getpid()}-{counter}",'
            '"description":"created by the load benchmark","priority":"medium"}'
        ).encode()
        return (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {rng.choice(tokens)}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    pool = [_Connection(port) for _ in range(connections)]
    for connection in pool:
        try:
            await connection.open()
        except OSError as exc:
            errors[type(exc).__name__] += 1

    timeline: list[tuple[float, float]] = []  # open loop: (when due, latency)

    async def call(connection: _Connection, started: float) -> None:
        try:
            status = await connection.roundtrip(build())
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            errors[type(exc).__name__] += 1
            connection.close()
            await asyncio.sleep(0.01)
            return
        latency = time.perf_counter() - started
        latencies.append(latency)
        statuses[status] += 1
        if rate is not None:
            timeline.append((started, latency))

    lags: list[float] = []
    begin = time.perf_counter()
    deadline = begin + duration
    if rate is None:  # closed loop: every connection sends its next request when answered

        async def closed_worker(connection: _Connection) -> None:
            while time.perf_counter() < deadline:
                await call(connection, time.perf_counter())

        workers = [asyncio.ensure_future(closed_worker(c)) for c in pool]
        total = None
    else:  # open loop: requests are due at fixed times whether or not answers came back
        total = max(1, int(rate * duration))
        queue: asyncio.Queue[float | None] = asyncio.Queue()

        async def open_worker(connection: _Connection) -> None:
            while (due := await queue.get()) is not None:
                await call(connection, due)  # latency counts from when it was due

        async def dispatcher() -> None:
            for index in range(total):
                due = begin + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                lags.append(time.perf_counter() - due)
                queue.put_nowait(due)
            for _ in pool:
                queue.put_nowait(None)

        workers = [asyncio.ensure_future(open_worker(c)) for c in pool]
        workers.append(asyncio.ensure_future(dispatcher()))
    _done, pending = await asyncio.wait(workers, timeout=duration + 30)
    for task in pending:
        task.cancel()
    seconds = time.perf_counter() - begin
    for connection in pool:
        connection.close()
    completed = sum(statuses.values())
    unfinished = (total - completed - sum(errors.values())) if total is not None else 0
    if unfinished > 0:
        errors["unfinished"] += unfinished
    ordered = sorted(latencies)
    lag_sorted = sorted(lags)
    return {
        "completed": completed,
        "seconds": seconds,
        "rps": completed / (duration if rate else seconds),
        "p50_ms": _percentile(ordered, 50) * 1000,
        "p90_ms": _percentile(ordered, 90) * 1000,
        "p99_ms": _percentile(ordered, 99) * 1000,
        "max_ms": (ordered[-1] * 1000) if ordered else 0.0,
        "non2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "errors": sum(errors.values()),
        "statuses": {str(k): v for k, v in statuses.items()},
        "error_kinds": dict(errors),
        "scheduled": total,
        "dispatch_lag_p99_ms": _percentile(lag_sorted, 99) * 1000,
        "stalls": stall_episodes(timeline),
        "dispatch_lag_max_ms": (lag_sorted[-1] * 1000) if lag_sorted else 0.0,
    }


def loadgen_main(raw_spec: str) -> None:
    spec = json.loads(raw_spec)
    spec["token_list"] = [t for t in Path(spec["tokens"]).read_text().split() if t]
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(_loadgen(spec))
    print(json.dumps(result))


if __name__ == "__main__":
    loadgen_main(sys.argv[1])
