"""Password hashing cost: cheap only where a setting asks for it, and never incompatible."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haven.core import security
from haven.settings import Settings


@pytest.fixture(autouse=True)
def _restore_cost() -> Iterator[None]:
    before = security.password_cost()
    yield
    security.use_password_cost(before)


def test_production_hashes_at_the_standard_cost() -> None:
    assert Settings.model_fields["password_hash_cost"].default == "standard"

    security.use_password_cost("standard")

    assert "m=65536" in security.hash_password("a password")


def test_the_minimal_cost_is_cheap_and_each_cost_verifies_the_others_hashes() -> None:
    security.use_password_cost("minimal")
    cheap = security.hash_password("a password")
    security.use_password_cost("standard")
    strong = security.hash_password("a password")

    assert "m=8," in cheap
    assert security.verify_password("a password", cheap)
    security.use_password_cost("minimal")
    assert security.verify_password("a password", strong)
    assert not security.verify_password("another", strong)
    assert not security.verify_password("a password", None)
