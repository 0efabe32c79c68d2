"""The ``haven`` command end to end, on throwaway SQLite files (whatever the test backend)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from alembic.script import ScriptDirectory
from typer.testing import CliRunner, Result

from haven.cli import app
from haven.db.migrate import alembic_config

COMMANDS = ["serve", "migrate", "createsuperuser", "seed", "export", "import"]


@pytest.fixture(autouse=True)
def _keep_logging_config() -> Iterator[None]:
    # The commands point structlog at the runner's stderr, which closes after each run.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


class Haven:
    """Runs ``haven`` against one SQLite database in a temporary data folder."""

    def __init__(self, root: Path, name: str) -> None:
        self.path = root / f"{name}.db"
        self.url = f"sqlite+aiosqlite:///{self.path}"
        self.env = {
            "HAVEN_DATA_DIR": str(root / "data"),
            "HAVEN_DATABASE_URL": self.url,
            "HAVEN_LOG_LEVEL": "WARNING",
        }

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env, input=input)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as connection:
            return connection.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        return self.query(sql, *params)[0][0]


@pytest.fixture
def haven(tmp_path: Path) -> Haven:
    return Haven(tmp_path, "one")


@pytest.fixture
def migrated(haven: Haven) -> Haven:
    result = haven("migrate")
    assert result.exit_code == 0, result.output
    return haven


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(haven: Haven, command: str | None) -> None:
    result = ok(haven(*([command] if command else []), "--help"))
    assert "Usage" in result.output
    if command is None:
        assert all(name in result.output for name in COMMANDS)


def test_python_dash_m_haven_runs_the_same_app() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "haven", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "createsuperuser" in result.stdout


def test_serve_help_documents_its_options(haven: Haven) -> None:
    output = ok(haven("serve", "--help")).output
    for option in ("--host", "--port", "--reload", "--workers", "--migrate", "--no-worker"):
        assert option in output


def test_migrate_up_down_and_up(haven: Haven) -> None:
    head = ScriptDirectory.from_config(alembic_config(haven.url)).get_current_head()
    result = ok(haven("migrate"))
    assert haven.url in result.output
    assert haven.scalar("select version_num from alembic_version") == head
    ok(haven("migrate", "--downgrade", "0001"))
    assert haven.scalar("select version_num from alembic_version") == "0001"
    ok(haven("migrate", "--revision", "head"))
    assert haven.scalar("select version_num from alembic_version") == head


def test_migrate_masks_the_password_and_fails_cleanly(haven: Haven) -> None:
    url = "postgresql+asyncpg://haven:s3cret-pw@127.0.0.1:1/haven"
    result = haven("migrate", "--database-url", url)
    assert result.exit_code == 1
    assert "s3cret-pw" not in result.output
    assert "haven:***@127.0.0.1:1/haven" in result.output
    assert "migration failed" in result.output


def test_createsuperuser(migrated: Haven) -> None:
    args = ["createsuperuser", "--no-input", "--email", "Admin@Example.com"]
    ok(
        migrated(
            *args, "--password", "correct horse", "--name", "Ada", "--timezone", "Europe/Paris"
        )
    )
    assert migrated.query("select email, name, timezone, is_superuser from users") == [
        ("admin@example.com", "Ada", "Europe/Paris", 1)
    ]
    assert migrated.scalar("select count(*) from workspaces where is_personal") == 1

    duplicate = migrated(*args, "--password", "another password")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output

    missing = migrated("createsuperuser", "--no-input", "--email", "x@example.com")
    assert missing.exit_code == 2
    assert "--password" in missing.output

    weak = migrated("createsuperuser", "--no-input", "--email", "y@example.com", "--password", "x")
    assert weak.exit_code == 2

    prompted = migrated(
        "createsuperuser", input="eve@example.com\nsecret-pw\nsecret-pw\nEve\nUTC\n"
    )
    ok(prompted)
    assert "secret-pw" not in prompted.output
    assert migrated.scalar("select is_superuser from users where email = 'eve@example.com'") == 1


def test_commands_on_an_unmigrated_database_fail_cleanly(haven: Haven) -> None:
    result = haven(
        "createsuperuser", "--no-input", "--email", "a@example.com", "--password", "p" * 8
    )
    assert result.exit_code == 1
    assert "haven migrate" in result.output


def test_seed_once(migrated: Haven) -> None:
    result = ok(migrated("seed", "--tasks", "30"))
    assert "demo@haven.local" in result.output
    assert "curl" in result.output
    assert "http://127.0.0.1:8000/docs" in result.output
    tasks_made = migrated.scalar("select count(*) from tasks")
    # 30 asked for, plus the next occurrences of completed recurring tasks.
    assert 30 < tasks_made <= 34
    assert migrated.scalar("select count(*) from projects") == 4
    assert migrated.scalar("select count(*) from tasks where recurrence_rule is not null") >= 4
    assert migrated.scalar("select count(*) from tasks where recurrence_mode = 'completion'") >= 1
    assert migrated.scalar("select count(*) from tasks where recurrence_text is not null") >= 2
    assert migrated.scalar("select count(*) from tasks where status = 'done'") >= 3
    assert migrated.scalar("select count(*) from tasks where parent_id is not null") >= 3
    assert migrated.scalar("select count(*) from task_tags") >= 10
    assert migrated.scalar("select count(*) from task_dependencies") >= 1
    assert migrated.scalar("select count(*) from reminders") >= 1
    assert migrated.scalar("select count(*) from tasks where due_is_date") >= 1
    assert migrated.scalar(
        "select count(*) from tasks where due_at is not null and not due_is_date"
    )
    assert migrated.scalar("select count(*) from events where type = 'haven.task.completed'") >= 3
    events = migrated.scalar("select count(*) from events")

    again = ok(migrated("seed", "--tasks", "30"))
    assert "already exists" in again.output
    assert migrated.scalar("select count(*) from tasks") == tasks_made
    assert migrated.scalar("select count(*) from events") == events


def test_export_then_import_into_another_database(migrated: Haven, tmp_path: Path) -> None:
    ok(migrated("seed", "--tasks", "30", "--email", "demo@example.com"))
    workspace_id = str(uuid.UUID(migrated.scalar("select id from workspaces")))
    backup = tmp_path / "backups" / "demo.json"

    ok(migrated("export", workspace_id, "-o", str(backup)))
    document = json.loads(backup.read_text())
    assert document["format"] == "haven.workspace-export"
    assert document["workspace"]["id"] == workspace_id
    assert len(document["tasks"]) == migrated.scalar("select count(*) from tasks")
    streamed = json.loads(ok(migrated("export", workspace_id)).stdout)
    assert {k: v for k, v in streamed.items() if k != "exported_at"} == {
        k: v for k, v in document.items() if k != "exported_at"
    }
    missing = migrated("export", str(uuid.uuid4()))
    assert missing.exit_code == 1
    assert "not found" in missing.output

    other = Haven(tmp_path, "two")
    ok(other("migrate"))
    ok(other("createsuperuser", "--no-input", "--email", "demo@example.com", "--password", "p" * 8))
    result = ok(other("import", str(backup)))
    assert "personal workspace" in result.output  # the demo user already has one here
    # --database-url wins over HAVEN_DATABASE_URL (which names the first database here).
    copied = ok(migrated("export", workspace_id, "--database-url", other.url)).stdout
    assert [t["id"] for t in json.loads(copied)["tasks"]] == [t["id"] for t in document["tasks"]]
    # The history came along; after it, the import's own event for each object it made.
    assert other.scalar(
        "select count(*) from events where workspace_id = ? and actor != 'system/import'",
        workspace_id.replace("-", ""),
    ) == len(document["events"])
    assert other.scalar(
        "select count(*) from events where workspace_id = ? and type = 'haven.task.created'"
        " and actor = 'system/import'",
        workspace_id.replace("-", ""),
    ) == len(document["tasks"])

    twice = other("import", str(backup))
    assert twice.exit_code == 1
    assert "already exists" in twice.output


def test_import_refuses_files_that_are_not_exports(migrated: Haven, tmp_path: Path) -> None:
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello")
    result = migrated("import", str(not_json))
    assert result.exit_code == 1
    assert "not a JSON document" in result.output

    wrong = tmp_path / "other.json"
    wrong.write_text(json.dumps({"format": "haven.workspace-export", "version": 99}))
    result = migrated("import", str(wrong))
    assert result.exit_code == 1
    assert "version 99" in result.output
    assert migrated.scalar("select count(*) from workspaces") == 0
