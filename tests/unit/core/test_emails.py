"""The one normal form of an email address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.core.emails import normalize_email


@pytest.mark.parametrize(
    "spelling",
    [
        "alice@example.com",
        "  Alice@Example.COM",
        "\u00a0alice@example.com",  # no-break space
        "alice@example.com\u3000",  # ideographic space
        "\t\u2003ALICE@EXAMPLE.COM\n",
        "\uff41\uff4c\uff49\uff43\uff45@example.com",  # fullwidth letters
        "alice\uff20example\uff0ecom",  # fullwidth @ and .
        "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e@example.com",  # mathematical bold
    ],
)
def test_spellings_of_one_address_normalise_to_it(spelling: str) -> None:
    assert normalize_email(spelling) == "alice@example.com"


def test_case_folding_is_full_not_just_lower_case() -> None:
    assert normalize_email("STRASSE@example.de") == normalize_email("straße@example.de")


def test_different_addresses_stay_different() -> None:
    assert normalize_email("alice@example.com") != normalize_email("alice@example.co")
    assert normalize_email("a.lice@example.com") != normalize_email("alice@example.com")


@given(st.text())
def test_normalising_twice_changes_nothing(raw: str) -> None:
    once = normalize_email(raw)

    assert normalize_email(once) == once
