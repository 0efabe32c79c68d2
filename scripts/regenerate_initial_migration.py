"""Rebuild migration 0001 from the models (only while Haven has no released schema).

Usage: python scripts/regenerate_initial_migration.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from haven.db.migrate import MIGRATIONS_DIR, alembic_config

INITIAL = MIGRATIONS_DIR / "versions" / "0001_initial.py"


def main() -> None:
    INITIAL.unlink(missing_ok=True)
    later = sorted(p for p in (MIGRATIONS_DIR / "versions").glob("0*.py") if p != INITIAL)
    parked = {p: p.read_text() for p in later}
    for p in later:
        p.unlink()  # autogenerate must diff the models against an empty database
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'empty.db'}"
            command.revision(
                alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001"
            )
        generated = next((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
        source = generated.read_text().replace("astext_type=Text()", "astext_type=sa.Text()")
        INITIAL.write_text(source)
        generated.unlink()
        subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(INITIAL)], check=False)
        subprocess.run(
            [sys.executable, "-m", "ruff", "check", "-q", "--fix", str(INITIAL)], check=False
        )
    finally:
        for p, text in parked.items():
            p.write_text(text)
    print(f"wrote {INITIAL}")


if __name__ == "__main__":
    main()
