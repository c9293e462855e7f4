"""The core stays pure (docs/architecture.md rule 1): allowed imports only, no I/O, no clock.

Every module under ``scoring/core/`` is checked (a new module is picked up on its own). The
check reads the source with ``ast`` (nothing is imported), so a forbidden import fails here even
if the package that provides it is installed.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "scoring" / "core"
PURE_MODULES = sorted(p.relative_to(ROOT).as_posix() for p in CORE.rglob("*.py"))

#: Pure standard-library modules the core may use (no I/O, clock, randomness or config).
STDLIB_ALLOWED = {
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "itertools",
    "json",
    "math",
    "numbers",
    "operator",
    "re",
    "statistics",
    "typing",
}
THIRD_PARTY_ALLOWED = {"numpy"}
#: Inside the project, the core may import only itself.
INTERNAL_PREFIX = "scoring.core"
#: Calls that would mean I/O, a clock, randomness or dynamic code.
FORBIDDEN_CALLS = {"open", "print", "input", "eval", "exec", "compile", "__import__", "breakpoint"}
FORBIDDEN_ATTRIBUTES = {
    "now",
    "utcnow",
    "today",
    "time",
    "perf_counter",
    "monotonic",
    "random",
    "getenv",
    "environ",
    "system",
}


def imported_modules(tree: ast.AST, package: str = "scoring") -> list[str]:
    """Every module an AST imports, absolute names (relative imports resolved from ``package``,
    the package the module lives in)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = anchor + (f".{base}" if base else "")
                names += [base] if node.module else [f"{anchor}.{a.name}" for a in node.names]
            else:
                names.append(base)
    return names


def package_of(path: str) -> str:
    """``scoring/core/ranking/policy.py`` → ``scoring.core.ranking``."""
    parts = Path(path).with_suffix("").parts
    return ".".join(parts[:-1])


def forbidden_imports(source: str, package: str = "scoring.core") -> list[str]:
    bad = []
    for name in imported_modules(ast.parse(source), package):
        top = name.split(".")[0]
        internal = name == INTERNAL_PREFIX or name.startswith(INTERNAL_PREFIX + ".")
        if internal or top in STDLIB_ALLOWED or top in THIRD_PARTY_ALLOWED:
            continue
        bad.append(name)
    return bad


def forbidden_uses(source: str) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FORBIDDEN_CALLS
        ):
            bad.append(f"{node.func.id}() at line {node.lineno}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            bad.append(f".{node.attr} at line {node.lineno}")
    return bad


@pytest.mark.parametrize("path", PURE_MODULES)
def test_pure_module_imports_only_the_allow_list(path):
    source = (ROOT / path).read_text(encoding="utf-8")
    assert forbidden_imports(source, package_of(path)) == []


def test_every_core_module_is_checked():
    assert {
        "scoring/core/assignment.py",
        "scoring/core/reliability.py",
        "scoring/core/rubric.py",
        "scoring/core/explain.py",
    } <= set(PURE_MODULES)
    assert any(p.startswith("scoring/core/ranking/") for p in PURE_MODULES)


@pytest.mark.parametrize("path", PURE_MODULES)
def test_pure_module_has_no_io_clock_or_randomness(path):
    assert forbidden_uses((ROOT / path).read_text(encoding="utf-8")) == []


def test_allowed_standard_modules_are_really_standard():
    assert STDLIB_ALLOWED <= set(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.parametrize(
    "source",
    [
        "import flask",
        "from flask import current_app",
        "import sqlalchemy.orm",
        "from scoring.models import Application",
        "from scoring import extensions",
        "from ..models import Review",
        "from .. import extensions",
        "from scoring.services import queries",
        "import os",
        "import time",
        "import random",
        "from pathlib import Path",
        "import celery",
    ],
)
def test_the_checker_catches_forbidden_imports(source):
    assert forbidden_imports(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "import numpy as np",
        "from decimal import Decimal",
        "from collections.abc import Mapping",
        "from scoring.core.rubric import Rubric",
        "from .explain import render_explanation",
        "from scoring.core.ranking.registry import TIE_BREAKERS",
        "from __future__ import annotations",
    ],
)
def test_the_checker_allows_the_allow_list(source):
    assert forbidden_imports(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "open('x')",
        "print(1)",
        "datetime.now()",
        "datetime.utcnow()",
        "time.time()",
        "np.random.default_rng()",
        "os.environ['X']",
    ],
)
def test_the_checker_catches_io_clock_and_randomness(source):
    assert forbidden_uses(source) != []
