"""The layers hold: no service and no domain exception imports Flask (they read the running app
through ``scoring.runtime``), so the same services serve the web, the CLI and the worker.

Like ``test_purity.py``, the check reads the source with ``ast`` (nothing is imported).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted((ROOT / "scoring" / "services").rglob("*.py"))
#: The web framework and its extensions: a service importing one of these is a view in disguise.
WEB = {"flask", "flask_login", "flask_wtf", "werkzeug", "wtforms"}


def web_imports(source: str) -> list[str]:
    """Every import of a web package in ``source`` (``import flask``, ``from flask import g`` …)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.append(node.module or "")
    return [n for n in names if n.split(".")[0] in WEB]


def test_there_are_services_to_check():
    assert len(SERVICES) > 10


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_service_imports_flask(path):
    assert web_imports(path.read_text(encoding="utf-8")) == []


def test_domain_errors_import_no_flask():
    assert web_imports((ROOT / "scoring" / "errors.py").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import flask",
        "from flask import current_app",
        "import werkzeug.exceptions",
        "from flask_login import current_user",
        "from wtforms import StringField",
    ],
)
def test_the_checker_catches_web_imports(source):
    assert web_imports(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "from scoring.runtime import render_text",
        "import flaskish",
        "from scoring.errors import InputError",
    ],
)
def test_the_checker_allows_the_rest(source):
    assert web_imports(source) == []


#: docs/architecture.md: one obvious place for each concept, and no module a newcomer must scroll.
MAX_MODULE_LINES = 400
MODULES = sorted([*(ROOT / "scoring").rglob("*.py"), *(ROOT / "workers").rglob("*.py")])


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in MODULES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}
