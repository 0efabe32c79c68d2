"""Sealed values open only under the key, purpose and context they were sealed with."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.core.encryption import CannotOpen, SecretBox
from haven.webhooks import signing

BOX = SecretBox.derive("application-key", purpose=b"tests/one")


@given(plaintext=st.binary(max_size=200), context=st.binary(max_size=40))
def test_what_is_sealed_opens_to_itself(plaintext: bytes, context: bytes) -> None:
    sealed = BOX.seal(plaintext, context=context)
    assert sealed.startswith("v1.")
    assert BOX.open(sealed, context=context) == plaintext


def test_another_key_purpose_or_context_or_a_changed_byte_does_not_open() -> None:
    sealed = BOX.seal(b"whsec-bytes", context=b"row-1")
    assert BOX.seal(b"whsec-bytes", context=b"row-1") != sealed  # a fresh nonce each time
    others = [
        SecretBox.derive("another-key", purpose=b"tests/one"),
        SecretBox.derive("application-key", purpose=b"tests/two"),
    ]
    for box in others:
        with pytest.raises(CannotOpen):
            box.open(sealed, context=b"row-1")
    with pytest.raises(CannotOpen):
        BOX.open(sealed, context=b"row-2")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for broken in (flipped, sealed.removeprefix("v1."), "v1.!!", "whsec_abc"):
        with pytest.raises(CannotOpen):
            BOX.open(broken, context=b"row-1")
    with pytest.raises(ValueError, match="empty"):
        SecretBox.derive("", purpose=b"tests/one")


def test_a_sealed_signing_secret_fits_the_column_and_opens_to_the_whsec_form() -> None:
    keys = signing.signing_secrets("application-key")
    endpoint_id = uuid.uuid4()
    secret = signing.new_secret()
    sealed = keys.seal(secret, endpoint_id=endpoint_id)
    assert len(sealed) <= 100
    assert secret.removeprefix("whsec_") not in sealed
    assert keys.open(sealed, endpoint_id=endpoint_id) == secret
    with pytest.raises(signing.SecretUnreadable, match="HAVEN_SECRET_KEY"):
        keys.open(sealed, endpoint_id=uuid.uuid4())
    with pytest.raises(ValueError, match="canonical"):
        keys.seal("whsec_not-base64-of-anything", endpoint_id=endpoint_id)
