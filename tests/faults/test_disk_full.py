"""A full upload directory (a small tmpfs): a clear message, nothing half-written (issue 11)."""

from __future__ import annotations

import io
import os
import subprocess

import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import Attachment
from tests import apply_helpers as h
from tests.faults.conftest import _missing


@pytest.fixture
def full_dir(tmp_path):
    """A 64 KiB tmpfs filled to the last byte."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    if os.geteuid() != 0:
        _missing("mounting a tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    try:
        with open(folder / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"x" * 1024)
            except OSError:
                pass
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_disk_full_on_upload_is_a_clear_message_and_leaves_no_partial_file(app, client, full_dir):
    app.config["UPLOAD_DIR"] = full_dir
    world = h.make_world(app)
    token = h.login(client, world.emails["applicant"])
    draft = h.create_draft(client, world, token)
    response = client.post(
        f"/apply/applications/{draft}/attachments",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(h.minimal_pdf(pages=3)), "plan.pdf")},
    )
    assert response.status_code == 400
    assert "no room to store the file" in h.text(response)
    assert sorted(p.name for p in full_dir.iterdir()) == ["filler"]  # no .part left behind
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
