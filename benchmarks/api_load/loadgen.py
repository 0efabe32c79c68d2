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
from collections.abc import Callable, Sequence
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


def _request_builder(spec: dict[str, Any]) -> tuple[Callable[[], bytes], Callable[[], int]]:
    """Build the next request's bytes, and count how many found their share used up."""
    host = f"127.0.0.1:{spec['port']}"
    method: str = spec["method"]
    body_kind: str = spec["body"]
    entries: list[tuple[str, str]] = spec["entries"]
    if spec["once"]:
        entries = entries[spec["start"] : spec["stop"]] or entries[:1]
    rng = random.Random()
    state = {"counter": 0, "position": 0, "reused": 0}

    def build() -> bytes:
        state["counter"] += 1
        if spec["once"]:
            if state["position"] >= len(entries):
                state["reused"] += 1
                state["position"] = 0
            token, task_id = entries[state["position"]]
            state["position"] += 1
        else:
            token, task_id = rng.choice(entries)
        path = spec["path"].replace("{id}", task_id)
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        tag = f"{os.getpid()}-{state['counter']}"
        if body_kind == "create":
            body = (
                f'{{"title":"bench task {tag}",'
                '"description":"created by the load benchmark","priority":"medium"}'
            ).encode()
        elif body_kind == "patch":
            progress = state["counter"] % 10 * 10
            body = f'{{"title":"bench edit {tag}","progress":{progress}}}'.encode()
        else:
            return (head + "Accept: application/json\r\n\r\n").encode()
        return (
            head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return build, lambda: state["reused"]


async def _loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    port: int = spec["port"]
    connections: int = spec["connections"]
    duration: float = spec["duration"]
    rate: float | None = spec["rate"]
    build, reused = _request_builder(spec)

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
        "reused": reused(),
    }


def loadgen_main(raw_spec: str) -> None:
    spec = json.loads(raw_spec)
    spec["entries"] = [
        (parts[0], parts[1] if len(parts) > 1 else "")
        for parts in (line.split() for line in Path(spec["credentials"]).read_text().splitlines())
        if parts
    ]
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
