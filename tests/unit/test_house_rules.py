"""Rules of CONTRIBUTING.md that a machine can check."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "haven"
# SQLAlchemy statement constructors and raw execution; ORM unit-of-work calls are fine.
SQL_CALL = re.compile(r"(?<![.\w])(select|insert|update|delete|text)\(|session\.execute\(")


# Modules whose every file but repository.py and models.py is a service, flow or router
# (tasks keeps one service file per aggregate: series.py, timers.py, ...).
SPLIT_MODULES = ("tasks", "projects", "tags")


def _files(name: str) -> list[Path]:
    return sorted(SRC.rglob(name))


def _service_files() -> list[Path]:
    """Every service.py, and every rules file of the split modules."""
    found = set(_files("service.py"))
    for module in SPLIT_MODULES:
        found.update(
            path
            for path in (SRC / module).glob("*.py")
            if path.name not in ("repository.py", "models.py", "__init__.py")
        )
    return sorted(found)


def test_no_sql_in_routers_or_services() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted({*_files("router.py"), *_service_files()})
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SQL_CALL.search(line)
    ]
    assert offenders == [], "SQL belongs in repository.py"


def test_services_never_commit() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in _service_files()
        if re.search(r"\.commit\(\)", path.read_text())
    ]
    assert offenders == [], "the request or job owns the transaction"


def test_services_raise_domain_errors_not_http_exceptions() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in _service_files()
        if "HTTPException" in path.read_text()
    ]
    assert offenders == []


def test_modules_do_not_import_each_others_repositories() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = path.relative_to(SRC).parts[0]
        for match in re.finditer(
            r"from haven\.(\w+) import repository|haven\.(\w+)\.repository", path.read_text()
        ):
            owner = match.group(1) or match.group(2)
            if owner != module:
                offenders.append(f"{path.relative_to(SRC)} uses {owner}.repository")
    assert offenders == [], "use the other module's service"
