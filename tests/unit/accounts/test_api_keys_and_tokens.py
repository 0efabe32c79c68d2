"""Pure pieces of the accounts module: API key format, token lifetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.accounts.api_keys import KEY_PREFIX, PREFIX_LENGTH, generate_key, parse_prefix
from haven.accounts.oidc import check_lifetime
from haven.core.errors import Unauthorized
from haven.core.security import hash_secret


def test_a_generated_key_parses_back_to_its_prefix() -> None:
    made = generate_key()

    assert made.token.startswith(f"{KEY_PREFIX}{made.prefix}_")
    assert len(made.prefix) == PREFIX_LENGTH
    assert parse_prefix(made.token) == made.prefix
    assert made.secret_hash == hash_secret(made.token)
    assert made.token not in made.secret_hash


@pytest.mark.parametrize(
    "token",
    [
        "",
        "hvn_",
        "hvn_abc",
        "hvn_abcdefghijkl",
        "hvn_abcdefghijkl_",
        "hvn_ABCDEFGHIJKL_secret",
        "hvn_abcdefghijk_secret",
        "hvn_abc-efghijkl_secret",
        "xyz_abcdefghijkl_secret",
    ],
)
def test_malformed_keys_have_no_prefix(token: str) -> None:
    assert parse_prefix(token) is None


@given(st.text(max_size=80))
def test_parsing_never_raises(token: str) -> None:
    prefix = parse_prefix(token)

    assert prefix is None or token.startswith(f"{KEY_PREFIX}{prefix}_")


def test_token_lifetime_uses_a_little_leeway() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    exp = int((now - timedelta(seconds=10)).timestamp())

    check_lifetime({"exp": exp}, now=now)  # 10 s of clock skew is tolerated
    with pytest.raises(Unauthorized):
        check_lifetime({"exp": exp}, now=now + timedelta(minutes=1))
    with pytest.raises(Unauthorized):
        check_lifetime({"exp": "tomorrow"}, now=now)
    nbf = int((now + timedelta(minutes=5)).timestamp())
    with pytest.raises(Unauthorized):
        check_lifetime({"exp": nbf + 3600, "nbf": nbf}, now=now)
