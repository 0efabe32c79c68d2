"""The phrase table (phrases.csv): each line, read at a known moment, means exactly this."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from haven.tasks.quick_add import parse_quick_add

_TABLE = Path(__file__).with_name("phrases.csv")
_NOW = "2026-11-27T09:00:00Z"  # a Friday, 10:00 in Berlin
_ZONE = "Europe/Berlin"


@dataclass(frozen=True)
class Row:
    text: str
    title: str
    due: str
    extra: dict[str, list[str]]


def _rows() -> list[Row]:
    rows: list[Row] = []
    with _TABLE.open(newline="", encoding="utf-8") as file:
        for record in csv.DictReader(file):
            if record["text"].startswith("# "):
                continue  # a comment line
            extra: dict[str, list[str]] = {}
            for pair in record["extra"].split():
                key, _, value = pair.partition("=")
                extra.setdefault(key, []).append(value)
            rows.append(Row(record["text"], record["title"], record["due"], extra))
    return rows


ROWS = _rows()


def test_the_table_is_large_enough_and_has_no_duplicate_cases() -> None:
    assert len(ROWS) >= 150
    cases = [
        (row.text, tuple(row.extra.get("now", [])), tuple(row.extra.get("zone", [])))
        for row in ROWS
    ]
    assert len(cases) == len(set(cases))


def _due_text(due: date | datetime | None) -> str:
    return "" if due is None else due.isoformat()


@pytest.mark.parametrize("row", ROWS, ids=[f"{i:03}:{row.text[:40]}" for i, row in enumerate(ROWS)])
def test_phrase(row: Row) -> None:
    now = datetime.fromisoformat(row.extra.get("now", [_NOW])[0].replace("Z", "+00:00"))
    result = parse_quick_add(row.text, now=now, zone=row.extra.get("zone", [_ZONE])[0])

    assert result.title == row.title
    assert _due_text(result.due) == row.due
    if isinstance(result.due, datetime):
        assert result.due.utcoffset() is not None
    rule = row.extra.get("r", [None])[0]
    assert (result.recurrence.rule if result.recurrence else None) == rule
    if result.recurrence:
        assert result.recurrence.mode == row.extra.get("m", ["due"])[0]
    reminders = [
        str(r.offset_minutes) if r.offset_minutes is not None else "@" + _due_text(r.at)
        for r in result.reminders
    ]
    assert reminders == row.extra.get("rem", [])
    assert result.project == row.extra.get("p", [None])[0]
    assert result.tags == row.extra.get("t", [])
    assert result.priority == row.extra.get("pri", [None])[0]
    # What is not title was understood: every highlight is exact text of the line.
    for span in result.spans:
        assert (
            row.text.encode("utf-16-le")[2 * span.start : 2 * span.end].decode("utf-16-le")
            == span.text
        )
