"""docs/benchmarks.md holds one section per benchmark, each between its own two markers; a
run replaces its own section and keeps the others."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, name: str, command: str, report: str) -> None:
    """Put `report` in place of the section `name` (between its markers), or append it."""
    start = f"<!-- {name}: start (written by {command}) -->"
    end = f"<!-- {name}: end -->"
    block = f"{start}\n{report.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        before = text[: text.index(start)]
        after = text[text.index(end) + len(end) :].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
