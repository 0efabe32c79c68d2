"""The sliding window behind the sign-in limits, and the limiter's rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.accounts.ratelimit import LoginLimiter, SlidingWindow
from haven.core import clock
from haven.core.errors import TooManyRequests, Unauthorized

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
WINDOW = timedelta(seconds=60)
TICK = timedelta(microseconds=1)


@pytest.fixture
def now() -> Iterator[list[datetime]]:
    current = [T0]
    clock.set_clock(lambda: current[0])
    yield current
    clock.set_clock(None)


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=300), max_size=30),
    limit=st.integers(min_value=1, max_value=8),
    query=st.integers(min_value=0, max_value=400),
)
def test_retry_after_is_exactly_when_one_more_attempt_fits(
    offsets: list[int], limit: int, query: int
) -> None:
    window = SlidingWindow(window=WINDOW)
    past = sorted(offset for offset in offsets if offset <= query)
    for offset in past:
        window.add("k", now=T0 + timedelta(seconds=offset))
    at = T0 + timedelta(seconds=query)
    in_window = [offset for offset in past if offset > query - WINDOW.total_seconds()]

    wait = window.retry_after("k", limit=limit, now=at)

    if len(in_window) < limit:
        assert wait is None
        return
    assert wait is not None
    assert wait > 0
    frees_at = at + timedelta(seconds=wait)
    assert window.retry_after("k", limit=limit, now=frees_at - TICK) is not None
    assert window.retry_after("k", limit=limit, now=frees_at) is None


def test_hits_leave_the_window_and_empty_keys_are_forgotten() -> None:
    window = SlidingWindow(window=WINDOW)
    window.add("k", now=T0)
    window.add("k", now=T0 + timedelta(seconds=30))

    assert window.count("k", now=T0 + timedelta(seconds=59)) == 2
    assert window.count("k", now=T0 + timedelta(seconds=60)) == 1
    assert window.count("k", now=T0 + timedelta(seconds=90)) == 0
    assert len(window) == 0


def test_memory_is_bounded() -> None:
    window = SlidingWindow(window=WINDOW, max_keys=3)
    for index in range(10):
        window.add(f"k{index}", now=T0)

    assert len(window) <= 3
    assert window.count("k9", now=T0) == 1


def _fail(limiter: LoginLimiter, *, ip: str = "10.0.0.1", account: str = "a@example.com") -> None:
    with pytest.raises(Unauthorized), limiter.attempt(ip=ip, account=account):
        raise Unauthorized("wrong email or password")


def test_over_the_account_limit_even_the_right_password_waits(now: list[datetime]) -> None:
    limiter = LoginLimiter(per_account=3, per_ip=100, window_seconds=60)
    for _ in range(3):
        _fail(limiter)

    with (
        pytest.raises(TooManyRequests) as raised,
        limiter.attempt(ip="10.0.0.1", account="A@Example.com"),
    ):
        pytest.fail("a locked account must not get to the password check")

    assert raised.value.headers["Retry-After"] == "60"
    now[0] += timedelta(seconds=60)
    with limiter.attempt(ip="10.0.0.1", account="a@example.com"):
        pass


def test_over_the_ip_limit_every_account_waits(now: list[datetime]) -> None:
    limiter = LoginLimiter(per_account=100, per_ip=2, window_seconds=60)
    _fail(limiter, account="one@example.com")
    _fail(limiter, account="two@example.com")

    with pytest.raises(TooManyRequests), limiter.attempt(ip="10.0.0.1", account="x@example.com"):
        pass
    with limiter.attempt(ip="10.0.0.2", account="x@example.com"):
        pass


def test_concurrent_attempts_count_before_they_finish(now: list[datetime]) -> None:
    limiter = LoginLimiter(per_account=3, per_ip=100, window_seconds=60)

    with ExitStack() as in_flight:
        for _ in range(3):
            in_flight.enter_context(limiter.attempt(ip="10.0.0.1", account="a@example.com"))
        with (
            pytest.raises(TooManyRequests),
            limiter.attempt(ip="10.0.0.1", account="a@example.com"),
        ):
            pass


def test_success_forgives_the_account_but_not_the_ip(now: list[datetime]) -> None:
    limiter = LoginLimiter(per_account=3, per_ip=3, window_seconds=60)
    _fail(limiter)
    _fail(limiter)

    with limiter.attempt(ip="10.0.0.1", account="a@example.com"):
        pass

    _fail(limiter, ip="10.0.0.1", account="a@example.com")
    with pytest.raises(TooManyRequests), limiter.attempt(ip="10.0.0.1", account="b@example.com"):
        pass


def test_an_unexpected_error_is_not_a_failed_attempt(now: list[datetime]) -> None:
    limiter = LoginLimiter(per_account=1, per_ip=1, window_seconds=60)

    with pytest.raises(RuntimeError), limiter.attempt(ip="10.0.0.1", account="a@example.com"):
        raise RuntimeError("database went away")

    with limiter.attempt(ip="10.0.0.1", account="a@example.com"):
        pass


def test_reset_forgets_everything(now: list[datetime]) -> None:
    limiter = LoginLimiter(per_account=1, per_ip=1, window_seconds=60)
    _fail(limiter)

    limiter.reset()

    with limiter.attempt(ip="10.0.0.1", account="a@example.com"):
        pass
