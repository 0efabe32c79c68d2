"""Where Haven's time goes: py-spy samples under load, summarised per frame and package."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.api_load.load import Workload, run_python_load, run_wrk
from benchmarks.api_load.options import BIN, Options
from benchmarks.api_load.servers import Server


def profile_haven(
    haven: Server,
    workload: Workload,
    options: Options,
    workdir: Path,
    use_wrk: bool,
) -> dict[str, Any]:
    """Sample Haven with py-spy while the workload saturates it; where does the time go."""
    endpoint = workload.endpoint
    assert options.profile is not None
    assert haven.process is not None
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(py_spy).exists():
        return {"error": "py-spy not found: .venv/bin/pip install py-spy"}
    options.profile.mkdir(parents=True, exist_ok=True)
    raw = options.profile / f"haven-{endpoint.lower()}-tasks.collapsed.txt"
    seconds = max(5, round(options.duration))
    spy_cmd = [py_spy, "record", "--pid", str(haven.process.pid), "--subprocesses", "--rate", "200"]
    spy = subprocess.Popen(
        [*spy_cmd, "--duration", str(seconds + 1), "--format", "raw", "--output", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(1.0)  # let py-spy attach
        if use_wrk:
            load = run_wrk(haven, workload, options, workdir, seconds)
        else:
            load = run_python_load(haven, workload, options, seconds)
        _, spy_err = spy.communicate(timeout=seconds + 60)
    finally:
        if spy.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(spy.pid, signal.SIGINT)
            spy.wait(timeout=10)
    if not raw.exists():
        return {"error": f"py-spy wrote nothing: {spy_err.decode(errors='replace').strip()[:500]}"}
    summary = summarise_profile(raw.read_text())
    summary["rps_while_profiled"] = load.rps
    summary["files"] = [str(raw)]
    summary["endpoint"] = endpoint
    summary_file = options.profile / f"haven-{endpoint.lower()}-tasks.summary.json"
    summary_file.write_text(json.dumps(summary, indent=2))
    return summary


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _frame_key(frame: str) -> tuple[str, str]:
    """(package, 'function (file)') for a py-spy frame 'func (path:line)'."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return "other", frame.strip()
    func, file = match.group("func"), match.group("file")
    # py-spy shortens paths to the module's own (``sqlalchemy/orm/session.py``).
    rel = file.split("site-packages/", 1)[-1]
    if "/src/haven/" in rel:
        rel = "haven/" + rel.split("/src/haven/", 1)[1]
    rel = rel.lstrip("/")
    parts = rel.split("/")
    package = parts[0].removesuffix(".py")
    if package == "haven" and len(parts) > 1:
        package = "haven." + parts[1].removesuffix(".py")
    return package, f"{func} ({rel})"


# Frames of these files only hand the request on; listing them says nothing.
PASS_THROUGH_FRAMES = (
    "(starlette/applications.py)",
    "(starlette/middleware/errors.py)",
    "(starlette/middleware/exceptions.py)",
    "(starlette/_exception_handler.py)",
    "(starlette/routing.py)",
    "(fastapi/applications.py)",
    "(fastapi/routing.py)",
    "(fastapi/_body_limit.py)",
    "(fastapi/telemetry/_asgi.py)",
    "(fastapi/middleware/asyncexitstack.py)",
    "(haven/core/middleware.py)",
)
_PLUMBING = {"typer", "click", "uvicorn", "asyncio", "haven.cli", "haven", "other"}


def summarise_profile(collapsed: str) -> dict[str, Any]:
    """Self and inclusive shares per frame and package, from py-spy's collapsed stacks.

    SQLAlchemy runs the sync half of an async call in a greenlet, which py-spy samples as a
    separate stack starting at the greenlet: its frames count, but not under their caller.
    """
    total = 0
    no_python = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    own_package: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        keys = [_frame_key(f) for f in frames]
        if not keys:
            no_python += count
            continue
        for name in {name for package, name in keys if package not in _PLUMBING}:
            inclusive[name] += count
        package, name = keys[-1]
        own[name] += count
        own_package[package] += count

    def pct(counter: Counter[str], top: int) -> list[tuple[str, float]]:
        return (
            [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)] if total else []
        )

    return {
        "samples": total,
        "no_python_frames_pct": round(100 * no_python / total, 1) if total else 0.0,
        "self_by_package": pct(own_package, 25),
        "top_self": pct(own, 40),
        "top_inclusive": pct(inclusive, 60),
    }
