"""One access rule per object (issue 12, item 3): ``scoring/services/access.py``.

1. The rule itself, role by role, for an application, its attachment, a review, a ranking run
   and an export file (a table written out by hand).
2. Every route of ``app.url_map`` that takes an object id, every method, as every role: the
   route serves the object exactly when the rule (and the route's area) says so. The kind of
   object is read from the URL's parameter names, so a new route is walked without editing this
   file, and a parameter name nobody classified fails the test.
3. Under blind review, no route gives a reviewer the school's or district's name, the title, an
   attachment's original name or the PDF's metadata (a file uploaded before the competition
   turned blind still carries it on disk).
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from scoring.extensions import db
from scoring.models import (
    Application,
    Attachment,
    District,
    ExportJob,
    RankingRun,
    Review,
    User,
)
from scoring.services import access
from tests import access_world as aw

Y, N = True, False


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """The world and a client per role, built once for the module (requests are read-only or
    undone by the snapshot)."""
    from tests.conftest import SqliteConfig, _dispose, _make_app

    app = _make_app(SqliteConfig, tmp_path_factory.mktemp("access"))
    world = aw.build(app)
    clients = aw.clients(app)
    snapshot = aw.Snapshot(app)
    snapshot.save()
    yield app, world, clients, snapshot
    _dispose(app)


# --------------------------------------------------------------------------- 1. the rule

#: role -> (see, read, edit, names) of the target application (blind review).
APPLICATION = {
    "anonymous": (N, N, N, N),
    "applicant": (Y, Y, Y, Y),
    "applicant_other": (N, N, N, N),
    "reviewer_assigned": (Y, Y, N, N),
    "reviewer_undeclared": (Y, N, N, N),
    "reviewer_unassigned": (N, N, N, N),
    "reviewer_conflict": (N, N, N, N),
    "reviewer_district": (N, N, N, N),
    "staff": (Y, Y, N, Y),
    "approver": (Y, Y, N, Y),
}
ATTACHMENT = APPLICATION | {"reviewer_undeclared": (N, N, N, N)}
REVIEW = {role: (N, N, N, N) for role in APPLICATION} | {
    "reviewer_assigned": (Y, Y, Y, N),
    "staff": (Y, Y, N, Y),
    "approver": (Y, Y, N, Y),
}
RUN = {role: (N, N, N, N) for role in APPLICATION} | {
    "staff": (Y, Y, Y, Y),
    "approver": (Y, Y, Y, Y),
}


def _user(world, role):
    if role == "anonymous":
        from flask_login import AnonymousUserMixin

        return AnonymousUserMixin()
    return db.session.get(User, world.users[role])


@pytest.mark.parametrize("role", list(APPLICATION))
def test_the_rule_for_each_role(walk, role):
    app, world, _, _ = walk
    with app.app_context():
        user = _user(world, role)
        objects = [
            (access.application, db.session.get(Application, world.application), APPLICATION),
            (access.attachment, db.session.get(Attachment, world.attachment), ATTACHMENT),
            (access.review, db.session.get(Review, world.review), REVIEW),
            (access.run, db.session.get(RankingRun, world.run), RUN),
            (access.export_file, db.session.get(ExportJob, world.job), RUN),
        ]
        for rule, obj, table in objects:
            got = rule(user, obj)
            assert (got.see, got.read, got.edit, got.names) == table[role], (rule.__name__, role)


def test_a_conflict_declared_after_no_conflict_closes_the_application(walk):
    """A declared district conflict added later wins over an assignment already declared."""
    app, world, _, snapshot = walk
    from scoring.models import District, ReviewerConflict

    with app.app_context():
        user = db.session.get(User, world.users["reviewer_assigned"])
        target = db.session.get(Application, world.application)
        assert access.application(user, target).read
        district = db.session.get(District, target.school.district_id)
        db.session.add(ReviewerConflict(user=user, district=district, reason="New job"))
        db.session.commit()
        assert access.application(user, target) == access.NONE
    snapshot.restore()


# --------------------------------------------------------------------------- 2. every route

#: URL parameter -> the object it names: a kind of ``services/access.py``, or ``staff`` for
#: things only staff handle (competition setup, people, the outbox), or ``competition`` (a
#: competition page of the route's area), or ``other`` (not an object: a file type, a token).
PARAM_KIND = {
    "attachment_id": "attachment",
    "rid": "review",
    "job_id": "export_file",
    "app_id": "application",
    "aid": "application",
    "assignment_id": "application",  # the reviewer's own assignment to the application
    "asid": "application",
    "run_id": "run",
    "application_id": "run",  # an exception of a run, for one application
    "competition_id": "competition",
    "cid": "competition",
    "section_id": "staff",
    "criterion_id": "staff",
    "priority_id": "staff",
    "uid": "staff",
    "conflict_id": "staff",
    "message_id": "staff",
    "district_id": "district",
    "user_id": "district",  # a person of the district
    "ref": "other",
    "kind": "other",
    "slug": "other",
    "token": "other",
    # Sign-in security: one's own session (another's is a 404), and a two-factor reset by staff
    # of someone else (never oneself): tests/test_sessions.py and tests/test_two_factor.py.
    "session_id": "other",
    "person_id": "other",
}
#: The order in which a route's parameters decide its object (the most specific first).
PRECEDENCE = [
    "attachment",
    "review",
    "export_file",
    "application",
    "run",
    "district",
    "competition",
    "staff",
]
STAFF_ROLES = {"staff", "approver"}
REVIEWERS = {r for r in APPLICATION if r.startswith("reviewer")}
APPLICANTS = {"applicant", "applicant_other"}


def _area(rule) -> set[str]:
    """Who the route's area lets in at all (``role_required`` on the blueprint or view)."""
    if rule.endpoint == "apply.attachment_download":
        return set(APPLICATION) - {"anonymous"}
    if rule.rule.startswith(("/apply/staff/", "/staff/")):
        return STAFF_ROLES
    if rule.rule.startswith("/apply/"):
        return APPLICANTS
    if rule.rule.startswith("/review/"):
        return REVIEWERS
    return set(APPLICATION)


