"""The one normal form of an email address: what is stored, looked up, compared and limited.

Two spellings that a person reads as the same address must be the same account and share
one failed-login budget: surrounding (Unicode) whitespace, compatibility forms such as
fullwidth letters or ligatures, and letter case all fold away. Every place that stores or
compares an email calls `normalize_email`, so the sign-in lookup and the login limiter can
never disagree about which account an attempt is for.
"""

from __future__ import annotations

import unicodedata


def normalize_email(raw: str) -> str:
    """`raw` in NFKC, case-folded and stripped: " Alice@Example.COM\\u00a0" -> "alice@example.com".

    Idempotent, and the result is itself in NFKC: case folding can decompose a letter
    (e.g. "\u01f0" folds to "j" and a combining caron), so NFKC runs again after it.
    """
    compatible = unicodedata.normalize("NFKC", raw)
    return unicodedata.normalize("NFKC", compatible.casefold()).strip()
