"""``haven events``: watch the change feed, inspect and replay dead letters, replay a consumer."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from haven.cli.plumbing import DatabaseUrl, console, fail, load_settings, prepare_sqlite_folder, run
from haven.db.engine import create_engine, create_sessionmaker
from haven.db.session import Database
from haven.events import service
from haven.events.consumers import (
    Consumer,
    ConsumerRunner,
    RetryPolicy,
    load_consumers,
    replay_consumer,
    replay_dead_letter,
)
from haven.events.leases import Lease
from haven.events.models import DeadLetter
from haven.events.outbox import to_cloudevent
from haven.events.reading import read_session
from haven.events.signals import nap
from haven.settings import Settings

app = typer.Typer(
    help="The event pipeline: the change feed, dead letters, consumer replays.",
    no_args_is_help=True,
)
dlq = typer.Typer(help="Dead letters: events a consumer gave up on.", no_args_is_help=True)
app.add_typer(dlq, name="dlq")

# Events read per query while tailing or replaying.
PAGE = 500


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    prepare_sqlite_folder(settings)
    engine = create_engine(settings)
    try:
        yield Database(engine=engine, sessions=create_sessionmaker(engine))
    finally:
        await engine.dispose()


@app.command()
def tail(
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Only this event type (repeatable); 'haven.task.*' for a prefix.",
            show_default=False,
        ),
    ] = None,
    workspace: Annotated[
        uuid.UUID | None,
        typer.Option("--workspace", help="Only this workspace's events.", show_default=False),
    ] = None,
    position: Annotated[
        int | None,
        typer.Option(
            "--position",
            min=1,
            help="Start at this position (default: only events published from now on).",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow/--no-follow", help="Keep waiting for new events (Ctrl-C ends)."),
    ] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Print published events as CloudEvents JSON, one a line, in position order."""
    settings = load_settings(database_url)
    exact = {name for name in types or () if not name.endswith(".*")}
    prefixes = {name[:-1] for name in types or () if name.endswith(".*")}

    async def follow_feed() -> None:
        async with _database(settings) as database:
            async with read_session(database) as session:
                after = (
                    position - 1 if position is not None else await service.last_position(session)
                )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            if follow:
                loop.add_signal_handler(signal.SIGINT, stop.set)
            lease = Lease(database.engine, None, channels=("haven_positions",))
            try:
                while not stop.is_set():
                    async with read_session(database) as session:
                        # Every position up to `top` is committed (the relay commits them in
                        # order): reading up to it and then moving there skips nothing.
                        top = await service.last_position(session)
                        events = await service.change_feed(
                            session,
                            after=after,
                            until=top,
                            limit=PAGE,
                            types=exact,
                            type_prefixes=prefixes,
                            workspace_id=workspace,
                        )
                    for event in events:
                        typer.echo(orjson.dumps(to_cloudevent(event)).decode())
                    if len(events) == PAGE:
                        after = events[-1].position or after
                        continue
                    after = max(after, top)
                    if not follow:
                        return
                    await lease.hold()
                    await nap(lease.wake, stop, settings.relay_poll_seconds)
            finally:
                if follow:
                    loop.remove_signal_handler(signal.SIGINT)
                await lease.release()

    run(follow_feed())


def _consumer(name: str, settings: Settings) -> Consumer:
    load_consumers(settings.consumer_modules)
    from haven.events.consumers import registry

    found = registry.get(name)
    if found is None:
        known = ", ".join(item.name for item in registry.all()) or "none"
        fail(f"no consumer named {name!r} (registered: {known})")
    return found


def _policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy.of(
        base_seconds=settings.consumer_retry_base_seconds,
        max_seconds=settings.consumer_retry_max_seconds,
        max_attempts=settings.consumer_max_attempts,
    )


