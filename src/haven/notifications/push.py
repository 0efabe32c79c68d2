"""Web Push: one notification to one browser subscription, as the standards say.

- RFC 8030 (the protocol): POST to the subscription's endpoint with `TTL` (required),
  `Urgency` and, optionally, `Topic`; the push service answers 201 when it has the message.
- RFC 8291 (message encryption): the payload is encrypted for the browser with the
  `aes128gcm` content coding (RFC 8188), keyed by ECDH between a fresh sender key and the
  subscription's `p256dh` key, mixed with its `auth` secret. `http_ece` does the coding.
- RFC 8292 (VAPID): `Authorization: vapid t=<JWT>, k=<public key>`; the JWT (ES256) names
  the push service's origin (`aud`), expires within 24 hours (`exp`) and gives a contact
  (`sub`). `py_vapid` signs it.

The endpoint is a URL a user gave us, so it is checked like a webhook's (webhooks/ssrf.py):
https only, and no inside address, unless `push_allow_private_targets` is set (local push
services in tests and development). The request goes to the address that was checked.

`send_push` never raises for what the push service or the network does; it says what
happened (`PushOutcome`), and the caller acts: `gone` means delete the subscription
(devices.remove_gone_subscription), `retryable` means try later (after `retry_after`
seconds when the service said so), `failed` means this message will never go.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import ipaddress
import os
import re
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any, Final, Literal
from urllib.parse import SplitResult

import http_ece  # type: ignore[import-untyped]  # no type hints shipped; used in one call
import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import (  # type: ignore[import-untyped]  # no type hints shipped either
    Vapid02,
    VapidException,
)

from haven.core.clock import utcnow
from haven.core.http import dump_json
from haven.notifications.push_keys import VapidKeys
from haven.webhooks import ssrf

Urgency = Literal["very-low", "low", "normal", "high"]
PushResult = Literal["sent", "gone", "retryable", "failed"]

# RFC 8291 §4: push services need not take more than 4096 octets of encrypted body. The
# body is the aes128gcm header (16 salt + 4 record size + 1 + 65 key id), the payload,
# one padding delimiter and a 16-byte tag: 103 octets around the payload.
MAX_BODY_BYTES: Final = 4096
BODY_OVERHEAD: Final = 103
MAX_PAYLOAD_BYTES: Final = MAX_BODY_BYTES - BODY_OVERHEAD
# RFC 8292 §2: a token must not expire more than 24 hours ahead; half that leaves room
# for clocks that disagree.
TOKEN_LIFETIME: Final = timedelta(hours=12)
MAX_TTL_SECONDS: Final = 28 * 24 * 3600
# RFC 8030 §5.4: a topic is at most 32 characters of the base64url alphabet.
TOPIC: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")
URGENCIES: Final = frozenset({"very-low", "low", "normal", "high"})
EXCERPT_BYTES: Final = 512
USER_AGENT: Final = "Haven-WebPush/1"
P256DH_BYTES: Final = 65
AUTH_BYTES: Final = 16


class PayloadTooLarge(ValueError):
    """The payload would not fit the 4096 octets a push service must accept."""


class InvalidSubscriptionKey(ValueError):
    """A subscription's p256dh or auth value is not what a browser makes."""


