"""next_due against python-dateutil run directly on the same naive wall-clock times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from hypothesis import assume, given
from hypothesis import strategies as st

from haven.recurrence import Recurrence, next_due, occurrences, parse_recurrence
from tests.unit.recurrence.hypothesis_settings import PROPERTIES

# Fixed offsets, 1-hour DST at 02:00/03:00, DST changes at midnight, and a 30-minute DST.
ZONES = [
    "UTC",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Santiago",
    "Australia/Lord_Howe",
]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
STEPS = 10

modest = PROPERTIES


@dataclass(frozen=True)
class Series:
    rule_without_count: str
    count: int | None
    tz: ZoneInfo
    start_wall: datetime

    @property
    def rule(self) -> str:
        count = "" if self.count is None else f";COUNT={self.count}"
        return self.rule_without_count + count

    @property
    def recurrence(self) -> Recurrence:
        return parse_recurrence(rule=self.rule)

    @property
    def series_start(self) -> datetime:
        # An aware start as a task stores it; in a DST gap it is already moved forward.
        return self.start_wall.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)

    def unbounded(self) -> rrule:
        """dateutil on the naive wall time of the stored start, as the engine promises."""
        wall = self.series_start.replace(tzinfo=None)
        built = rrulestr(self.rule_without_count + ";WKST=MO", dtstart=wall)
        assert isinstance(built, rrule)
        return built

    def reference(self, limit: int) -> list[datetime]:
        """The first `limit` wall times by RFC 5545: the start, then what dateutil gives after
        it, COUNT in total. (dateutil alone leaves out a start the rule would not produce.)"""
        start = self.series_start.replace(tzinfo=None)
        walls = [start, *islice(self.unbounded().xafter(start), limit - 1)]
        return walls if self.count is None else walls[: self.count]


@st.composite
def series(draw: st.DrawFn) -> Series:
    freq = draw(st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 4))}"]
    if freq == "MONTHLY" and draw(st.booleans()):
        position = draw(st.sampled_from([1, 2, 3, 4, -1, -2]))
        parts.append(f"BYDAY={position}{draw(st.sampled_from(WEEKDAYS))}")
    elif freq != "YEARLY" and draw(st.booleans()):
        mask = draw(st.integers(1, 2 ** len(WEEKDAYS) - 1))  # a non-empty set of weekdays
        parts.append("BYDAY=" + ",".join(d for i, d in enumerate(WEEKDAYS) if mask >> i & 1))
    count = draw(st.none() | st.integers(1, STEPS + 2))
    start = draw(
        st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2040, 12, 31))
    ).replace(second=0, microsecond=0)
    return Series(";".join(parts), count, ZoneInfo(draw(st.sampled_from(ZONES))), start)


def regular(wall: datetime, tz: ZoneInfo) -> bool:
    """The wall time exists exactly once in the zone (neither in a gap nor repeated)."""
    first, second = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    return first.utcoffset() == second.utcoffset()


def follow(s: Series, previous: datetime, so_far: int) -> datetime | None:
    return next_due(
        s.recurrence,
        series_start=s.series_start,
        previous_due=previous,
        completed_at=previous,
        occurrences_so_far=so_far,
        tz=s.tz,
    )


@modest
@given(series())
def test_chaining_next_due_reproduces_the_rrule_and_ends_with_it(s: Series) -> None:
    expected = s.reference(STEPS + 1)
    # Where a wall time is missing or doubled the engine deliberately differs from plain
    # dateutil (it shifts or merges); those cases have their own unit tests.
    assume(all(regular(wall, s.tz) for wall in expected))
    dues = [s.series_start]
    while len(dues) < STEPS + 1:
        following = follow(s, dues[-1], len(dues))
        if following is None:
            break
        assert following.astimezone(UTC) > dues[-1].astimezone(UTC)
        assert following.tzinfo is s.tz
        dues.append(following)
    assert [d.replace(tzinfo=None) for d in dues] == expected
    if len(expected) <= STEPS:
        # The series has ended (COUNT), and next_due says so.
        assert follow(s, dues[-1], len(dues)) is None


@modest
@given(series(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)))
def test_next_due_is_the_next_occurrence_strictly_after_the_previous_due(
    s: Series, offset: timedelta
) -> None:
    # The previous due may have been moved anywhere after the start; the search starts there.
    previous = (s.series_start.astimezone(UTC) + offset).astimezone(s.tz)
    # A previous due in the second pass of a repeated hour is covered by a unit test.
    assume(previous.fold == 0)
    previous_wall = previous.replace(tzinfo=None)
    following = follow(s, previous, 1)
    # COUNT counts the occurrences used so far (here one), not the schedule's.
    reference = None if s.count == 1 else s.unbounded().after(previous_wall)
    assert (following is None) == (reference is None)
    if following is not None and reference is not None:
        assert following.astimezone(UTC) > previous.astimezone(UTC)
        if regular(reference, s.tz):
            assert following.replace(tzinfo=None) == reference


@modest
@given(series(), st.integers(0, 6))
def test_occurrences_are_what_chaining_next_due_gives(s: Series, skip: int) -> None:
    # Including DST gaps and repeated hours, which the dateutil comparison leaves out.
    start = s.series_start
    after = start - timedelta(seconds=1)
    previews = occurrences(s.recurrence, series_start=start, tz=s.tz, after=after, limit=skip + 4)
    if len(previews) <= skip:
        return
    chained = [previews[skip]]
    while len(chained) < len(previews) - skip:
        following = follow(s, chained[-1], skip + len(chained))
        assert following is not None
        chained.append(following)
    assert [d.astimezone(UTC) for d in chained] == [d.astimezone(UTC) for d in previews[skip:]]
    instants = [d.astimezone(UTC) for d in previews]
    assert instants == sorted(set(instants)), "previews are strictly increasing instants"


@modest
@given(series(), st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(days=40)))
def test_completion_mode_schedules_after_the_completion_day_at_the_due_time(
    s: Series, delay: timedelta
) -> None:
    recurrence = Recurrence(rule=s.recurrence.rule, mode="completion", text=None)
    previous = s.series_start
    completed = (previous.astimezone(UTC) + delay).astimezone(s.tz)
    following = next_due(
        recurrence,
        series_start=previous,
        previous_due=previous,
        completed_at=completed,
        occurrences_so_far=1,
        tz=s.tz,
    )
    if s.count == 1:
        assert following is None
        return
    assert following is not None
    anchor = datetime.combine(completed.date(), previous.replace(tzinfo=None).time())
    wall = following.replace(tzinfo=None)
    if regular(wall, s.tz):
        assert wall > anchor
        if "BYDAY" not in s.rule and not s.rule.startswith("FREQ=HOURLY"):
            intended = datetime.combine(wall.date(), anchor.time())
            if regular(intended, s.tz):
                assert wall.time() == anchor.time()
            else:  # the due time does not exist that day: RFC 5545 moves it on by the gap
                moved = intended.replace(tzinfo=s.tz).astimezone(UTC).astimezone(s.tz)
                assert following == moved
