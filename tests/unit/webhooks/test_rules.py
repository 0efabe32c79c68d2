"""The pure rules of webhooks: the schedule, Retry-After, filters, addresses, secrets."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime

import pytest

from haven.webhooks import signing, ssrf
from haven.webhooks.delivery import RETRY_SCHEDULE, DeliveryPolicy, next_delay, retry_after_seconds
from haven.webhooks.events import matches


def test_the_schedule_is_the_published_one_and_ends_after_eight_attempts() -> None:
    policy = DeliveryPolicy(keys=signing.signing_secrets("a-unit-test-key"))
    assert RETRY_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    delays = [next_delay(policy, attempts=n, retry_after=None) for n in range(1, 9)]
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000, None]
    assert next_delay(policy, attempts=1, retry_after=60) == 60
    assert next_delay(policy, attempts=3, retry_after=60) == 1800  # never sooner
    assert next_delay(policy, attempts=1, retry_after=10**9) == policy.max_retry_after_seconds


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now=now) == 30
    assert retry_after_seconds("Sat, 28 Nov 2026 12:02:00 GMT", now=now) == 120
    assert retry_after_seconds("Sat, 28 Nov 2026 11:00:00 GMT", now=now) == 0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


def test_filters_take_exact_types_an_entity_or_everything() -> None:
    assert matches(["*"], "haven.task.created")
    assert matches(["haven.task.*"], "haven.task.completed")
    assert not matches(["haven.task.*"], "haven.tag.created")
    assert not matches(["haven.task.*"], "haven.taskx.created")
    assert matches(["haven.tag.created", "haven.task.created"], "haven.task.created")
    assert not matches(["haven.task.created"], "haven.task.created_later")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("::", False),
        ("ff02::1", False),
        ("255.255.255.255", False),
        ("198.18.0.1", False),
    ],
)
def test_only_public_addresses_are_targets(address: str, public: bool) -> None:
    assert (ssrf.refusal(ipaddress.ip_address(address)) is None) is public


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32
    headers = signing.headers(
        [one, two], message_id="msg_1", sent_at=datetime(2026, 1, 1, tzinfo=UTC), body=b"{}"
    )
    assert headers["webhook-timestamp"] == "1767225600"
    assert len(headers["webhook-signature"].split(" ")) == 2
