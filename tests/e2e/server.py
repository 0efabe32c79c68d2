"""A real `haven serve` for the UI's browser tests: its own process, SQLite in its own data
folder, the built UI, the worker loops in-process: what `make run` gives a new user."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.browser import LOOPBACK

STARTUP_SECONDS = 60


@dataclass(frozen=True, slots=True)
class HavenProcess:
    base_url: str
    data_dir: Path
    log: Path

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextmanager
def haven_serve(data_dir: Path) -> Iterator[HavenProcess]:
    """`haven serve` on a free loopback port until the block ends (then SIGTERM, and SIGKILL
    if it does not stop); its output goes to a log file kept beside the data."""
    port = _free_port()
    log = data_dir / "serve.log"
    env = {
        **os.environ,
        "HAVEN_DATA_DIR": str(data_dir),
        "HAVEN_DATABASE_URL": "",
        "HAVEN_LOG_LEVEL": "WARNING",
        # Cheap argon2: each test signs up users of its own.
        "HAVEN_PASSWORD_HASH_COST": "minimal",
        "HAVEN_LOGIN_FAILURES_PER_IP": "1000",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running haven, fixed arguments
            [sys.executable, "-m", "haven", "serve", "--host", LOOPBACK, "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://{LOOPBACK}:{port}"
    try:
        _wait_until_ready(process, base_url, log)
        yield HavenProcess(base_url=base_url, data_dir=data_dir, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"haven serve exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"haven serve did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")
