"""Rules of CONTRIBUTING.md that a machine can check."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "haven"
# SQLAlchemy statement constructors and raw execution; ORM unit-of-work calls are fine.
SQL_CALL = re.compile(r"(?<![.\w])(select|insert|update|delete|text)\(|session\.execute\(")


# Authorization checks: the services make them (accounts.authz, workspaces.access).
AUTHZ_CALL = re.compile(r"\.require\(|\brequire_\w+\(")


def _files(name: str) -> list[Path]:
    return sorted(SRC.rglob(name))


def _domain_modules() -> list[Path]:
    """The modules with a repository.py: accounts, workspaces, tasks, projects, tags, ..."""
    return sorted(path.parent for path in _files("repository.py"))


def _service_files() -> list[Path]:
    """Every file of a domain module but its tables and queries: services, flows, routers.

    Modules keep one service file per subject (tasks/series.py, accounts/sessions.py, ...),
    so the rules cannot look at service.py alone.
    """
    return sorted(
        path
        for module in _domain_modules()
        for path in module.glob("*.py")
        if path.name not in ("repository.py", "models.py", "__init__.py")
    )


def _haven_imports(path: Path) -> list[str]:
    """Every haven module and name a file imports, as dotted paths (a.b.c for from a.b import c)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("haven."):
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("haven.")]
    return found


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


def _calls_itself(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == function.name
        for node in ast.walk(function)
    )


def test_no_function_calls_itself() -> None:
    """User data can nest deeper than Python's stack (1,500 levels of subtasks): walk
    trees with a loop or a recursive CTE, never with recursion."""
    offenders = [
        f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
        for path in sorted(SRC.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _calls_itself(node)
    ]
    assert offenders == []


def _router_imports_of(kind: str) -> dict[str, list[str]]:
    """Per router, the imports of a module's `kind` ("repository" or "models")."""
    found: dict[str, list[str]] = {}
    for path in _files("router.py"):
        hits = [name for name in _haven_imports(path) if kind in name.split(".")]
        if hits:
            found[str(path.relative_to(SRC))] = hits
    return found


def test_routers_do_not_import_repositories() -> None:
    offenders = _router_imports_of("repository")
    assert offenders == {}, "a router calls services; queries belong to them"


def test_routers_do_not_import_tables() -> None:
    assert _router_imports_of("models") == {}, "a router shapes what services return"


def test_routers_leave_authorization_to_services() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in _files("router.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if AUTHZ_CALL.search(line)
    ]
    assert offenders == [], "scope and role checks belong in the services, for every way in"


_IMPORT_EACH_ALONE = """
import importlib, pkgutil, sys, haven
names = sorted(
    m.name for m in pkgutil.walk_packages(haven.__path__, "haven.") if ".migrations." not in m.name
)
for name in names:
    for loaded in [m for m in sys.modules if m == "haven" or m.startswith("haven.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        print(f"{name}: {exc!r}")
"""


@pytest.mark.skipif(
    os.environ.get("HAVEN_TEST_DATABASE") == "postgres",
    reason="needs no database: runs once, in the SQLite pass",
)
def test_every_module_imports_on_its_own() -> None:
    """No import cycle that only the app's import order hides: each module of haven, imported
    first in a fresh set of haven modules, loads (a worker, a CLI command or a test may well
    import it first)."""
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", _IMPORT_EACH_ALONE], capture_output=True, text=True, check=True
    )
    assert result.stdout == "", result.stdout
