"""Quiet hours: a daily window, in the user's zone, in which e-mail and push wait.

A window "22:00" to "07:00" passes midnight; one whose start equals its end is empty. A
delivery made inside the window is due at its end (the next wall-clock "end" after now, in
the user's zone; on a night the clocks skip that time, as long after the jump as it was
after the gap's start: an end at 02:30 on a night that jumps 02:00 -> 03:00 is 03:30).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

HHMM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_hhmm(value: str) -> time:
    match = HHMM.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def in_window(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: datetime, *, start: str | None, end: str | None, zone: str) -> datetime | None:
    """When the quiet hours around `now` end; None when `now` is not in quiet hours."""
    if start is None or end is None:
        return None
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    begin, finish = parse_hhmm(start), parse_hhmm(end)
    if not in_window(local.time().replace(second=0, microsecond=0), begin, finish):
        return None
    day = local.date()
    for offset in (0, 1):
        wall = datetime.combine(day + timedelta(days=offset), finish, tz)
        # A wall time the clocks skip: round trip through UTC lands after the gap.
        instant = wall.astimezone(UTC).astimezone(tz)
        if instant > local:
            return instant.astimezone(UTC)
    return None  # unreachable: the end comes within a day
