"""Tests share factories and helpers through support modules, never through each other."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported_test_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests.")
    ]


def _file_of(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    package = TESTS / relative / "__init__.py"
    return package if package.exists() else (TESTS / relative).with_suffix(".py")


def test_no_test_imports_from_a_test_module_a_conftest_or_a_package() -> None:
    offenders = [
        f"{path.relative_to(TESTS)} imports {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in _imported_test_modules(path)
        if _file_of(module).name.startswith("test_")
        or _file_of(module).name in ("conftest.py", "__init__.py")
    ]
    assert offenders == [], "put shared test code in tests/factories.py or tests/support.py"
