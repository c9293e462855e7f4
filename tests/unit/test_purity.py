"""The core stays pure (docs/architecture.md rule 1): allowed imports only, no I/O, no clock.

The check reads the source with ``ast`` (nothing is imported), so a forbidden import fails
here even if the package that provides it is installed.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = ["scoring/rubric.py", "scoring/ranking.py", "scoring/explain.py"]

#: Pure standard-library modules the core may use (no I/O, clock, randomness or config).
STDLIB_ALLOWED = {
    "__future__", "bisect", "collections", "dataclasses", "datetime", "decimal", "enum",
    "fractions", "functools", "hashlib", "itertools", "json", "math", "numbers", "operator",
    "re", "statistics", "typing",
}
THIRD_PARTY_ALLOWED = {"numpy"}
INTERNAL_ALLOWED = {"scoring.rubric", "scoring.ranking", "scoring.explain"}
#: Calls that would mean I/O, a clock, randomness or dynamic code.
FORBIDDEN_CALLS = {"open", "print", "input", "eval", "exec", "compile", "__import__",
                   "breakpoint"}
FORBIDDEN_ATTRIBUTES = {"now", "utcnow", "today", "time", "perf_counter", "monotonic",
                        "random", "getenv", "environ", "system"}


def imported_modules(tree: ast.AST) -> list[str]:
    """Every module an AST imports, absolute names (relative imports resolved in scoring)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "scoring" + (f".{base}" if base else "")
                names += [base] if node.module else [f"scoring.{a.name}" for a in node.names]
            else:
                names.append(base)
    return names


def forbidden_imports(source: str) -> list[str]:
    bad = []
    for name in imported_modules(ast.parse(source)):
        top = name.split(".")[0]
        if name in INTERNAL_ALLOWED or top in STDLIB_ALLOWED or top in THIRD_PARTY_ALLOWED:
            continue
        bad.append(name)
    return bad


def forbidden_uses(source: str) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FORBIDDEN_CALLS:
            bad.append(f"{node.func.id}() at line {node.lineno}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            bad.append(f".{node.attr} at line {node.lineno}")
    return bad


@pytest.mark.parametrize("path", PURE_MODULES)
def test_pure_module_imports_only_the_allow_list(path):
    assert forbidden_imports((ROOT / path).read_text(encoding="utf-8")) == []


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
        "from .models import Review",
        "from . import extensions",
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
        "from scoring.rubric import Rubric",
        "from .explain import render_explanation",
        "from __future__ import annotations",
    ],
)
def test_the_checker_allows_the_allow_list(source):
    assert forbidden_imports(source) == []


@pytest.mark.parametrize(
    "source",
    ["open('x')", "print(1)", "datetime.now()", "datetime.utcnow()", "time.time()",
     "np.random.default_rng()", "os.environ['X']"],
)
def test_the_checker_catches_io_clock_and_randomness(source):
    assert forbidden_uses(source) != []
