"""Accessibility check points for the browser journeys: axe-core on the page as it is now, at
desktop width and at 390 px, and the test fails on any violation (issue 13, item 7).

A journey calls ``check_a11y(page)`` after each page it reaches (explicit check points: nothing
listens to navigations, so the journey's own clicks and waits are untouched). The check runs
axe-core (``tests/e2e/package-lock.json``, installed by ``scripts/bootstrap.sh`` with ``npm ci``)
in the page through Playwright's ``evaluate`` — the app's CSP forbids inline scripts, which a
``<script>`` tag would be, while an evaluation through the DevTools protocol is not a page script —
then resizes the viewport to the other width, checks again and puts the size back.

Without axe-core the checks skip on a developer's machine and fail under ``CI=true``. With
``A11Y_REPORT=<file>`` violations are appended to that file as JSON lines instead of failing
(to survey every page in one run while fixing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from functools import cache
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent
AXE = E2E / "node_modules" / "axe-core" / "axe.min.js"
CI = os.environ.get("CI", "").lower() == "true"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

#: The rules axe runs: WCAG 2.0/2.1/2.2 A and AA and axe's best practices.
RUN_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}

_RUN = """async (options) => {
  const result = await axe.run(document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
    count: v.nodes.length,
  }));
}"""


@cache
def axe_source() -> str | None:
    """axe.min.js (installed with ``npm ci`` when missing and npm is there), else ``None``."""
    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(
            ["npm", "ci", "--prefix", str(E2E), "--no-audit", "--no-fund", "--loglevel=error"],
            check=CI,
            capture_output=True,
        )
    return AXE.read_text() if AXE.exists() else None


def _violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(_RUN, RUN_OPTIONS)


def describe(url: str, width: int, violations: list[dict]) -> str:
    """Violations as lines a developer can act on."""
    lines = [f"{url} at {width} px:"]
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}, {v['count']} element(s)): {v['help']}")
        for n in v["nodes"]:
            summary = " ".join((n["summary"] or "").split())
            lines.append(f"    {n['target']}: {summary[:300]}")
    return "\n".join(lines)


def check_a11y(page, name: str = "") -> None:
    """Run axe-core on ``page`` at desktop width and at 390 px; fail on any violation."""
    if axe_source() is None:
        message = f"axe-core is not installed ({AXE}): run scripts/bootstrap.sh"
        if CI:
            pytest.fail(message + " (CI=true: the accessibility checks must run)")
        warnings.warn(message, stacklevel=2)
        return
    size = page.viewport_size or DESKTOP
    found = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        violations = _violations(page)
        if violations:
            found.append((viewport["width"], violations))
    page.set_viewport_size(size)
    if not found:
        return
    report = os.environ.get("A11Y_REPORT")
    if report:
        with open(report, "a") as out:
            for width, violations in found:
                out.write(
                    json.dumps(
                        {"url": page.url, "name": name, "width": width, "violations": violations}
                    )
                    + "\n"
                )
        return
    pytest.fail(
        "accessibility violations (axe-core):\n"
        + "\n".join(describe(page.url, width, v) for width, v in found),
        pytrace=False,
    )
