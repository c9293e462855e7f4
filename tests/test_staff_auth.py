"""Authorization for every staff route, and bad input on every staff form never a 500.

The routes come from ``app.url_map`` (every ``staff.*`` endpoint), so a page added later is
covered without editing this file."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import Application, Criterion, ExportJob, Priority, RankingRun, RubricSection
from scoring.services import mail
from scoring.services.exports import jobs
from tests.conftest import csrf_token_from
from tests.staff_world import APPLICANT, APPROVER, PREPARER, REVIEWER, build, login

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def world(app):
    world = build(app)
    _values(app, world)  # the export file and the outbox message exist before any test counts rows
    return world


def _values(app, world) -> dict:
    with app.app_context():
        values = {
            "competition_id": world.competition_id,
            "run_id": world.run_id,
            "section_id": db.session.scalar(select(RubricSection.id)),
            "criterion_id": db.session.scalar(select(Criterion.id)),
            "priority_id": db.session.scalar(select(Priority.id)),
            "application_id": db.session.scalar(
                select(Application.id).where(Application.ref == "T-002")
            ),
            "ref": "T-002",
            "kind": "csv",
            "job_id": _export_job(world.run_id),
            "message_id": mail.queue("someone@example.org", "Hello", "Text", dedupe_key="auth").id,
        }
        db.session.commit()
        return values


def _export_job(run_id: int) -> int:
    """A finished export file of the run (made once per test)."""
    job = db.session.scalar(select(ExportJob).order_by(ExportJob.id))
    if job is None:
        job = jobs.request(db.session.get(RankingRun, run_id), "awards", "csv")
        jobs.build(job.id)
        db.session.commit()
    return job.id


def _staff_routes(app, world):
    """(method, url) for every staff endpoint, filled with the world's real ids."""
    from flask import url_for

    values = _values(app, world)
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff."):
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        for method in sorted(rule.methods & ({"GET"} | UNSAFE)):
            out.append((method, url))
    assert len(out) > 30
    return out


def _counts() -> dict:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
        if t.name != "audit_event"
    }


def _call(client, method, url, token):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token})


@pytest.mark.parametrize("who", ["anonymous", APPLICANT, REVIEWER])
def test_only_staff_reach_staff_routes(app, world, who):
    client = app.test_client() if who == "anonymous" else login(app, who)
    token = csrf_token_from(
        client.get("/login" if who == "anonymous" else "/", follow_redirects=True).get_data(
            as_text=True
        )
    )
    with app.app_context():
        before = _counts()
    for method, url in _staff_routes(app, world):
        response = _call(client, method, url, token)
        if who == "anonymous":
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/login"), (method, url)
        else:
            assert response.status_code == 403, (who, method, url, response.status_code)
    with app.app_context():
        assert _counts() == before


def test_staff_reach_every_staff_page(app, world):
    client = login(app, PREPARER)
    for method, url in _staff_routes(app, world):
        if method != "GET":
            continue
        response = client.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)


def test_unknown_ids_are_404_for_staff(app, world):
    """Every route that names a record answers 404 for a record that does not exist."""
    from flask import url_for

    client = login(app, PREPARER)
    token = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    values = _values(app, world)
    checked = 0
    for rule in app.url_map.iter_rules():
        ids = [
            a
            for a in rule.arguments
            if a in ("competition_id", "run_id", "section_id", "criterion_id", "priority_id", "ref")
        ]
        if not rule.endpoint.startswith("staff.") or not ids:
            continue
        fake = {k: ("NOPE" if k == "ref" else 987654) for k in ids}
        with app.test_request_context():
            url = url_for(rule.endpoint, **(values | fake))
        for method in sorted(rule.methods & ({"GET"} | UNSAFE)):
            response = _call(client, method, url, token)
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1
    assert checked > 25


GARBAGE = [
    "NaN",
    "-Infinity",
    "1e999",
    "-1",
    "99999999999999999999999",
    "\x00",
    "x" * 5000,
    "<script>alert(1)</script>",
    "=SUM(A1)",
    "",
]
FIELDS = [
    "slug",
    "program",
    "title",
    "cohort",
    "fiscal_year",
    "description",
    "eligibility",
    "opens_at",
    "closes_at",
    "reviewers_per_application",
    "total_funds",
    "min_award",
    "max_award",
    "aggregation",
    "normalization",
    "min_reviews",
    "discrepancy_threshold",
    "min_score",
    "tie_breaker_1",
    "tie_breaker_2",
    "fund_down",
    "partial_funding",
    "partial_min",
    "district_max_awards",
    "district_max_amount",
    "key",
    "title",
    "weight",
    "position",
    "guidance",
    "narrative_limit",
    "criterion_key",
    "criterion_title",
    "criterion_max_points",
    "criterion_step",
    "max_points",
    "step",
    "descriptors",
    "points",
    "application_id",
    "status",
    "amount",
    "justification",
    "label",
]


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_in_every_staff_form_is_never_a_500_nor_half_saved(app, world, value):
    client = login(app, APPROVER)
    token = csrf_token_from(client.get("/staff/").get_data(as_text=True))
    for method, url in _staff_routes(app, world):
        if method == "GET":
            query = "&".join(
                f"{f}={value[:200]}"
                for f in (
                    "run",
                    "status",
                    "district",
                    "flag",
                    "action",
                    "competition",
                    "actor",
                    "date_from",
                    "date_to",
                    "page",
                    "comments",
                    "total_funds",
                    "min_score",
                )
            )
            response = client.get(url + "?" + query.replace("\x00", "%00"))
            assert response.status_code < 500, (url, value[:20], response.status_code)
            continue
        with app.app_context():
            before = _counts()
        response = client.post(url, data={"csrf_token": token, **{f: value for f in FIELDS}})
        assert response.status_code < 500, (url, value[:20], response.status_code)
        if response.status_code != 302:  # refused: nothing may have changed
            with app.app_context():
                assert _counts() == before, (url, value[:20])
