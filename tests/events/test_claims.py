"""Claiming events for a consumer: each at most once, never one already dead-lettered."""

from __future__ import annotations

import uuid

from haven.core.clock import utcnow
from haven.db.session import Database
from haven.events import repository
from haven.events.models import DeadLetter


async def test_many_claims_in_one_go_skip_what_is_settled(database: Database) -> None:
    processed, dead, fresh, other = (uuid.uuid4() for _ in range(4))
    now = utcnow()
    async with database.sessions() as session, session.begin():
        assert await repository.claim(session, consumer="mailer", event_id=processed, at=now)
        session.add(
            DeadLetter(
                consumer="mailer",
                event_id=dead,
                position=None,
                envelope={},
                error="boom",
                attempts=3,
                first_failed_at=now,
                last_failed_at=now,
            )
        )

    async with database.sessions() as session, session.begin():
        claimed = await repository.claim_many(
            session, consumer="mailer", event_ids=[processed, dead, fresh, other], at=now
        )
        assert claimed == {fresh, other}
        # Another consumer's marks are its own.
        assert await repository.claim_many(
            session, consumer="digest", event_ids=[processed, dead], at=now
        ) == {processed, dead}

    async with database.sessions() as session, session.begin():
        again = await repository.claim_many(
            session, consumer="mailer", event_ids=[fresh, other], at=now
        )
        assert again == set()
        assert (
            await repository.claim_many(session, consumer="mailer", event_ids=[], at=now) == set()
        )
