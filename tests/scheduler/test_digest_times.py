"""When a daily digest is due: the wall-clock rules of scheduler/digests.py, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from haven.scheduler.digests import latest_slot, next_slot, parse_time

BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_next_digest_is_today_while_its_time_is_ahead_else_tomorrow() -> None:
    seven = time(7, 0)
    # 05:00 in Berlin (CET, UTC+1): today's 07:00 is still ahead.
    assert next_slot(zone=BERLIN, at=seven, after=utc(2026, 12, 1, 4), not_before=None) == utc(
        2026, 12, 1, 6
    )
    # 08:00 in Berlin: tomorrow's.
    assert next_slot(zone=BERLIN, at=seven, after=utc(2026, 12, 1, 7), not_before=None) == utc(
        2026, 12, 2, 6
    )


def test_a_day_already_served_is_never_served_again() -> None:
    # Today's digest went out; the user moves their time from 07:00 to 09:00 at 08:00.
    instant = next_slot(
        zone=BERLIN, at=time(9, 0), after=utc(2026, 12, 1, 7), not_before=date(2026, 12, 1)
    )
    assert instant == utc(2026, 12, 2, 8)


def test_digest_time_stays_on_the_wall_clock_across_dst() -> None:
    seven = time(7, 0)
    before = next_slot(zone=BERLIN, at=seven, after=utc(2026, 3, 27, 12), not_before=None)
    after = next_slot(zone=BERLIN, at=seven, after=before, not_before=None)
    assert before.astimezone(ZoneInfo(BERLIN)).time() == seven  # 06:00Z, CET
    assert after.astimezone(ZoneInfo(BERLIN)).time() == seven  # 05:00Z, CEST
    assert after - before == timedelta(hours=23)


def test_a_time_in_the_spring_forward_gap_comes_just_after_it() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: the digest comes at 03:30 CEST.
    instant = next_slot(zone=BERLIN, at=time(2, 30), after=utc(2026, 3, 28, 12), not_before=None)
    assert instant == utc(2026, 3, 29, 1, 30)
    assert instant.astimezone(ZoneInfo(BERLIN)).strftime("%H:%M %Z") == "03:30 CEST"


def test_a_time_that_happens_twice_means_the_first() -> None:
    # 02:30 happens twice in Berlin on 2026-10-25: first at 00:30Z (CEST), then 01:30Z (CET).
    instant = next_slot(zone=BERLIN, at=time(2, 30), after=utc(2026, 10, 24, 12), not_before=None)
    assert instant == utc(2026, 10, 25, 0, 30)


def test_the_latest_slot_is_the_last_digest_time_at_or_before_now() -> None:
    seven = time(7, 0)
    assert latest_slot(zone=BERLIN, at=seven, now=utc(2026, 12, 1, 6)) == (
        date(2026, 12, 1),
        utc(2026, 12, 1, 6),
    )
    assert latest_slot(zone=BERLIN, at=seven, now=utc(2026, 12, 1, 5, 59)) == (
        date(2026, 11, 30),
        utc(2026, 11, 30, 6),
    )


ZONES = st.sampled_from(
    [
        "UTC",
        BERLIN,
        "America/New_York",
        "Australia/Lord_Howe",  # a half-hour DST shift
        "Pacific/Kiritimati",  # UTC+14
        "Pacific/Pago_Pago",  # UTC-11
        "America/Santiago",  # DST changes at midnight
        "Asia/Kathmandu",  # UTC+05:45
    ]
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))


@given(zone=ZONES, at=TIMES, after=INSTANTS, served=st.integers(-3, 3) | st.none())
def test_the_next_slot_is_ahead_on_a_new_day_at_the_chosen_time(
    zone: str, at: time, after: datetime, served: int | None
) -> None:
    today = after.astimezone(ZoneInfo(zone)).date()
    not_before = None if served is None else today + timedelta(days=served)
    instant = next_slot(zone=zone, at=at, after=after, not_before=not_before)
    local = instant.astimezone(ZoneInfo(zone))
    assert instant > after
    assert not_before is None or local.date() > not_before
    # On the chosen time, unless that time fell in a gap (then just after it).
    assert local.time() == at or timedelta(0) < local - datetime.combine(
        local.date(), at, tzinfo=ZoneInfo(zone)
    ) <= timedelta(hours=1)
    # Never a day later than needed.
    first_day = today if not_before is None else max(today, not_before + timedelta(days=1))
    assert local.date() <= first_day + timedelta(days=1)


@given(zone=ZONES, at=TIMES, now=INSTANTS)
def test_the_latest_slot_is_at_or_before_now_and_the_next_one_after(
    zone: str, at: time, now: datetime
) -> None:
    day, instant = latest_slot(zone=zone, at=at, now=now)
    assert instant <= now
    assert next_slot(zone=zone, at=at, after=now, not_before=day) > now


def test_parse_time() -> None:
    assert parse_time("07:05") == time(7, 5)
    assert parse_time("23:59") == time(23, 59)
