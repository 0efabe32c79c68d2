"""A local push service and a browser, each written from the RFCs rather than from Haven's
code or its libraries, so a sender that strays from the standards fails here.

- `Browser` subscribes as a browser does: a fresh P-256 key pair and a 16-byte auth secret.
- `decrypt` undoes RFC 8291's message encryption (aes128gcm, RFC 8188) with the browser's
  private key.
- `PushService` is an HTTP server that acts per RFC 8030 + RFC 8292: it checks the VAPID
  token's signature against its `k` key and its aud/exp/sub claims, requires TTL, decrypts
  the body for the subscription it was sent to, and answers 201 (or what a test scripts).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAX_BODY = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass(frozen=True)
class Browser:
    """A push subscriber: what PushManager.subscribe makes in a browser."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @classmethod
    def create(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(point(self.private_key))

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        return {"endpoint": endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def _hkdf(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, browser: Browser) -> bytes:
    """RFC 8291 §3.3-3.4 and RFC 8188 §2: the push message's plaintext."""
    salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    sender_public = body[21 : 21 + id_length]
    records = body[21 + id_length :]
    assert id_length == 65, "the key id is the sender's 65-byte public key (RFC 8291 §4)"
    assert len(records) <= record_size, "one record (RFC 8291 §4)"
    shared = browser.private_key.exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
    )
    key_info = b"WebPush: info\x00" + point(browser.private_key) + sender_public
    ikm = _hkdf(shared, salt=browser.auth_secret, info=key_info, length=32)
    cek = _hkdf(ikm, salt=salt, info=b"Content-Encoding: aes128gcm\x00", length=16)
    nonce = _hkdf(ikm, salt=salt, info=b"Content-Encoding: nonce\x00", length=12)
    padded = AESGCM(cek).decrypt(nonce, records, None)  # record 0: the nonce itself
    unpadded = padded.rstrip(b"\x00")
    assert unpadded.endswith(b"\x02"), "the last record ends with delimiter 2 (RFC 8188 §2)"
    return unpadded[:-1]


@dataclass
class Received:
    headers: dict[str, str]
    claims: dict[str, Any]
    vapid_key: str
    payload: dict[str, Any]
    body: bytes

    @property
    def body_size(self) -> int:
        return len(self.body)


@dataclass
class PushService:
    """A push service on 127.0.0.1: it accepts messages for the browsers it knows."""

    port: int
    scheme: str = "http"
    host: str = "127.0.0.1"
    browsers: dict[str, Browser] = field(default_factory=dict)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    delay: float = 0.0

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def subscribe(self, browser: Browser, name: str = "sub") -> dict[str, Any]:
        """A subscription of `browser` at this service (its endpoint names it)."""
        self.browsers[name] = browser
        return browser.subscription(f"{self.origin}/push/{name}")

    def answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.script.append((status, headers or {}))

    def _refuse(self, why: str) -> web.Response:
        self.refused.append(why)
        return web.Response(status=400, text=why)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        browser = self.browsers.get(request.match_info["name"])
        if browser is None:
            return web.Response(status=404, text="no such subscription")
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return self._refuse("TTL is required (RFC 8030 §5.2)")
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._refuse("the body must be aes128gcm (RFC 8291 §4)")
        if request.headers.get("Urgency", "normal") not in ("very-low", "low", "normal", "high"):
            return self._refuse("bad Urgency (RFC 8030 §5.3)")
        if len(body) > MAX_BODY:
            return web.Response(status=413, text="payload too large")
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "vapid":
            return web.Response(status=401, text="vapid authorization required (RFC 8292 §3)")
        fields = dict(
            part.strip().split("=", 1) for part in params.split(",") if "=" in part.strip()
        )
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), unb64url(fields["k"])
            )
            claims = jwt.decode(
                fields["t"],
                key=key,
                algorithms=["ES256"],
                audience=f"{self.scheme}://{request.headers['Host']}",
                options={"require": ["aud", "exp", "sub"]},
            )
        except (KeyError, ValueError, jwt.PyJWTError) as exc:
            return web.Response(status=403, text=f"bad VAPID token: {exc}")
        if claims["exp"] > time.time() + 24 * 3600:
            return web.Response(status=403, text="exp more than 24 hours ahead (RFC 8292 §2)")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return web.Response(status=403, text="sub must be mailto: or https: (RFC 8292 §2.1)")
        try:
            payload = json.loads(decrypt(body, browser))
        except Exception as exc:  # a body that does not decrypt is the sender's fault
            return self._refuse(f"does not decrypt: {exc!r}")
        self.received.append(Received(dict(request.headers), claims, fields["k"], payload, body))
        status, headers = self.script.pop(0) if self.script else (201, {})
        if status == 201:
            headers = {"Location": f"{self.origin}/message/{len(self.received)}", **headers}
        return web.Response(status=status, headers=headers)


async def start(service: PushService, **site: Any) -> web.AppRunner:
    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", service.port, **site).start()
    return runner
