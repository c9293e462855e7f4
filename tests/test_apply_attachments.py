"""PDF attachments: checked by content, a size limit (413), stored outside the web root under
generated names, and downloaded (as an attachment, sandboxed) only by those allowed to."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Attachment, AuditEvent, ReviewerAssignment, User
from scoring.models._types import utcnow
from tests import apply_helpers as h


@pytest.fixture
def world(app):
    return h.make_world(app)


@pytest.fixture
def applicant(client, world):
    return h.login(client, world.emails["applicant"])


@pytest.fixture
def draft(client, world, applicant):
    return h.create_draft(client, world, applicant)


def _upload(client, app_id, token, data: bytes, name="plan.pdf"):
    return client.post(
        f"/apply/applications/{app_id}/attachments",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
    )


def _stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def _encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_is_stored_under_a_generated_name_outside_the_web_root(app, client, applicant, draft):
    pdf = h.minimal_pdf(pages=2)
    response = _upload(client, draft, applicant, pdf, name="../../etc/passwd.pdf")
    assert response.status_code == 302
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert re.fullmatch(r"[0-9a-f]{32}", attachment.stored_name)
        assert attachment.filename == "passwd.pdf" and attachment.size == len(pdf)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.add"))
        assert event.after["sha256"] == attachment.sha256
    [stored] = _stored_files(app)
    assert stored.name == attachment.stored_name and stored.read_bytes() == pdf
    static = Path(app.static_folder).resolve()
    assert static not in stored.resolve().parents
    assert "passwd.pdf" in h.text(client.get(f"/apply/applications/{draft}"))


def test_the_download_is_an_attachment_with_nosniff_and_a_sandbox(app, client, applicant, draft):
    pdf = h.minimal_pdf()
    _upload(client, draft, applicant, pdf, name="Budget narrative.pdf")
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    response = client.get(f"/apply/applications/{draft}/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == pdf
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Budget narrative.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert "no-store" in response.headers["Cache-Control"]


def _truncated() -> bytes:
    pdf = h.minimal_pdf(pages=3)
    return pdf[: len(pdf) // 2]


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


@pytest.mark.parametrize(
    "make, name, message",
    [
        (lambda: PNG, "photo.pdf", "This file is not a PDF (whatever its name says)."),
        (lambda: b"<html><script>alert(1)</script></html>", "page.pdf", "This file is not a PDF"),
        (lambda: b"PK\x03\x04" + b"\0" * 100, "archive.pdf", "This file is not a PDF"),
        (_truncated, "cut.pdf", "This PDF is incomplete"),
        (
            lambda: b"%PDF-1.7\n garbage that is not a pdf \n%%EOF\n",
            "fake.pdf",
            "This PDF cannot be read",
        ),
        (_encrypted_pdf, "locked.pdf", "This PDF is password-protected"),
        (lambda: b"", "empty.pdf", "The file is empty."),
    ],
)
def test_only_real_pdfs_are_accepted_whatever_the_name(
    app, client, applicant, draft, make, name, message
):
    state, counts = h.application_state(app, draft), h.row_counts(app)
    response = _upload(client, draft, applicant, make(), name=name)
    assert response.status_code == 400
    assert message in h.text(response)
    assert "This draft is complete" not in h.text(response)  # never green after a refusal
    assert h.application_state(app, draft) == state and h.row_counts(app) == counts
    assert _stored_files(app) == []


def test_a_pdf_named_otherwise_is_still_a_pdf(app, client, applicant, draft):
    assert _upload(client, draft, applicant, h.minimal_pdf(), name="scan.PNG").status_code == 302


def test_over_the_size_limit_is_413_and_nothing_is_written(app, client, applicant, draft):
    counts = h.row_counts(app)
    big = b"%PDF-1.7\n" + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    response = _upload(client, draft, applicant, big, name="huge.pdf")
    assert response.status_code == 413
    assert "The upload is too large: the limit is 20 MB." in h.text(response)
    assert _stored_files(app) == [] and h.row_counts(app) == counts


def test_no_file_chosen_says_so(client, applicant, draft):
    response = client.post(
        f"/apply/applications/{draft}/attachments", data={"csrf_token": applicant}
    )
    assert "Choose a PDF file to upload." in h.text(client.get(response.headers["Location"]))


def test_removing_a_file_deletes_it_after_the_commit(app, client, applicant, draft):
    _upload(client, draft, applicant, h.minimal_pdf())
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    assert len(_stored_files(app)) == 1
    response = client.post(
        f"/apply/applications/{draft}/attachments/{attachment_id}/remove",
        data={"csrf_token": applicant},
    )
    assert response.status_code == 302
    assert _stored_files(app) == [] and h.row_counts(app)["attachment"] == 0
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.remove"))


def test_files_are_frozen_after_submission(app, client, world, applicant, draft):
    _upload(client, draft, applicant, h.minimal_pdf())
    client.post(
        f"/apply/applications/{draft}",
        data=h.valid_form(world, csrf_token=applicant, submit_app="1"),
    )
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    counts = h.row_counts(app)
    assert _upload(client, draft, applicant, h.minimal_pdf()).status_code == 409
    remove = client.post(
        f"/apply/applications/{draft}/attachments/{attachment_id}/remove",
        data={"csrf_token": applicant},
    )
    assert remove.status_code == 409
    assert h.row_counts(app) == counts and len(_stored_files(app)) == 1
    assert client.get(f"/apply/applications/{draft}/attachments/{attachment_id}").status_code == 200


def test_at_most_ten_files(app, client, applicant, draft):
    pdf = h.minimal_pdf()
    codes = [
        _upload(client, draft, applicant, pdf, name=f"f{n}.pdf").status_code for n in range(11)
    ]
    assert codes == [302] * 10 + [409]
    assert h.row_counts(app)["attachment"] == 10


def test_who_may_download(app, client, world, applicant, draft):
    _upload(client, draft, applicant, h.minimal_pdf())
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    url = f"/apply/applications/{draft}/attachments/{attachment_id}"
    assert app.test_client().get(url).status_code == 302  # anonymous: sign in first

    def status(who: str) -> int:
        other = app.test_client()
        h.login(other, world.emails[who])
        return other.get(url).status_code

    assert status("colleague") == 200  # same district
    assert status("staff") == 200
    assert status("other") == 404  # another district
    assert status("reviewer") == 404  # not assigned
    with app.app_context():
        reviewer = db.session.scalar(select(User).where(User.email == world.emails["reviewer"]))
        assignment = ReviewerAssignment(application_id=draft, reviewer_id=reviewer.id)
        db.session.add(assignment)
        db.session.commit()
    assert status("reviewer") == 404  # assigned, but has not declared "no conflict"
    with app.app_context():
        db.session.scalar(select(ReviewerAssignment)).no_conflict_declared_at = utcnow()
        db.session.commit()
    # Issue 12: reviewers never use the district's route (it sends the school's file name);
    # they read assigned files through /review only.
    assert status("reviewer") == 404
    assert client.get(f"/apply/applications/{draft}/attachments/999").status_code == 404


# --------------------------------------------------------------------------- issue 12


def _pdf_with(change) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(h.minimal_pdf()))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _open_action(kind: str, key: str, value: str):
    """A writer change: the document's /OpenAction is an action of type ``kind``."""
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    def change(writer):
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject(kind), NameObject(key): TextStringObject(value)}
        )

    return change


