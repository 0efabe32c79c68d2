"""Webhook test helpers: a local receiver, a webhook factory, and the relay's part."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web
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


async def start_receiver(receiver: Receiver) -> web.AppRunner:
    server = web.Application()
    server.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    return runner


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
