"""HAVEN_SMTP_URL and HAVEN_MAIL_FROM as Haven reads them, and the quiet-hours clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from haven.notifications.mail import parse_smtp_url
from haven.notifications.quiet_hours import quiet_until
from haven.settings import Settings


def test_an_smtp_url_gives_host_port_tls_and_decoded_credentials() -> None:
    server = parse_smtp_url("smtp://mail%40home:p%3As%2Fs@mail.example:587?starttls=true")
    assert (server.host, server.port, server.implicit_tls, server.starttls) == (
        "mail.example",
        587,
        False,
        True,
    )
    assert (server.username, server.password) == ("mail@home", "p:s/s")
    assert "p:s/s" not in repr(server)
    implicit = parse_smtp_url("smtps://relay.example")
    assert (implicit.port, implicit.implicit_tls, implicit.starttls) == (465, True, False)
    assert parse_smtp_url("smtp://localhost").port == 25
    assert parse_smtp_url("smtp://localhost").username is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example", "smtp:// or smtps://"),
        ("smtp://", "no host"),
        ("smtp://mail.example:99999", "bad port"),
        ("smtp://mail.example?tls=1", "unknown parameters"),
        ("smtp://mail.example?starttls=maybe", "true or false"),
        ("smtps://mail.example?starttls=true", "TLS already"),
    ],
)
def test_a_bad_smtp_url_stops_the_start_saying_why(url: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(smtp_url=url)


def test_mail_from_must_hold_an_address() -> None:
    with pytest.raises(ValidationError, match="HAVEN_MAIL_FROM"):
        Settings(mail_from="Haven")
    assert Settings(mail_from="Haven <h@example.com>").mail_from == "Haven <h@example.com>"
    assert Settings(smtp_url="  ").smtp_url is None


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "start", "end", "until"),
    [
        # Past midnight, in Berlin (UTC+1 in winter).
        ("2026-12-10T22:30+01:00", "22:00", "07:00", "2026-12-11T07:00+01:00"),
        ("2026-12-11T06:59+01:00", "22:00", "07:00", "2026-12-11T07:00+01:00"),
        ("2026-12-11T07:00+01:00", "22:00", "07:00", None),
        ("2026-12-10T21:59+01:00", "22:00", "07:00", None),
        # Within a day.
        ("2026-12-10T13:15+01:00", "12:00", "14:00", "2026-12-10T14:00+01:00"),
        ("2026-12-10T14:00+01:00", "12:00", "14:00", None),
        # Start equal to end: no quiet hours.
        ("2026-12-10T12:00+01:00", "12:00", "12:00", None),
        # The night the clocks go forward (02:00 -> 03:00): 02:30 does not exist that night;
        # the quiet hours end as long after the jump (03:30), as a wall clock would read it.
        ("2026-03-29T01:30+01:00", "23:00", "02:30", "2026-03-29T03:30+02:00"),
    ],
)
def test_quiet_hours_end_at_their_end_in_the_users_zone(
    now: str, start: str, end: str, until: str | None
) -> None:
    found = quiet_until(at(now), start=start, end=end, zone="Europe/Berlin")
    assert found == (at(until) if until else None)


def test_no_quiet_hours_hold_nothing() -> None:
    assert quiet_until(at("2026-12-10T23:00+00:00"), start=None, end=None, zone="UTC") is None


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(0, 23 * 60 + 59),
    st.integers(0, 23 * 60 + 59),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
)
def test_quiet_hours_end_later_within_a_day_and_outside_the_window(
    naive: datetime, start: int, end: int, zone: str
) -> None:
    now = naive.replace(tzinfo=UTC)
    hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in (start, end)]
    until = quiet_until(now, start=hhmm[0], end=hhmm[1], zone=zone)
    if until is None:
        return
    assert now < until
    assert (until - now).total_seconds() <= 26 * 3600
    # Once they end, it is not quiet any more.
    assert quiet_until(until, start=hhmm[0], end=hhmm[1], zone=zone) is None
