"""A consumer for worker subprocesses (HAVEN_CONSUMER_MODULES='["tests.events.sample_consumer"]').

It records its effect (an event of type haven.test.handled) in the transaction of the
processed mark, after a pause (HAVEN_TEST_HANDLER_SECONDS) that leaves a kill time to land.
"""

from __future__ import annotations

import asyncio
import os

from sqlalchemy.ext.asyncio import AsyncSession

from haven.events.consumers import Envelope, consumer
from haven.events.outbox import record
from tests.events.helpers import effect_of


@consumer("sample", types=["haven.task.*"])
async def handle(session: AsyncSession, envelope: Envelope) -> None:
    await asyncio.sleep(float(os.environ.get("HAVEN_TEST_HANDLER_SECONDS", "0")))
    record(session, effect_of(envelope))
