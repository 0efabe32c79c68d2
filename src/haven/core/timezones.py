"""Which time zone names Haven accepts: one rule for users, tasks and everything after them.

A zone is accepted when the IANA time zone database names it, as shipped in the pinned
`tzdata` package, so every installation accepts the same names whatever its operating system
has in /usr/share/zoneinfo. That list holds the database's zones and links (old names such as
"Asia/Calcutta" included: browsers still report them), and none of the files that only exist
on disk: `localtime` (the host's own setting, different on every machine), `posixrules`, and
the `posix/` and `right/` trees (the second counts leap seconds, which no calendar does).
`Factory` is in the database but only as a placeholder for "not configured yet", so it is
refused too.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Annotated

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
