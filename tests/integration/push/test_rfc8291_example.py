"""RFC 8291 Appendix A, the worked example: the test push service's decryption undoes it,
and Haven's encryption, given the example's keys and salt, makes exactly its message."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from haven.notifications.push import encrypt
from tests.integration.push.service import Browser, b64url, decrypt, unb64url

PLAINTEXT = b"When I grow up, I want to be a watermelon"
SENDER_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
BROWSER_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
BROWSER_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
AUTH_SECRET = "BTBZMqHH6r4Tts7J_aSIgg"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
MESSAGE = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInm"
    "YWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQ"
    "exSgSxsj_Qulcy4a-fN"
)


def _key(text: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(unb64url(text), "big"), ec.SECP256R1())


BROWSER = Browser(_key(BROWSER_PRIVATE), unb64url(AUTH_SECRET))


def test_the_test_service_decrypts_the_rfc_example() -> None:
    assert BROWSER.p256dh == BROWSER_PUBLIC
    assert decrypt(unb64url(MESSAGE), BROWSER) == PLAINTEXT


def test_haven_encrypts_the_rfc_example_exactly() -> None:
    body = encrypt(
        PLAINTEXT,
        p256dh=unb64url(BROWSER_PUBLIC),
        auth=unb64url(AUTH_SECRET),
        sender_key=_key(SENDER_PRIVATE),
        salt=unb64url(SALT),
    )

    assert b64url(body) == MESSAGE
