"""The RRULE examples of RFC 5545 section 3.8.5.3, expanded on the local wall clock.

A copy of the design folder's reference file sits in tests/data; each entry gives DTSTART
with its zone, the RRULE, the expected local wall times and the same with UTC offsets. Entries
of infinite rules carry `count_limit`: only the first that many occurrences are listed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest

from haven.recurrence import (
    InvalidRecurrence,
    Recurrence,
    next_due,
    occurrences,
    parse_recurrence,
)
from haven.recurrence.rules import normalize_rule

REPO_ROOT = Path(__file__).resolve().parents[3]
# A copy is kept in the repository so that every clone runs these; the design folder beside
# the repository holds the original.
REFERENCE = REPO_ROOT / "tests" / "data" / "rfc5545_rrule_examples.json"


class _Required(TypedDict):
    id: str
    name: str
    dtstart: str
    tzid: str
    rrule: str
    expected: list[str]
    expected_with_offset: list[str]
    dateutil_agrees: bool


class Example(_Required, total=False):
    count_limit: int
    exdate: list[str]
    dateutil_result: list[str]
    note: str


if not REFERENCE.is_file():
    pytest.skip(f"RFC 5545 reference examples not found at {REFERENCE}", allow_module_level=True)

EXAMPLES: list[Example] = json.loads(REFERENCE.read_text(encoding="utf-8"))


def start_of(example: Example) -> tuple[datetime, ZoneInfo]:
    """DTSTART written as "1997-09-02T09:00:00[America/New_York]"."""
    tz = ZoneInfo(example["tzid"])
    local, _, zone = example["dtstart"].partition("[")
    assert zone.rstrip("]") == example["tzid"]
    return datetime.fromisoformat(local).replace(tzinfo=tz), tz


def engine_rule(example: Example) -> Recurrence:
    # Built directly rather than through parse_recurrence: the engine expands any valid RFC 5545
    # rule (calendar imports), while the task gate refuses MINUTELY (checked separately below).
    return Recurrence(rule=normalize_rule(example["rrule"]), mode="due", text=None)


def expand(example: Example, *, apply_exdate: bool = True) -> list[datetime]:
    start, tz = start_of(example)
    # One more than listed, so a finite rule must also stop where the RFC stops.
    wanted = example.get("count_limit", len(example["expected"]) + 1)
    excluded = {datetime.fromisoformat(x.partition("[")[0]) for x in example.get("exdate", [])}
    dues = occurrences(
        engine_rule(example),
        series_start=start,
        tz=tz,
        after=start - timedelta(seconds=1),
        limit=wanted + len(excluded),
    )
    if not apply_exdate:
        return dues
    # Haven has no EXDATE: tasks skip an occurrence by completing it. The test applies it.
    return [d for d in dues if d.replace(tzinfo=None) not in excluded][:wanted]


def walls(dues: list[datetime]) -> list[str]:
    return [d.replace(tzinfo=None).isoformat() for d in dues]


def with_offsets(dues: list[datetime]) -> list[str]:
    return [d.isoformat() for d in dues]


def test_reference_file_has_the_expected_shape() -> None:
    assert len(EXAMPLES) >= 40
    assert len({e["id"] for e in EXAMPLES}) == len(EXAMPLES)
    for example in EXAMPLES:
        assert len(example["expected"]) == len(example["expected_with_offset"]) > 0
        if "count_limit" in example:
            assert example["count_limit"] == len(example["expected"])


AGREEING = [e for e in EXAMPLES if e["dateutil_agrees"]]
DISAGREEING = [e for e in EXAMPLES if not e["dateutil_agrees"]]


@pytest.mark.parametrize("example", AGREEING, ids=[e["id"] for e in AGREEING])
def test_occurrences_match_the_rfc(example: Example) -> None:
    dues = expand(example)
    assert walls(dues) == example["expected"]
    assert with_offsets(dues) == example["expected_with_offset"]


@pytest.mark.parametrize("example", AGREEING, ids=[e["id"] for e in AGREEING])
def test_chaining_next_due_walks_the_same_series_and_ends_with_it(example: Example) -> None:
    start, tz = start_of(example)
    recurrence = engine_rule(example)
    dues = [datetime.fromisoformat(example["expected_with_offset"][0])]
    while len(dues) < len(example["expected"]) + 1:
        following = next_due(
            recurrence,
            series_start=start,
            previous_due=dues[-1],
            completed_at=dues[-1],
            occurrences_so_far=len(dues),
            tz=tz,
        )
        if following is None:
            break
        dues.append(following)
    listed = len(example["expected"])
    assert walls(dues[:listed]) == example["expected"]
    if "count_limit" not in example:
        assert len(dues) == listed, "a finite series must end after its last listed occurrence"


@pytest.mark.parametrize("example", DISAGREEING, ids=[e["id"] for e in DISAGREEING])
def test_where_the_rfc_text_is_wrong_haven_follows_the_corrected_reading(example: Example) -> None:
    # The only such entry is 33-a, RFC erratum 3883: UNTIL=19970902T170000Z is 13:00 EDT, so a
    # correct engine stops after 12:00 and never produces the 15:00 printed in the RFC. Haven
    # compares a UTC UNTIL as an instant, which gives the erratum's answer (the file's
    # dateutil_result), not the printed list.
    assert "dateutil_result" in example, "a new disagreement needs its own reasoning here"
    dues = expand(example)
    assert with_offsets(dues) == example["dateutil_result"]
    assert walls(dues) != example["expected"]


EXDATES = [e for e in EXAMPLES if "exdate" in e]


@pytest.mark.parametrize("example", EXDATES, ids=[e["id"] for e in EXDATES])
def test_a_start_that_does_not_fit_the_rule_is_still_the_first_occurrence(
    example: Example,
) -> None:
    # RFC 5545 counts DTSTART as the first instance even when the rule would not produce it,
    # which is why the example removes it with EXDATE. Haven does the same (unlike dateutil,
    # which leaves such a DTSTART out), since the start is the due the user set.
    assert example["exdate"] == [example["dtstart"]]
    start, _ = start_of(example)
    assert expand(example, apply_exdate=False)[0] == start


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_the_task_gate_accepts_every_rule_a_task_may_have(example: Example) -> None:
    if "FREQ=MINUTELY" in example["rrule"]:
        with pytest.raises(InvalidRecurrence, match="FREQ=MINUTELY is too frequent for a task"):
            parse_recurrence(rule=example["rrule"])
    elif "BYMINUTE=0,20,40" in example["rrule"]:  # every 20 minutes, however it is written
        with pytest.raises(InvalidRecurrence, match="fires more often than hourly"):
            parse_recurrence(rule=example["rrule"])
    else:
        assert parse_recurrence(rule=example["rrule"]).rule == normalize_rule(example["rrule"])
