"""The core (domain, db, services, pdf) must run without Qt: a headless CLI, tests, servers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import referral_desk

PACKAGE = Path(referral_desk.__file__).parent
CORE = ("domain", "db", "services", "pdf")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_core_module_imports_qt() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for layer in CORE
        for path in (PACKAGE / layer).rglob("*.py")
        if any(name.split(".")[0] in {"PySide6", "shiboken6"} for name in _imports(path))
    ]
    assert offenders == []


def test_the_domain_needs_neither_sqlalchemy_nor_the_other_layers() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "domain").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] == "sqlalchemy"
        or any(name.startswith(f"referral_desk.{layer}") for layer in ("db", "services", "ui"))
    ]
    assert offenders == []


def test_importing_the_whole_core_and_cli_loads_no_qt() -> None:
    modules = [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for layer in CORE
        for path in (PACKAGE / layer).rglob("*.py")
        if "migrations" not in path.parts
    ] + ["referral_desk.cli"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
