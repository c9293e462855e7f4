"""Blind review that holds (issue 10): applicants are told where they write; before submit the
title, the responses and the attached PDFs' text are checked for the school's and district's
names, each place shown; uploads are stored without /Info and XMP metadata; reviewers see the
ref, never the title nor the file's original name."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, ApplicationStatus, Attachment, User
from scoring.services.applications.attachments import path_of
from tests import apply_helpers as h
from tests import review_support as rs


def _pdf_with_metadata(text: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(h.minimal_pdf(text=text))))
    writer.add_metadata({"/Author": "Principal of Bridgeport Elementary", "/Title": "Our plan"})
    writer.xmp_metadata = None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_names_are_found_before_submit_and_metadata_is_stripped(app, client):
    world = h.make_world(app, blind_review=True)
    token = h.login(client, world.emails["applicant"])
    page = h.text(client.get(f"/apply/competitions/{world.competition_id}/apply"))
    assert "reviewers will not see your school or district" in page
    app_id = h.create_draft(
        client,
        world,
        token,
        title="Bridgeport Elementary: more time",
        **{f"narrative_{world.required_section_id}": "In BRIDGEPORT we add 300 hours."},
    )
    upload = client.post(
        f"/apply/applications/{app_id}/attachments",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(_pdf_with_metadata("Signed, Bridgeport Elementary")), "bes.pdf"),
        },
    )
    assert upload.status_code == 302
    with app.app_context():
        stored = path_of(db.session.scalar(select(Attachment))).read_bytes()
    reader = PdfReader(io.BytesIO(stored))
    assert not reader.metadata and reader.xmp_metadata is None
    assert b"Principal of Bridgeport" not in stored

    refused = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(
            world,
            csrf_token=token,
            submit_app="1",
            title="Bridgeport Elementary: more time",
            **{f"narrative_{world.required_section_id}": "In BRIDGEPORT we add 300 hours."},
        ),
        follow_redirects=True,
    )
    text = h.text(refused)
    assert "NOT submitted" in text
    assert "The title names “Bridgeport Elementary”" in text
    assert "The “Need and plan” response names “BRIDGEPORT”" in text
    assert "“Bridgeport Elementary” on page 1 of attachment 1 (bes.pdf)" in text
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.DRAFT

    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    client.post(
        f"/apply/applications/{app_id}/attachments/{attachment_id}/remove",
        data={"csrf_token": token, "confirm": "y"},
    )
    ok = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(world, csrf_token=token, submit_app="1", title="More learning time"),
    )
    assert ok.status_code == 302 and "/receipt" in ok.headers["Location"]
    with app.app_context():
        assert db.session.get(Application, app_id).status == ApplicationStatus.SUBMITTED


def test_a_reviewer_sees_the_ref_not_the_title_nor_the_file_name(app, client):
    world = h.make_world(app, blind_review=True)
    token = h.login(client, world.emails["applicant"])
    app_id = h.create_draft(client, world, token, title="More learning time")
    client.post(
        f"/apply/applications/{app_id}/attachments",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(h.minimal_pdf()), "secret-name.pdf")},
    )
    client.post(
        f"/apply/applications/{app_id}", data=h.valid_form(world, csrf_token=token, submit_app="1")
    )
    with app.app_context():
        reviewer_id = db.session.scalar(
            select(User.id).where(User.email == world.emails["reviewer"])
        )
        ref = db.session.get(Application, app_id).ref
        attachment_id = db.session.scalar(select(Attachment.id))
    assignment_id = rs.assign(app, app_id, reviewer_id, declared=True)
    reviewer = app.test_client()
    h.login(reviewer, world.emails["reviewer"])
    page = h.text(reviewer.get(f"/review/a/{assignment_id}"))
    assert ref in page and "More learning time" not in page and "secret-name" not in page
    assert "Bridgeport" not in page
    download = reviewer.get(f"/review/a/{assignment_id}/files/{attachment_id}")
    assert download.status_code == 200
    assert "secret-name" not in download.headers["Content-Disposition"]
    assert not PdfReader(io.BytesIO(download.data)).metadata


# --- short forms of the names: initials, the name without "School", never ordinary words ------

BHS = ("Bridgeport High School", "Bridgeport")


@pytest.mark.parametrize(
    "names, text, found",
    [
        (BHS, "At BHS we add 300 hours.", ["“BHS” (Bridgeport High School)"]),
        (BHS, "Signed for B.H.S. today", ["“B.H.S.” (Bridgeport High School)"]),
        (BHS, "Bridgeport High students", ["“Bridgeport High” (Bridgeport High School)"]),
        (BHS, "Every BPS school", ["“BPS” (Bridgeport)"]),
        (
            BHS,
            "Bridgeport High School's BHS",
            ["“Bridgeport High School”", "“BHS” (Bridgeport High School)"],
        ),
        (BHS, "In BRIDGEPORT and at BHS", ["“BRIDGEPORT”", "“BHS” (Bridgeport High School)"]),
        (("Bridgeport High", "Bridgeport"), "BHS students", ["“BHS” (Bridgeport High)"]),
        (
            ("Lincoln Elementary School", "Hartford"),
            "Lincoln's teachers; LES and HPS",
            [
                "“Lincoln” (Lincoln Elementary School)",
                "“LES” (Lincoln Elementary School)",
                "“HPS” (Hartford)",
            ],
        ),
        (
            ("John F. Kennedy Middle School", "New Haven"),
            "John F. Kennedy families, JFKMS, NHPS",
            [
                "“John F. Kennedy” (John F. Kennedy Middle School)",
                "“JFKMS” (John F. Kennedy Middle School)",
                "“NHPS” (New Haven)",
            ],
        ),
        (
            ("Central High School", "East Hartford"),
            "Central High and CHS, in EHPS; CENTRAL HIGH SCHOOL",
            [
                "“Central High” (Central High School)",
                "“CHS” (Central High School)",
                "“EHPS” (East Hartford)",
                "“CENTRAL HIGH SCHOOL”",
            ],
        ),
        # ordinary words and other acronyms are not names
        (BHS, "bhs in lower case, BHSA, the high school, a public school", []),
        (("Bridgeport Elementary", "Bridgeport"), "We will BE there and be there.", []),
        (("Central High School", "East Hartford"), "a central high priority; central office", []),
        (("Central High School", "East Hartford"), "east of the river, in Hartford County", []),
        (("Park Street School", "Waterbury"), "a park on the street near the school", []),
        (("Excellence Learning Academy", "Ansonia"), "ELA and ELL scores rose", []),
        (("Hope Academy", "Danbury"), "Our hope: HA! an academy of ideas", []),
    ],
)
def test_short_forms_of_the_names_are_found_and_ordinary_words_are_not(names, text, found):
    from scoring.services.applications.blind import NameFinder, name_forms

    assert NameFinder(name_forms(*names)).found(text) == found


def test_initials_in_a_narrative_stop_the_submission_with_what_they_stand_for(app, client):
    world = h.make_world(app, blind_review=True)  # Bridgeport Elementary, district Bridgeport
    token = h.login(client, world.emails["applicant"])
    narrative = {f"narrative_{world.required_section_id}": "At BES we BE there, for ELL pupils."}
    app_id = h.create_draft(client, world, token, title="More time", **narrative)
    refused = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(world, csrf_token=token, submit_app="1", title="More time", **narrative),
        follow_redirects=True,
    )
    text = h.text(refused)
    assert "NOT submitted" in text
    assert "response names “BES” (Bridgeport Elementary)" in text
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.DRAFT
    clean = {f"narrative_{world.required_section_id}": "We BE there, for ELL pupils."}
    ok = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(world, csrf_token=token, submit_app="1", title="More time", **clean),
    )
    assert ok.status_code == 302 and "/receipt" in ok.headers["Location"]
