"""Which time zone names Haven accepts: the IANA database's, never a file of the host's."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from haven.core.timezones import (
    earliest_wall_after,
    is_time_zone,
    resolve_wall,
    wall_clock,
    zone_names,
)


@pytest.mark.parametrize(
    "zone",
    ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/Argentina/Salta"],
)
def test_iana_zones_are_accepted(zone: str) -> None:
    assert is_time_zone(zone)


def test_old_names_that_browsers_still_report_are_accepted() -> None:
    assert is_time_zone("Asia/Calcutta")
    assert is_time_zone("US/Eastern")


@pytest.mark.parametrize(
    "zone",
    [
        "localtime",  # the host's own setting: a different zone on every machine
        "posixrules",
        "Factory",  # the database's placeholder for "not configured"
        "right/UTC",  # counts leap seconds
        "right/Europe/Berlin",
        "posix/Europe/Berlin",
        "",
        "Mars/Olympus",
        "europe/berlin",
        "../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "+02:00",
    ],
)
def test_other_names_are_refused(zone: str) -> None:
    assert not is_time_zone(zone)


def test_the_names_come_from_the_pinned_database_not_the_host() -> None:
    listed = resources.files("tzdata").joinpath("zones").read_text().split()

    assert zone_names() == set(listed) - {"Factory"}


# --- wall-clock times across DST changes -----------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
APIA = ZoneInfo("Pacific/Apia")


def test_a_skipped_wall_time_moves_forward_by_the_gap() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT in New York.
    resolved = resolve_wall(datetime(2026, 3, 8, 2, 45), NEW_YORK)
    assert resolved.astimezone(UTC) == datetime(2026, 3, 8, 7, 45, tzinfo=UTC)
    assert resolved.tzinfo is NEW_YORK
    assert wall_clock(resolved, NEW_YORK) == datetime(2026, 3, 8, 3, 45)


def test_a_repeated_wall_time_is_the_first_of_the_two() -> None:
    # 2026-11-01 01:30 happens in EDT and again in EST.
    resolved = resolve_wall(datetime(2026, 11, 1, 1, 30, fold=1), NEW_YORK)
    assert resolved.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert resolved.fold == 0


def test_an_ordinary_wall_time_is_itself() -> None:
    resolved = resolve_wall(datetime(2026, 7, 1, 9, 15), NEW_YORK)
    assert resolved.astimezone(UTC) == datetime(2026, 7, 1, 13, 15, tzinfo=UTC)


def test_the_wall_clock_of_the_second_pass_says_so() -> None:
    wall = wall_clock(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), NEW_YORK)
    assert (wall, wall.fold, wall.tzinfo) == (datetime(2026, 11, 1, 1, 30), 1, None)


@pytest.mark.parametrize(
    ("moment", "tz", "earliest"),
    [
        # Just after the spring gap, 02:45 resolves to 03:45 EDT: the walk starts a gap earlier.
        (datetime(2026, 3, 8, 7, 30, tzinfo=UTC), NEW_YORK, datetime(2026, 3, 8, 2, 30)),
        # A day later the gap is past: the moment's own wall time.
        (datetime(2026, 3, 9, 7, 30, tzinfo=UTC), NEW_YORK, datetime(2026, 3, 9, 3, 30)),
        (datetime(2026, 7, 1, 13, 15, tzinfo=UTC), NEW_YORK, datetime(2026, 7, 1, 9, 15)),
        # The second 01:15 (EST): a repeated time resolves to its first pass, never later.
        (datetime(2026, 11, 1, 6, 15, tzinfo=UTC), NEW_YORK, datetime(2026, 11, 1, 1, 15)),
        # Samoa skipped 2011-12-30 whole (-10 to +14): its times resolve to the 31st.
        (datetime(2011, 12, 30, 12, 0, tzinfo=UTC), APIA, datetime(2011, 12, 30, 2, 0)),
    ],
)
def test_the_earliest_wall_time_that_can_resolve_after_a_moment(
    moment: datetime, tz: ZoneInfo, earliest: datetime
) -> None:
    assert earliest_wall_after(moment, tz) == earliest
    # Every wall time from there on that resolves later than the moment is found by a walk
    # starting there, and the one just before it does not resolve later.
    assert resolve_wall(earliest, tz).astimezone(UTC) <= moment
