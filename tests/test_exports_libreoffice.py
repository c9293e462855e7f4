"""The award list and score detail as LibreOffice prints them: each XLSX and the PDF converted
by LibreOffice headless (Debian's libreoffice-calc-nogui) to PDF, then to PNG with pdftoppm; no
cell prints as "###" (a column too narrow for its number) and the money shows in full."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CI
from tests.staff_world import PREPARER, build, login

TOOLS = ("libreoffice", "pdftoppm", "pdftotext")


@pytest.fixture
def tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        message = f"not installed: {', '.join(missing)} (libreoffice-calc-nogui, poppler-utils)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


def printed(path: Path, tmp_path: Path) -> str:
    """LibreOffice's print of ``path`` (via PDF) as text; its pages are also drawn as PNG."""
    pdf = path
    if path.suffix != ".pdf":
        subprocess.run(
            [
                "libreoffice",
                f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path / "out"),
                str(path),
            ],
            check=True,
            capture_output=True,
            timeout=180,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        pdf = tmp_path / "out" / (path.stem + ".pdf")
    assert pdf.exists(), f"LibreOffice made no PDF of {path.name}"
    prefix = tmp_path / "png" / path.stem
    prefix.parent.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(prefix)], check=True, timeout=120)
    assert list(prefix.parent.glob(path.stem + "*.png")), "pdftoppm drew no page"
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60
    )
    return out.stdout.decode("utf-8")


def test_no_cell_prints_as_hashes(app, tools, tmp_path):
    world = build(app)
    staff = login(app, PREPARER)
    files = {}
    for name in ("awards.xlsx", "awards.pdf", "scores.xlsx"):
        response = staff.get(f"/staff/runs/{world.run_id}/export/{name}")
        assert response.status_code == 200
        files[name] = tmp_path / f"run-{name}"
        files[name].write_bytes(response.data)
    for name, path in files.items():
        text = printed(path, tmp_path)
        assert "###" not in text, name
        if name.startswith("awards"):
            compact = " ".join(text.split())
            for amount in ("$300,000.00", "$250,000.00", "$350,000.00", "$1,720,000.00"):
                assert amount in compact, (name, amount)
            assert "district limit of 2 awards reached" in compact
        else:
            assert "need.data" in text and "T-001" in text
