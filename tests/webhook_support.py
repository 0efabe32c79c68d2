"""Webhook test helpers: a local receiver, a webhook factory, and the relay's part."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from haven.db.session import Database
from haven.events.models import Event
from haven.events.outbox import to_cloudevent
from haven.webhooks.consumers import WEBHOOK_CONSUMER
from tests.factories import Account


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP server that answers from a script, then 200, and keeps what it got."""

    port: int
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/haven?source=test"

    def answer(self, *responses: int | tuple[int, dict[str, str], bytes]) -> None:
        for response in responses:
            if isinstance(response, int):
                self.script.append((response, {}, b"status %d" % response))
            else:
                self.script.append(response)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(dict(request.headers), await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, headers, body = self.script.pop(0) if self.script else (200, {}, b"ok")
        return web.Response(status=status, headers=headers, body=body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def start_receiver(receiver: Receiver, *, tls: ssl.SSLContext | None = None) -> web.AppRunner:
    """Serve the receiver on 127.0.0.1 (over TLS with a server context, as https://)."""
    server = web.Application()
    server.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port, ssl_context=tls).start()
    return runner


@dataclass(frozen=True)
class ThrowawayCA:
    """A certificate authority made for one test: it signs server certificates, and its
    certificate is a PEM file a client can be told to trust."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    pem_path: Path

    @classmethod
    def create(cls, folder: Path, *, name: str = "Haven test CA") -> ThrowawayCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        pem_path = folder / f"{name.replace(' ', '-')}.pem"
        pem_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return cls(key=key, certificate=certificate, pem_path=pem_path)

    def server_context(self, folder: Path, *, hostname: str) -> ssl.SSLContext:
        """A TLS server context with a certificate for `hostname`, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        chain = folder / f"{hostname}.pem"
        chain.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + certificate.public_bytes(serialization.Encoding.PEM)
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(chain)
        return context


async def create_webhook(
    client: httpx.AsyncClient, owner: Account, url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/webhooks", json={"url": url, **fields}, headers=owner.headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def queue_events(database: Database, *, types: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Hand every recorded event (of these types) to the webhooks consumer, as the relay
    would: positions numbered in commit order, one transaction per event."""
    async with database.sessions() as session:
        query = select(Event).order_by(Event.time, Event.id)
        if types:
            query = query.where(Event.type.in_(types))
        events = list((await session.scalars(query)).all())
    envelopes = []
    for position, event in enumerate(events, 1):
        envelope = to_cloudevent(event) | {"haven_position": position}
        async with database.sessions() as session, session.begin():
            if WEBHOOK_CONSUMER.wants(envelope["type"]):
                await WEBHOOK_CONSUMER.handler(session, envelope)
        envelopes.append(envelope)
    return envelopes


def verify_independently(secret: str, received_headers: dict[str, str], body: bytes) -> bool:
    """The spec's check, written from the spec: HMAC-SHA256 over id.timestamp.body with
    the base64-decoded secret, compared with each space-separated v1 signature."""
    headers = {k.lower(): v for k, v in received_headers.items()}
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = hmac.new(key, content, hashlib.sha256).digest()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, encoded = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(encoded), expected):
            return True
    return False


async def deliveries(client: httpx.AsyncClient, owner: Account, webhook_id: str) -> list[Any]:
    response = await client.get(f"/webhooks/{webhook_id}/deliveries", headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


@asynccontextmanager
async def serving_receiver() -> AsyncIterator[Receiver]:
    """A receiver listening on a free loopback port for as long as the block runs."""
    found = Receiver(port=free_port())
    runner = await start_receiver(found)
    try:
        yield found
    finally:
        await runner.cleanup()