@dataclass(frozen=True, slots=True)
class PushSubscription:
    """Where one browser receives pushes: its endpoint and keys (base64url, unpadded)."""

    # The device row to delete when the push service says the subscription is gone.
    device_id: uuid.UUID
    # The endpoint and the keys let anyone push to the browser: kept out of reprs and logs.
    endpoint: str = field(repr=False)
    p256dh: str = field(repr=False)
    auth: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What one send found. `reason` says why, in words, for anything but `sent`."""

    result: PushResult
    status_code: int | None = None
    # Seconds the push service asked to wait (429/503 Retry-After), when it said.
    retry_after: float | None = None
    reason: str | None = None

    @property
    def sent(self) -> bool:
        return self.result == "sent"


def _b64decode(text: str) -> bytes:
    """Strict base64url, padded or not (browsers send it unpadded)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise InvalidSubscriptionKey("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubscriptionKey("not base64url") from exc


def parse_p256dh(text: str) -> bytes:
    """The subscription's public key: an uncompressed point on P-256 (65 bytes, 0x04...)."""
    raw = _b64decode(text)
    if len(raw) != P256DH_BYTES or raw[0] != 0x04:
        raise InvalidSubscriptionKey("p256dh must be a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidSubscriptionKey("p256dh is not a point on P-256") from exc
    return raw


def parse_auth(text: str) -> bytes:
    """The subscription's authentication secret: 16 bytes."""
    raw = _b64decode(text)
    if len(raw) != AUTH_BYTES:
        raise InvalidSubscriptionKey("auth must be 16 bytes")
    return raw


def canonical(raw: bytes) -> str:
    """The stored form of a key: base64url without padding."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_endpoint_form(endpoint: str, *, allow_private: bool) -> SplitResult:
    """The endpoint's parts if its form is acceptable: https (http only when private
    targets are allowed), a host, no credentials, no fragment."""
    parts = ssrf.check_url(endpoint)
    if parts.scheme != "https" and not allow_private:
        raise ssrf.TargetRefused("a push endpoint must be an https URL")
    return parts


def encrypt(
    plaintext: bytes,
    *,
    p256dh: bytes,
    auth: bytes,
    sender_key: ec.EllipticCurvePrivateKey,
    salt: bytes,
) -> bytes:
    """RFC 8291 §3-4: `plaintext` as one aes128gcm record for the browser with these keys,
    from `sender_key` (used once) with `salt` (16 random bytes)."""
    body: bytes = http_ece.encrypt(
        plaintext,
        salt=salt,
        private_key=sender_key,
        dh=p256dh,
        auth_secret=auth,
        version="aes128gcm",
        rs=MAX_BODY_BYTES,
    )
    return body


def encrypt_payload(payload: dict[str, Any], subscription: PushSubscription) -> bytes:
    """The payload as JSON, encrypted for the subscription with a fresh key and salt."""
    plaintext = dump_json(payload)
    if len(plaintext) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"the push payload is {len(plaintext)} bytes of JSON; at most {MAX_PAYLOAD_BYTES} "
            "fit a push message (send a title, a short body, a URL and the notification id)"
        )
    return encrypt(
        plaintext,
        p256dh=parse_p256dh(subscription.p256dh),
        auth=parse_auth(subscription.auth),
        sender_key=ec.generate_private_key(ec.SECP256R1()),
        salt=os.urandom(16),
    )


def origin(parts: SplitResult) -> str:
    """The push service's origin, the token's audience: scheme, host and a non-default port."""
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return (
        f"{parts.scheme}://{host}" if port in (None, default) else f"{parts.scheme}://{host}:{port}"
    )


def vapid_authorization(keys: VapidKeys, *, audience: str) -> str:
    """The `Authorization` header of RFC 8292: `vapid t=<ES256 JWT>,k=<public key>`."""
    expires = int((utcnow() + TOKEN_LIFETIME).timestamp())
    # Not strict: the subject's form is checked where it is configured (Settings); py_vapid
    # still refuses an audience that is not scheme://name[:port] (an IPv6 literal).
    signer = Vapid02(private_key=keys.private_key, conf={"no-strict": True})
    signed: dict[str, str] = signer.sign({"aud": audience, "exp": expires, "sub": keys.subject})
    return signed["Authorization"]


def new_push_client(*, timeout_seconds: float, ca_bundle: str | None = None) -> httpx.AsyncClient:
    """The client sends use: no redirects, no proxy from the environment (it would connect to
    the name, not to the checked address), no kept-alive connections (a pool keyed by address
    could carry one host's request over a TLS connection verified for another)."""
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    )
    return httpx.AsyncClient(
        verify=verify,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": USER_AGENT},
    )


def _check_options(ttl: int, urgency: str, topic: str | None) -> None:
    if not 0 <= ttl <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl must be 0 to {MAX_TTL_SECONDS} seconds")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {sorted(URGENCIES)}")
    if topic is not None and not TOPIC.fullmatch(topic):
        raise ValueError("a topic is 1 to 32 characters of A-Z, a-z, 0-9, '-' and '_'")


