"""The one rule for short, one-line text people type: titles, project names, tag names."""

from __future__ import annotations

import unicodedata

# Characters that never carry meaning in a one-line name, wherever they stand: zero-width
# space, word joiner, byte-order mark, soft hyphen, Mongolian vowel separator, invisible
# math operators, and control characters other than whitespace (whitespace is collapsed).
# Joiners (ZWJ, ZWNJ) are not here: inside a word they shape emoji and scripts such as
# Persian or Hindi, so they go only where they touch a space or an end.
_NEVER_MEANINGFUL = dict.fromkeys(
    [
        0x200B,
        0x2060,
        0xFEFF,
        0x00AD,
        0x180E,
        *range(0x2061, 0x2065),
        *(code for code in [*range(0x20), *range(0x7F, 0xA0)] if not chr(code).isspace()),
    ]
)


def _is_invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def _trim_invisible(word: str) -> str:
    start, end = 0, len(word)
    while start < end and _is_invisible(word[start]):
        start += 1
    while end > start and _is_invisible(word[end - 1]):
        end -= 1
    return word[start:end]


def one_line(value: str) -> str:
    """The text as stored: NFC, invisible characters out, runs of whitespace as one space.

    Raises ValueError when nothing visible is left, so " ", "\\u200b" or "\\u200d " are
    refused like an empty string.
    """
    text = unicodedata.normalize("NFC", value).translate(_NEVER_MEANINGFUL)
    words = [word for word in (_trim_invisible(raw) for raw in text.split()) if word]
    if not words:
        raise ValueError("must contain visible text")
    return " ".join(words)
