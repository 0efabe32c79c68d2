"""What the browser tests share: Chromium's place and flags, the live server, offline pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from playwright.async_api import Page

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK: Final = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class LiveServer:
    base_url: str


@dataclass(slots=True)
class OfflinePage:
    """A page that may load only from this machine; what it tried to fetch elsewhere is kept."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