@app.command("replay")
def replay(
    consumer: Annotated[str, typer.Option("--consumer", help="The consumer to feed again.")],
    from_position: Annotated[
        int, typer.Option("--from-position", min=1, help="The first position to feed again.")
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Feed a consumer the events from a position again (its marks from there are forgotten)."""
    settings = load_settings(database_url)
    chosen = _consumer(consumer, settings)

    async def work() -> int:
        async with _database(settings) as database:
            # Fed straight from the events table: no bus involved.
            runner = ConsumerRunner(chosen, database=database, bus=None, policy=_policy(settings))
            handled = await replay_consumer(runner, database, from_position=from_position)
            if runner.dead_lettered:
                console.print(f"{runner.dead_lettered} event(s) dead-lettered again")
            return handled

    handled = run(work())
    console.print(f"{handled} event(s) handled again by {escape(consumer)}")


def _letter_lines(letters: list[DeadLetter]) -> list[str]:
    """One line a letter, tab-separated: ids stay whole and copyable in any terminal."""
    lines = ["consumer\tevent\ttype\tposition\tattempts\tlast failure\terror"]
    for letter in letters:
        error = letter.error.splitlines()[0][:120] if letter.error else ""
        lines.append(
            "\t".join(
                (
                    letter.consumer,
                    str(letter.event_id),
                    str(letter.envelope.get("type", "")),
                    str(letter.position or ""),
                    str(letter.attempts),
                    letter.last_failed_at.isoformat(timespec="seconds"),
                    error,
                )
            )
        )
    return lines


ConsumerOption = Annotated[
    str | None,
    typer.Option("--consumer", help="Only this consumer's dead letters.", show_default=False),
]


async def _letters(
    settings: Settings, *, consumer: str | None, event_id: uuid.UUID | None, limit: int
) -> list[DeadLetter]:
    async with _database(settings) as database, read_session(database) as session:
        return list(
            await service.dead_letters(session, consumer=consumer, event_id=event_id, limit=limit)
        )


@dlq.command("list")
def dlq_list(
    consumer: ConsumerOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    database_url: DatabaseUrl = None,
) -> None:
    """List dead letters, oldest first."""
    settings = load_settings(database_url)
    letters = run(_letters(settings, consumer=consumer, event_id=None, limit=limit))
    if not letters:
        console.print("no dead letters")
        return
    for line in _letter_lines(letters):
        typer.echo(line)


@dlq.command("show")
def dlq_show(
    event_id: Annotated[uuid.UUID, typer.Argument(help="The event's id.")],
    consumer: ConsumerOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show a dead letter: its error, attempts and the event (CloudEvents JSON)."""
    settings = load_settings(database_url)
    letters = run(_letters(settings, consumer=consumer, event_id=event_id, limit=100))
    if not letters:
        fail(f"no dead letter of event {event_id}")
    for letter in letters:
        document = {
            "consumer": letter.consumer,
            "event_id": str(letter.event_id),
            "position": letter.position,
            "attempts": letter.attempts,
            "first_failed_at": letter.first_failed_at.isoformat(),
            "last_failed_at": letter.last_failed_at.isoformat(),
            "error": letter.error,
            "envelope": letter.envelope,
        }
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@dlq.command("replay")
def dlq_replay(
    event_id: Annotated[uuid.UUID, typer.Argument(help="The event's id.")],
    consumer: ConsumerOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the consumer's handler on the dead letter again; on success it is removed."""
    settings = load_settings(database_url)
    letters = run(_letters(settings, consumer=consumer, event_id=event_id, limit=100))
    if not letters:
        fail(f"no dead letter of event {event_id}")
    chosen = [_consumer(letter.consumer, settings) for letter in letters]

    async def work() -> list[bool]:
        async with _database(settings) as database:
            return [await replay_dead_letter(database, item, event_id=event_id) for item in chosen]

    results = run(work())
    for item, succeeded in zip(chosen, results, strict=True):
        outcome = "handled; dead letter removed" if succeeded else "failed again; kept"
        console.print(f"{escape(item.name)}: {outcome}")
    if not all(results):
        raise typer.Exit(1)
