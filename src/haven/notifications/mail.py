"""Outgoing mail: the SMTP server from HAVEN_SMTP_URL, messages, and one send.

`smtp://user:pass@host:port` speaks plain SMTP (port 25 unless given), upgraded with
STARTTLS when the URL says `?starttls=true`; `smtps://…` is TLS from the first byte (port 465
unless given). The user name and password are URL-decoded (`%40` for an `@`). Certificates
are always verified.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

_SCHEMES: Final = {"smtp": 25, "smtps": 465}
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


class RetryableSendError(Exception):
    """The channel may take it later (the server is away, or said 4xx): try again."""


class PermanentSendError(Exception):
    """Trying again cannot help (no server configured, the address refused with 5xx)."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None = None

    def __repr__(self) -> str:  # never the password in a log line
        tls = f"tls={self.implicit_tls}, starttls={self.starttls}"
        return f"SmtpServer({self.host}:{self.port}, {tls})"


def parse_smtp_url(url: str) -> SmtpServer:
    """The server a HAVEN_SMTP_URL names; ValueError saying what is wrong with it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _SCHEMES:
        raise ValueError("HAVEN_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("HAVEN_SMTP_URL names no host (smtp://user:pass@host:port)")
    try:
        port = parts.port or _SCHEMES[parts.scheme]
    except ValueError as exc:
        raise ValueError(f"HAVEN_SMTP_URL has a bad port: {exc}") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"HAVEN_SMTP_URL has unknown parameters: {', '.join(sorted(unknown))}")
    starttls = False
    if "starttls" in query:
        value = query["starttls"][-1].lower()
        if value not in _TRUE | _FALSE:
            raise ValueError("HAVEN_SMTP_URL: starttls is true or false")
        starttls = value in _TRUE
    if starttls and parts.scheme == "smtps":
        raise ValueError("HAVEN_SMTP_URL: smtps:// is TLS already; starttls is for smtp://")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def parse_mail_from(value: str) -> str:
    """HAVEN_MAIL_FROM as given, when it holds one address with a domain; else ValueError."""
    _, address = email.utils.parseaddr(value)
    if "@" not in address or not address.rsplit("@", 1)[1]:
        raise ValueError("HAVEN_MAIL_FROM must be an address, e.g. 'Haven <haven@example.com>'")
    return value


def domain_of(mail_from: str) -> str:
    return email.utils.parseaddr(mail_from)[1].rsplit("@", 1)[1]


def message_id(key: str, *, mail_from: str) -> str:
    """A Message-ID that is the same every time the same thing is sent: a receiver (and a
    person) can see a second copy for what it is."""
    return f"<{key}@{domain_of(mail_from)}>"


def build_message(
    *,
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = email.utils.formatdate(localtime=False)
    # An automatic mail: no out-of-office answers to it.
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


async def send(message: EmailMessage, *, server: SmtpServer, timeout_seconds: float) -> None:
    """Hand one message to the server; RetryableSendError or PermanentSendError when not."""
    try:
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=server.starttls,
            timeout=timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        error = PermanentSendError if all(c >= 500 for c in codes) else RetryableSendError
        raise error(f"recipient refused: {'; '.join(str(r) for r in exc.recipients)}") from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        # The operator may fix the credentials: retried, with the reason shown meanwhile.
        raise RetryableSendError(f"SMTP authentication failed: {exc.code} {exc.message}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        error = PermanentSendError if exc.code >= 500 else RetryableSendError
        raise error(f"SMTP {exc.code}: {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise RetryableSendError(f"{type(exc).__name__}: {exc}") from exc