def _kind(rule) -> str | None:
    kinds = set()
    for name in rule.arguments:
        assert name in PARAM_KIND, f"{rule.rule}: classify the URL parameter {name!r}"
        kinds.add(PARAM_KIND[name])
    return next((k for k in PRECEDENCE if k in kinds), None)


def _need(rule, kind: str, method: str) -> str:
    if kind == "district":
        return "edit" if method == "POST" else "see"  # managing people, or seeing them
    if kind == "attachment":
        return "read"
    if rule.rule.startswith("/apply/") and not rule.rule.startswith("/apply/staff/"):
        return "edit"  # the applicant's own routes change the application (phase: a 409)
    return "see"


def _expected(app, world, rule, role: str, method: str = "GET") -> bool:
    kind = _kind(rule)
    if role not in _area(rule):
        return False
    if kind in (None, "competition", "other"):
        return True
    if kind == "staff":
        return role in STAFF_ROLES
    with app.app_context():
        model = {
            "application": (Application, world.application),
            "attachment": (Attachment, world.attachment),
            "review": (Review, world.review),
            "run": (RankingRun, world.run),
            "export_file": (ExportJob, world.job),
            "district": (District, world.district),
        }[kind]
        obj = db.session.get(*model)
        return getattr(getattr(access, kind)(_user(world, role), obj), _need(rule, kind, method))


def _refused(response) -> bool:
    if response.status_code in (403, 404):
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def _id_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and _kind(rule) not in (None, "other")
    ]


def test_every_route_with_an_object_id_answers_as_the_rule_says(walk):
    app, world, clients, snapshot = walk
    rules = _id_rules(app)
    assert len(rules) > 60, "the walk lost most routes"
    tokens = {role: aw.csrf_token(client) for role, client in clients.items()}
    mismatches, checked = [], 0
    for rule in sorted(rules, key=lambda r: r.rule):
        for method in sorted(rule.methods & {"GET", "POST"}):
            for role, client in clients.items():
                with app.test_request_context():
                    url = aw.url_for_rule(rule, aw.param_values(world, role))
                if method == "GET":
                    response = client.get(url)
                else:
                    data = {"csrf_token": tokens[role], **aw.post_data(world, rule.endpoint)}
                    response = client.post(url, data=data)
                    snapshot.restore()
                assert response.status_code < 500, (method, url, role, response.status_code)
                expected = _expected(app, world, rule, role, method)
                if _refused(response) == expected:
                    mismatches.append((method, rule.rule, role, expected, response.status_code))
                checked += 1
    assert not mismatches, "\n".join(map(str, mismatches))
    assert checked > 600


def test_the_walk_would_see_a_route_that_ignores_the_rule(walk):
    """The check can fail: a reviewer who is not assigned, given the assigned reviewer's
    assignment, is refused; were the route to serve it, the walk would report a mismatch."""
    app, world, clients, _ = walk
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "review.score")
    with app.test_request_context():
        url = aw.url_for_rule(rule, aw.param_values(world, "reviewer_unassigned"))
    assert _refused(clients["reviewer_unassigned"].get(url))
    assert not _expected(app, world, rule, "reviewer_unassigned")
    assert _expected(app, world, rule, "reviewer_assigned")


# --------------------------------------------------------------------------- 3. blind review

SECRETS = (aw.SCHOOL, aw.DISTRICT, aw.TITLE, aw.FILE_NAME, aw.AUTHOR, "Pat Principal")


@pytest.mark.parametrize(
    "role", ["reviewer_assigned", "reviewer_undeclared", "reviewer_district", "reviewer_conflict"]
)
def test_under_blind_review_no_route_names_the_school_to_a_reviewer(walk, role):
    app, world, clients, _ = walk
    client = clients[role]
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        with app.test_request_context():
            url = aw.url_for_rule(rule, aw.param_values(world, role))
        response = client.get(url)
        if response.status_code != 200:
            continue
        seen += 1
        body = response.get_data()
        head = str(response.headers)
        for secret in SECRETS:
            assert secret.lower().encode() not in body.lower(), (url, secret)
            assert secret.lower() not in head.lower(), (url, secret)
        if response.mimetype == "application/pdf":
            reader = PdfReader(io.BytesIO(body))
            assert not reader.metadata and reader.xmp_metadata is None, url
    assert seen >= 3


def test_the_assigned_reviewer_reads_the_file_on_both_routes_without_its_name(walk):
    app, world, clients, _ = walk
    client = clients["reviewer_assigned"]
    urls = [
        f"/review/a/{world.assignments['reviewer_assigned']}/files/{world.attachment}",
        f"/apply/applications/{world.application}/attachments/{world.attachment}",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert (
            f"{world.ref}-attachment-{world.attachment}.pdf"
            in response.headers["Content-Disposition"]
        )
        assert PdfReader(io.BytesIO(response.get_data())).metadata in (None, {})
    own = clients["applicant"].get(urls[1])
    assert aw.FILE_NAME in own.headers["Content-Disposition"]
    assert PdfReader(io.BytesIO(own.get_data())).metadata["/Author"] == aw.AUTHOR
