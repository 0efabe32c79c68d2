"""Which time zone names Haven accepts: one rule for users, tasks and everything after them.

A zone is accepted when the IANA time zone database names it, as shipped in the pinned
`tzdata` package, so every installation accepts the same names whatever its operating system
has in /usr/share/zoneinfo. That list holds the database's zones and links (old names such as
"Asia/Calcutta" included: browsers still report them), and none of the files that only exist
on disk: `localtime` (the host's own setting, different on every machine), `posixrules`, and
the `posix/` and `right/` trees (the second counts leap seconds, which no calendar does).
`Factory` is in the database but only as a placeholder for "not configured yet", so it is
refused too.

It also holds how a naive wall-clock time in a zone becomes an instant when a DST change skips or
repeats it (`resolve_wall`), the rule every recurring due follows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, StringConstraints

# In the database, but a placeholder for "not configured yet", with the abbreviation "-00".
_PLACEHOLDERS = frozenset({"Factory"})


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every accepted zone name, e.g. "Europe/Berlin", "UTC", "America/Argentina/Salta"."""
    listing = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listing.split()) - _PLACEHOLDERS


def is_time_zone(name: str) -> bool:
    """True for an accepted zone name (exact spelling: "europe/berlin" is not one)."""
    return name in zone_names()


def check_time_zone(name: str) -> str:
    """`name` if it is an accepted zone, else ValueError (for pydantic validators)."""
    if not is_time_zone(name):
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. 'Europe/Berlin')")
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(check_time_zone),
]
"""A request field holding an IANA time zone name."""


# --- wall-clock times: the one rule for times a DST change skips or repeats ----------------

# The longest jump forward in the database: a whole day (Pacific/Apia, end of 2011).
_LONGEST_GAP = timedelta(days=1)


def wall_clock(moment: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall-clock time an aware `moment` shows in `tz` (its `fold` says which pass of
    a repeated hour it is)."""
    return moment.astimezone(tz).replace(tzinfo=None)


def resolve_wall(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant a naive wall time in `tz` stands for, aware in `tz`, as RFC 5545 reads it.

    A time the clocks skip (spring forward) moves forward by the length of the gap, 02:30 in
    New York becoming 03:30 EDT; a time they show twice (fall back) is the first of the two.
    """
    # fold=0 reads a repeated time with the offset of its first pass, and a skipped one with the
    # offset from before the gap, so the trip through UTC moves it forward by the gap.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def earliest_wall_after(moment: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall time in `tz` before every wall time that `resolve_wall` makes later than the
    aware `moment`.

    That is `moment`'s own wall time, unless a gap lies just before it: a skipped time resolves
    up to the gap's length later than it reads, so 02:45 on a spring-forward day in New York is
    03:45 EDT, later than 03:30 EDT.
    """
    at = moment.astimezone(UTC)
    offsets = [(at - _LONGEST_GAP).astimezone(tz).utcoffset(), at.astimezone(tz).utcoffset()]
    return at.replace(tzinfo=None) + min(offset for offset in offsets if offset is not None)
