"""The two servers under test (Haven and the raw baseline): start, wait, compare, stop."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.api_load.options import (
    BENCH_DIR,
    BIN,
    GET_PATH,
    POST_PATH,
    REPO,
    SECRET_KEY,
    Options,
    log,
)
from benchmarks.api_load.seed import dsn_for


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--workers", "1"]


def haven_serve_available() -> bool:
    haven = BIN / "haven"
    if not haven.exists():
        return False
    try:
        result = subprocess.run(
            [str(haven), "serve", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and "--no-migrate" in result.stdout


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def display_command(self) -> str:
        parts = [os.path.relpath(p, REPO) if p.startswith(str(REPO)) else p for p in self.command]
        return shlex.join(parts)

    def start(self, cwd: Path) -> None:
        log(f"starting {self.name}: {self.display_command}")
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: Ctrl-C reaches us, we stop it
            )

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, 8.0), (signal.SIGTERM, 4.0), (signal.SIGKILL, 4.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def make_servers(options: Options, db_name: str, workdir: Path) -> tuple[Server, Server]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVEN_", "RAW_"))}
    base_env.update({"PYTHONUNBUFFERED": "1", "HAVEN_SECRET_KEY": SECRET_KEY})
    pg_dsn = dsn_for(options.pg, db_name)

    raw_port = free_port()
    baseline = Server(
        name="baseline",
        command=[
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "raw_baseline:create_app",
            "--factory",
            "--app-dir",
            str(BENCH_DIR),
            "--host",
            "127.0.0.1",
            "--port",
            str(raw_port),
            *UVICORN_FLAGS,
            "--log-level",
            "warning",
        ],
        env={**base_env, "RAW_DATABASE_URL": pg_dsn},
        port=raw_port,
        log_path=workdir / "baseline.log",
    )

    haven_port = free_port()
    use_serve = options.haven_cmd == "serve" or (
        options.haven_cmd == "auto" and haven_serve_available()
    )
    if use_serve:
        command = [
            str(BIN / "haven"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(haven_port),
            "--no-migrate",
            # The API process alone, as deployed beside `haven worker`: the worker's relay and
            # consumers would otherwise share the measured process with the requests.
            "--no-worker",
        ]
    else:
        command = [
            str(BIN / "python"),
            "-m",
            "uvicorn",
            "haven.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(haven_port),
            *UVICORN_FLAGS,
            "--log-level",
            "warning",
        ]
    haven = Server(
        name="haven",
        command=command,
        env={
            **base_env,
            "HAVEN_DATABASE_URL": "postgresql+asyncpg://" + pg_dsn.split("://", 1)[1],
            "HAVEN_LOG_LEVEL": "WARNING",
            "HAVEN_SERVE_WORKER": "false",  # for the uvicorn fallback; serve gets --no-worker
            "HAVEN_DATA_DIR": str(workdir / "haven-data"),
        },
        port=haven_port,
        log_path=workdir / "haven.log",
    )
    return baseline, haven


def http_call(
    port: int, method: str, path: str, token: str, body: bytes | None = None, timeout: float = 10
) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def wait_ready(server: Server, token: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            status, body, _ = http_call(server.port, "GET", GET_PATH, token, timeout=5)
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                log(f"{server.name} is ready on port {server.port}")
                return
            last = f"HTTP {status}: {body[:300]!r}"
        time.sleep(0.25)
    raise RuntimeError(
        f"{server.name} not ready after {timeout:.0f}s ({last}):\n{server.log_tail()}"
    )


# --- sanity: both servers answer the same -----------------------------------------------


async def _events_for(dsn: str, task_ids: Sequence[str]) -> dict[str, int]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT subject, count(*) AS n FROM events WHERE subject = ANY($1::text[]) "
            "GROUP BY subject",
            [f"tasks/{task_id}" for task_id in task_ids],
        )
    finally:
        await connection.close()
    return {row["subject"].split("/", 1)[1]: row["n"] for row in rows}


def compare_servers(baseline: Server, haven: Server, tokens: Sequence[str], dsn: str) -> list[str]:
    """Notes on how the two servers' answers differ (empty: the same JSON)."""
    notes: list[str] = []
    for token in (tokens[0], tokens[len(tokens) // 2]):
        answers = {}
        for server in (baseline, haven):
            status, body, _ = http_call(server.port, "GET", GET_PATH, token)
            answers[server.name] = (status, json.loads(body) if status == 200 else body)
        (b_status, b_body), (h_status, h_body) = answers["baseline"], answers["haven"]
        if b_status != h_status:
            notes.append(f"GET status differs: baseline {b_status}, haven {h_status}")
        elif b_body != h_body:
            b_items, h_items = b_body.get("items", []), h_body.get("items", [])
            fields = sorted(
                {
                    key
                    for b_item, h_item in zip(b_items, h_items, strict=False)
                    for key in set(b_item) | set(h_item)
                    if b_item.get(key) != h_item.get(key)
                }
            )
            notes.append(
                f"GET bodies differ ({len(b_items)} vs {len(h_items)} items; fields {fields}; "
                f"next_cursor equal: {b_body.get('next_cursor') == h_body.get('next_cursor')})"
            )
        else:
            size = len(json.dumps(b_body, separators=(",", ":")))
            if not any(note.startswith("GET body") for note in notes):
                notes.append(f"GET bodies identical ({len(b_body['items'])} items, ~{size} bytes)")
    created: dict[str, dict[str, Any]] = {}
    payload = json.dumps({"title": "sanity check", "priority": "high"}).encode()
    for server in (baseline, haven):
        status, body, headers = http_call(server.port, "POST", POST_PATH, tokens[1], payload)
        if status != 201:
            notes.append(f"POST on {server.name} answered {status}: {body[:200]!r}")
            continue
        created[server.name] = json.loads(body)
        if headers.get("etag") != '"1"':
            notes.append(f"POST on {server.name}: ETag {headers.get('etag')!r}, expected '\"1\"'")
    if len(created) == 2:
        volatile = {"id", "created_at", "updated_at"}
        b_task, h_task = created["baseline"], created["haven"]
        differing = sorted(
            key
            for key in set(b_task) | set(h_task)
            if key not in volatile and b_task.get(key) != h_task.get(key)
        )
        notes.append(
            "POST answers: same fields and values (besides id and times)"
            if not differing
            else f"POST answers differ in {differing}"
        )
        events = asyncio.run(_events_for(dsn, [b_task["id"], h_task["id"]]))
        notes.append(
            "POST wrote one events row per task on both servers"
            if events.get(b_task["id"]) == 1 and events.get(h_task["id"]) == 1
            else f"events rows per created task: {events}"
        )
    return notes
