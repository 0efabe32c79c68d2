"""Which time zone names Haven accepts: the IANA database's, never a file of the host's."""

from __future__ import annotations

from importlib import resources

import pytest

from haven.core.timezones import is_time_zone, zone_names


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
