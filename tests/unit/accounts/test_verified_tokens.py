"""Remembered access tokens: a token passes until it expires, and only for its own key."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest

from haven.accounts.authn import VerifiedAccessTokens
from haven.core.security import ACCESS_AUDIENCE, JWT_ALGORITHM, issue_access_token

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_remembered_token_still_names_its_user() -> None:
    tokens = VerifiedAccessTokens()
    user_id = uuid.uuid4()
    token, _ = issue_access_token(user_id=user_id, secret=SECRET, ttl=timedelta(minutes=5))

    assert tokens.user_of(token, secret=SECRET) == user_id
    assert tokens.user_of(token, secret=SECRET) == user_id


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = VerifiedAccessTokens()
    token, _ = issue_access_token(user_id=uuid.uuid4(), secret=SECRET, ttl=timedelta(minutes=5))
    assert tokens.user_of(token, secret=SECRET) is not None

    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)

    assert tokens.user_of(token, secret=SECRET) is None


def test_bad_tokens_are_neither_accepted_nor_remembered() -> None:
    tokens = VerifiedAccessTokens(max_tokens=2)
    good, _ = issue_access_token(user_id=uuid.uuid4(), secret=SECRET, ttl=timedelta(minutes=5))
    claims = {"sub": str(uuid.uuid4()), "aud": ACCESS_AUDIENCE, "exp": time.time() + 60}
    untyped = jwt.encode(claims, SECRET, algorithm=JWT_ALGORITHM)  # no "typ": "access"

    assert tokens.user_of(good, secret="another-secret-that-is-long-enough-too") is None
    assert tokens.user_of(untyped, secret=SECRET) is None
    assert tokens.user_of("garbage", secret=SECRET) is None
    assert tokens.user_of(good, secret=SECRET) is not None


def test_the_memory_stays_bounded() -> None:
    tokens = VerifiedAccessTokens(max_tokens=3)
    users = [uuid.uuid4() for _ in range(10)]
    for user_id in users:
        token, _ = issue_access_token(user_id=user_id, secret=SECRET, ttl=timedelta(minutes=5))
        assert tokens.user_of(token, secret=SECRET) == user_id
        assert len(tokens._user_and_expiry) <= 3