_launch = _open_action("/Launch", "/F", "calc.exe")
_javascript = _open_action("/JavaScript", "/JS", "app.alert(1);")


def _escaped_javascript() -> bytes:
    """JavaScript whose name is written /J#61vaScript, invisible to a plain byte search."""
    data = _pdf_with(_javascript)
    data = data.replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/J#53 ")
    assert b"/JavaScript" not in data
    return data


@pytest.mark.parametrize(
    "make, what",
    [
        (lambda: _pdf_with(_javascript), "JavaScript"),
        (lambda: _pdf_with(lambda w: w.add_attachment("x.exe", b"MZ")), "embedded files"),
        (lambda: _pdf_with(_launch), "a launch action"),
        (_escaped_javascript, "JavaScript"),
    ],
)
def test_a_pdf_with_active_content_is_refused(app, client, applicant, draft, make, what):
    before = h.row_counts(app)
    response = _upload(client, draft, applicant, make())
    assert response.status_code == 400
    assert f"active content ({what})" in h.text(response)
    assert h.row_counts(app) == before and _stored_files(app) == []


@pytest.mark.parametrize(
    "name, stored",
    [
        ("polyglot.html", "polyglot.html.pdf"),
        ("plan.PDF", "plan.pdf"),
        ("noext", "noext.pdf"),
        (".pdf", "pdf.pdf"),
    ],
)
def test_attachments_are_stored_and_served_as_pdf_only(app, client, applicant, draft, name, stored):
    assert _upload(client, draft, applicant, h.minimal_pdf(), name=name).status_code == 302
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert attachment.filename == stored
        url = f"/apply/applications/{draft}/attachments/{attachment.id}"
    disposition = client.get(url).headers["Content-Disposition"]
    assert disposition.endswith(f"filename={stored}") or f'"{stored}"' in disposition