def _connect_url(target: ssrf.Target) -> str:
    address = target.addresses[0]
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    query = f"?{target.url.query}" if target.url.query else ""
    return f"{target.url.scheme}://{host}:{target.port}{target.url.path or '/'}{query}"


def _host_header(target: ssrf.Target) -> str:
    default = 443 if target.url.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


async def send_push(
    subscription: PushSubscription,
    payload: dict[str, Any],
    *,
    keys: VapidKeys,
    ttl: int,
    urgency: Urgency = "normal",
    topic: str | None = None,
    client: httpx.AsyncClient,
    allow_private: bool = False,
    timeout_seconds: float = 10.0,
    resolver: ssrf.Resolver = ssrf.system_resolver,
) -> PushOutcome:
    """Send `payload` (a small JSON object) to one subscription, once.

    Raises PayloadTooLarge for a payload over MAX_PAYLOAD_BYTES of JSON and ValueError for
    options out of range (the caller's mistakes); anything the network, the push service or
    the stored subscription does is an outcome.
    """
    _check_options(ttl, urgency, topic)
    try:
        parts = check_endpoint_form(subscription.endpoint, allow_private=allow_private)
        body = encrypt_payload(payload, subscription)
    except ssrf.TargetRefused as exc:
        return PushOutcome("failed", reason=f"endpoint refused: {exc}")
    except InvalidSubscriptionKey as exc:
        return PushOutcome("failed", reason=f"subscription key unusable: {exc}")
    try:
        target = await ssrf.resolve_target(
            subscription.endpoint, allow_private=allow_private, resolver=resolver
        )
        headers = {
            "Host": _host_header(target),
            "TTL": str(ttl),
            "Urgency": urgency,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": vapid_authorization(keys, audience=origin(parts)),
            **({"Topic": topic} if topic is not None else {}),
        }
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        request = client.build_request(
            "POST", _connect_url(target), content=body, headers=headers, extensions=extensions
        )
        # The whole exchange, however slowly the answer trickles in.
        async with asyncio.timeout(timeout_seconds):
            response = await client.send(request, stream=True)
            try:
                excerpt = await _excerpt(response)
            finally:
                await response.aclose()
    except ssrf.TargetRefused as exc:
        return PushOutcome("failed", reason=f"endpoint refused: {exc}")
    except VapidException as exc:
        return PushOutcome("failed", reason=f"cannot sign a VAPID token for it: {exc}"[:500])
    except ssrf.UnresolvableHost as exc:
        return PushOutcome("retryable", reason=str(exc))
    except (httpx.TimeoutException, TimeoutError):
        return PushOutcome("retryable", reason="the push service did not answer in time")
    except httpx.HTTPError as exc:
        return PushOutcome("retryable", reason=f"{type(exc).__name__}: {exc}"[:500])
    except OSError as exc:
        return PushOutcome("retryable", reason=f"network error: {exc}"[:500])
    return judge(response.status_code, response.headers.get("retry-after"), excerpt)


async def _excerpt(response: httpx.Response) -> str:
    taken = bytearray()
    async for chunk in response.aiter_bytes():
        taken += chunk
        if len(taken) >= EXCERPT_BYTES:
            break
    return bytes(taken[:EXCERPT_BYTES]).decode("utf-8", errors="replace").strip()


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header's wait in seconds (delta-seconds or an HTTP date); None when
    absent or unreadable."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())


def judge(status: int, retry_after: str | None, excerpt: str) -> PushOutcome:
    """What a push service's answer means for this subscription and message."""
    said = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if 200 <= status < 300:
        return PushOutcome("sent", status)
    if status in (404, 410):
        return PushOutcome("gone", status, reason=f"the subscription is gone ({said})")
    if status in (408, 429) or status >= 500:
        wait = retry_after_seconds(retry_after) if status in (429, 503) else None
        return PushOutcome("retryable", status, retry_after=wait, reason=said)
    if status == 413:
        return PushOutcome("failed", status, reason=f"the push service found it too big ({said})")
    if 300 <= status < 400:
        return PushOutcome("failed", status, reason=f"redirects are not followed ({said})")
    return PushOutcome("failed", status, reason=said)
