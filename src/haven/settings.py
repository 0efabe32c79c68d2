"""Haven's configuration: one typed object read from the environment (prefix ``HAVEN_``)."""

from __future__ import annotations

import os
import secrets
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from haven.core.security import PasswordCost


def default_data_dir() -> Path:
    """The per-user data folder (XDG on Linux, the usual places elsewhere)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "haven"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "haven"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "haven"


def default_web_dist() -> Path:
    """Where `make install` builds the web UI (frontend/): inside the installed package."""
    return Path(__file__).resolve().parent / "web" / "dist"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAVEN_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    cors_origins: list[str] = Field(default_factory=list)
    # The built web UI served at / (README, "Web UI"); without index.html there, / says so.
    web_dist: Path = Field(default_factory=default_web_dist)
    max_body_bytes: int = 1024 * 1024
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # Failed logins allowed per window, per account and per client IP.
    login_failures_per_account: int = 5
    login_failures_per_ip: int = 30
    login_failure_window_seconds: int = 900
    # OIDC: tokens from this issuer are accepted as bearer tokens.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    # "minimal" makes password hashing cheap for test suites; never use it in production.
    password_hash_cost: PasswordCost = "standard"  # noqa: S105 - a cost, not a password
    db_pool_size: int = 20
    sqlite_busy_timeout_ms: int = 10_000
    # Where events go after commit: memory:// (the events table), kafka://, nats://, redis://.
    bus_url: str = "memory://"
    # Outgoing webhooks. Private, loopback and link-local targets are refused unless this
    # is set (local receivers in development and tests).
    webhook_allow_private_targets: bool = False
    webhook_timeout_seconds: float = 10.0
    # A PEM file of the CAs https:// receivers' certificates must chain to, instead of the
    # public ones (certifi): for receivers behind a private CA. Never turns verification off.
    webhook_ca_bundle: Path | None = None
    # A claimed delivery whose worker vanished is due again after this long.
    webhook_lease_seconds: float = 60.0
    # A receiver's Retry-After is honoured up to this long.
    webhook_max_retry_after_seconds: float = 36_000.0
    # An endpoint whose every attempt failed for this long (and at least this many times)
    # is disabled, with a haven.webhook.delivery_failed event.
    webhook_disable_after_days: float = 5.0
    webhook_disable_min_attempts: int = 10
    # After a rotation, deliveries are signed with both secrets for this long.
    webhook_secret_overlap_hours: float = 24.0
    webhook_batch_size: int = 20
    webhook_poll_seconds: float = 1.0
    # The event pipeline (docs/events.md, "Pipeline").
    # `haven serve` runs the relay and the consumers in-process (`--no-worker` sets false).
    serve_worker: bool = True
    # The scheduler (scheduler/loop.py): reminders, digests and periodic jobs taken per
    # transaction; the longest sleep between rounds; a reminder taken this long after its
    # time is marked late (and only the latest of a task's late ones fires).
    scheduler_batch_size: int = Field(default=500, ge=1, le=10_000)
    scheduler_poll_seconds: float = Field(default=0.5, gt=0)
    reminder_late_after_seconds: float = Field(default=300.0, ge=0)
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    # The fallback poll when no wake-up arrives (NOTIFY, in-process signals).
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    relay_retry_base_seconds: float = Field(default=0.2, ge=0)
    relay_retry_max_seconds: float = Field(default=30.0, ge=0)
    # Deliveries a runner holds at once: received and not yet handled (events/lanes.py).
    consumer_batch_size: int = Field(default=100, ge=1, le=10_000)
    consumer_poll_seconds: float = Field(default=1.0, gt=0)
    # Handlers one runner runs at once, each on events of another workspace (a database
    # connection each). PostgreSQL only: on SQLite a runner handles one event at a time.
    consumer_concurrency: int = Field(default=4, ge=1, le=256)
    consumer_retry_base_seconds: float = Field(default=0.5, ge=0)
    consumer_retry_max_seconds: float = Field(default=60.0, ge=0)
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    # More modules that register consumers (events/consumers.py), e.g. plugins.
    consumer_modules: list[str] = Field(default_factory=list)
    # Notifications (docs/notifications.md). Outgoing mail: smtp://user:pass@host:port
    # (STARTTLS with ?starttls=true), smtps://… for TLS from the start; unset: no e-mail
    # (e-mail deliveries fail with that reason, nothing else stops).
    smtp_url: str | None = None
    # The From of every mail, e.g. "Haven <haven@example.com>".
    mail_from: str = "Haven <haven@localhost>"
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    # Send the daily digest even on a day with nothing in it.
    digest_send_empty: bool = False
    # A delivery that fails is tried again after base * 2^(attempts-1) seconds (at most
    # max), `notification_max_attempts` times in all; then it is failed.
    notification_retry_base_seconds: float = Field(default=30.0, ge=0)
    notification_retry_max_seconds: float = Field(default=3600.0, ge=0)
    notification_max_attempts: int = Field(default=6, ge=1, le=100)
    # A claimed delivery whose sender vanished is due again after this long.
    notification_lease_seconds: float = Field(default=120.0, gt=0)
    notification_batch_size: int = Field(default=20, ge=1, le=1000)
    notification_poll_seconds: float = Field(default=1.0, gt=0)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        from haven.notifications.mail import parse_smtp_url

        if value is None or not value.strip():
            return None
        parse_smtp_url(value)  # a bad URL stops the start, saying why
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from haven.notifications.mail import parse_mail_from

        return parse_mail_from(value)

    # Web Push (docs/push.md). The contact every VAPID token gives push services (its `sub`):
    # a mailto: or https: address; Apple's service refuses tokens naming localhost.
    push_subject: str = Field(
        default="mailto:haven@localhost", pattern=r"^(mailto:\S+@\S+|https://\S+)$"
    )
    # Subscription endpoints must be https and public; this allows http and inside
    # addresses (local push services in development and tests).
    push_allow_private_targets: bool = False
    push_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'haven.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def existing_secret_key(self) -> str | None:
        """The configured key, or the one kept in the data folder; never a new one (for
        migrations, which must convert data under the key the servers use)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        return path.read_text().strip() if path.exists() else None

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
