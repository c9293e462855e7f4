"""Route-wide hostile input (issue 12, item 7): every rule of ``app.url_map``, every method, as
each role (anonymous, applicant submitter, applicant writer, reviewer, staff, approver signed in
with its two-factor code), with NUL and control characters, overlong text, far dates, huge
numbers, exponents, NaN and non-ASCII digits in the path parameters, the query string and every
field of the route's form; no answer may be a 5xx. On SQLite and on PostgreSQL (which refuses
NUL in text and numbers beyond its ranges: where 500s hide).

The forms are found as a browser finds them: every page each role can open is parsed with the
standard library's HTML parser, and each ``<form>`` (its fields, defaults and CSRF token) is
filed under the route its ``action`` names. Each hostile class is sent once per route, role and
place (path, query, form) with every field hostile at once; where the role is shown the form,
the classes the database refuses also go to each field alone (the others at their defaults) so
they get past the other fields' checks. A hostile path the router refuses (404/405 before any
view) is checked for every rule without a request and sent once per role, method and class.
One signed-in client per role and database; on SQLite every POST that went through is undone.
"""

from __future__ import annotations

import time
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing.converters import NumberConverter

from scoring.extensions import db
from scoring.models import DistrictRole, Role
from scoring.services.db import is_postgres
from tests import access_world as aw
from tests import apply_helpers as h
from tests import review_support as rs
from tests.conftest import AuthActions

ROLES = ("anonymous", "applicant", "applicant_writer", "reviewer_assigned", "staff", "approver")
WRITER = "writer@example.org"  # a second account of the target's district: a writer
SKIP = {"static", "auth.logout"}  # logging out would end the walk's sessions
#: Sent last (on PostgreSQL nothing is undone, and these end sessions or take rights away).
LAST = ("end", "deactivate", "role", "reset", "withdraw", "revoke")
#: Each hostile value class, sent once to every field of a form at once (and every query
#: parameter of a page); split per field only to name the field of a 5xx.
HOSTILE = {
    "nul": "a\x00b\x01",
    "long": "y" * 20_001,  # one more than the longest text any form takes
    "far date": "9999-12-31",
    "far time": "0001-01-01T00:00",
    "huge": str(10**30),
    "exponent": "-1e400",
    "odd digits": "\u0663\u0664",
    "nan": "NaN",
}
#: The classes the database refuses (NUL in text, integer and numeric overflow, far dates),
#: also sent to each field alone where the role is shown the form.
DEEP = ("nul", "huge", "exponent", "far date", "far time")
#: What stands for each class in a path parameter (already quoted for the URL).
PATH_VALUES = {
    "nul": "x%00y%01",
    "long": "1" * 5_000,
    "far date": "9999-12-31",
    "far time": "0001-01-01T00%3A00",
    "huge": str(10**30),
    "exponent": "-1e400",
    "odd digits": quote("\u0663\u00b2"),
    "nan": "NaN",
}
#: Overlong for a query parameter (the longest any page reads is ``next``: 2,000).
QUERY_LONG = "q" * 5_000
QUERY_NAMES = ("next", "page", "competition", "run", "comments", "cap")


class FormParser(HTMLParser):
    """The forms of a page: action, method and fields (name -> default value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": a.get("action") or "", "method": (a.get("method") or "get").upper()}
                | {"fields": {}}
            )
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and name in fields:
                return
            fields[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            fields[name] = ""
        elif tag == "select" and name:
            self._select, fields[name] = name, ""
        elif tag == "option" and self._select and not fields[self._select]:
            fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def _forms_of(html: str, page_url: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        form["action"] = urlsplit(form["action"] or page_url).path
    return parser.forms


def _endpoint(app, path: str, method: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:
        return None
    return endpoint


def _rules(app):
    def order(rule):
        return (any(word in rule.endpoint for word in LAST), rule.rule)

    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP), key=order)


def _url(app, world, rule, role: str) -> str:
    with app.test_request_context():
        return aw.url_for_rule(rule, aw.param_values(world, role))


def _path_url(app, world, rule, role: str, value: str) -> str | None:
    """The rule's URL for ``role`` with every path parameter set to ``value``."""
    if not rule._converters:
        return None
    values = dict(aw.param_values(world, role))
    marks = []
    for i, (name, converter) in enumerate(sorted(rule._converters.items())):
        number = isinstance(converter, NumberConverter)
        values[name] = 987_650 + i if number else f"mark{i}x"
        marks.append(str(values[name]))
    with app.test_request_context():
        url = aw.url_for_rule(rule, values)
    for mark in marks:
        url = url.replace(mark, value, 1)
    return url


class Walk:
    """Sends requests and collects every 5xx (instead of stopping at the first). A POST that
    went through is undone (SQLite snapshot); on PostgreSQL the role signs in again if it ended
    its own session."""

    def __init__(self, app, clients, snapshot) -> None:
        self.app, self.clients, self.snapshot = app, clients, snapshot
        self.tokens = {role: aw.csrf_token(client) for role, client in clients.items()}
        self.errors: list[tuple] = []
        self.count = self.refused_by_router = 0
        self.router_sent: set[tuple] = set()

    def send(self, client, method: str, url: str, role: str, data=None, what: str = ""):
        response = client.open(url, method=method, data=data)
        self.count += 1
        if response.status_code >= 500:
            self.errors.append((response.status_code, method, url[:120], role, what[:80]))
            print("5xx:", self.errors[-1])
        if method == "POST" and response.status_code < 400:
            if self.snapshot is not None:
                self.snapshot.restore()
            elif role != "anonymous":
                self._still_signed_in(role)
        return response

    def send_path(self, client, method: str, url: str, role: str, data, what: str) -> None:
        """A hostile path: sent if the router takes it to the route's view; one the router
        refuses (404/405 before any view runs, the same code for every rule) is checked here
        and sent once per role, method and class."""
        if _endpoint(self.app, unquote(urlsplit(url).path), method) is None:
            self.refused_by_router += 1
            key = (role, method, what)
            if key in self.router_sent:
                return
            self.router_sent.add(key)
        self.send(client, method, url, role, data, what)

    def _still_signed_in(self, role: str) -> None:
        client = self.clients[role]
        if "/login" not in client.get("/accounts/security").headers.get("Location", ""):
            return
        AuthActions(client).login(_email(role), h.PASSWORD)
        self.tokens[role] = aw.csrf_token(client)


def _discover(app, world, clients) -> dict[str, list[dict]]:
    """endpoint -> forms found posting to it (as each role sees the pages)."""
    found: dict[str, list[dict]] = {}
    for role in ROLES:
        client = clients[role]
        for rule in _rules(app):
            if "GET" not in rule.methods:
                continue
            url = _url(app, world, rule, role)
            response = client.get(url)
            if response.mimetype != "text/html":
                continue
            for form in _forms_of(response.get_data(as_text=True), url):
                endpoint = _endpoint(app, form["action"], form["method"])
                if endpoint:
                    found.setdefault(endpoint, []).append(form | {"role": role})
    return found


def _post_forms(walk, client, url, role, fields, token, seen: bool):
    """Each class once into every field at once. Where the role was shown the form and the
    post reached it (a refusal beside the fields, not a 403/404/409 or a sign-in redirect),
    the classes the database refuses also go to one field at a time, the others keeping their
    defaults, so a value the form lets through reaches the service and the database. A 5xx of
    any other class is split per field to name the field."""
    for kind, value in HOSTILE.items():
        data = {"csrf_token": token} | dict.fromkeys(fields, value)
        before = len(walk.errors)
        response = walk.send(client, "POST", url, role, data, f"all fields {kind}")
        reached = seen and response.status_code in (200, 400, 422)
        failed = len(walk.errors) > before
        if (reached and kind in DEEP or failed) and len(fields) > 1:
            for name in fields:
                data = {"csrf_token": token} | fields | {name: value}
                walk.send(client, "POST", url, role, data, f"{name} {kind}")


def _walk_rule(walk, app, world, rule, forms, query_names):
    for role in ROLES:
        client, token = walk.clients[role], walk.tokens[role]
        url = _url(app, world, rule, role)
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"csrf_token": token} if method == "POST" else None
            for kind, value in PATH_VALUES.items():
                bad = _path_url(app, world, rule, role, value)
                if bad:
                    walk.send_path(client, method, bad, role, data, f"path {kind}")
            if method == "GET":
                for kind, value in (HOSTILE | {"long": QUERY_LONG}).items():
                    query = "&".join(f"{quote(n)}={quote(value, safe='')}" for n in query_names)
                    walk.send(client, "GET", f"{url}?{query}", role, what=f"query {kind}")
                continue
            own = [f for f in forms.get(rule.endpoint, []) if f["method"] == "POST"]
            mine = [f for f in own if f["role"] == role]
            chosen = mine or own[:1] or [{"fields": {}}]
            fields = {k: v for f in chosen for k, v in f["fields"].items() if k != "csrf_token"}
            _post_forms(walk, client, url, role, fields or {"value": ""}, token, bool(mine))


def _walk(app, world, clients, snapshot) -> Walk:
    walk = Walk(app, clients, snapshot)
    forms = _discover(app, world, clients)
    walk.count += len(ROLES) * sum(1 for r in _rules(app) if "GET" in r.methods)
    query_names = sorted(
        {k for fs in forms.values() for f in fs if f["method"] == "GET" for k in f["fields"]}
        | set(QUERY_NAMES)
    )
    for rule in _rules(app):
        _walk_rule(walk, app, world, rule, forms, query_names)
    return walk


def _email(role: str) -> str:
    return WRITER if role == "applicant_writer" else aw.ROLES[role]


@pytest.fixture
def hostile_world(any_app):
    """The access world plus a writer of the target's district, a signed-in client per role;
    on SQLite every POST is undone by a snapshot."""
    app = any_app
    world = aw.build(app)
    with app.app_context():
        writer = rs.person(Role.APPLICANT, WRITER, world.district)
        assert writer.district_role == DistrictRole.WRITER
        db.session.commit()
        postgres = is_postgres()
    clients = {role: c for role, c in aw.clients(app).items() if role in ROLES}
    clients["applicant_writer"] = app.test_client()
    assert AuthActions(clients["applicant_writer"]).login(WRITER, h.PASSWORD).status_code == 302
    snapshot = None if postgres else aw.Snapshot(app)
    if snapshot is not None:
        snapshot.save()
    return app, world, clients, snapshot


@pytest.mark.timeout(900)
def test_no_route_answers_hostile_input_with_a_5xx(hostile_world):
    """Every rule, method and role; each hostile class in the path, the query and the form."""
    from scoring.extensions import limiter

    app, world, clients, snapshot = hostile_world
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug is a 500 response, collected, not raised
    limiter.enabled = False  # rate limits would answer 429 before the forms are read
    started = time.monotonic()
    try:
        walk = _walk(app, world, clients, snapshot)
    finally:
        limiter.enabled = True
    print(
        f"route walk: {walk.count} requests in {time.monotonic() - started:.0f} s; "
        f"{walk.refused_by_router} hostile paths refused by the router"
    )
    assert walk.count > 3000, walk.count
    assert not walk.errors, "\n".join(map(str, walk.errors[:60]))


def test_the_walk_finds_the_forms_it_fills(app):
    """The parser reads fields, defaults and the CSRF token of a real page's form."""
    html = (
        '<form method="post" action="/staff/x"><input type="hidden" name="csrf_token" value="t">'
        '<input name="title" value="A"><textarea name="note"></textarea>'
        '<select name="tier"><option value="1">1</option><option value="2">2</option></select>'
        '<input type="checkbox" name="ok" value="y"><button type="submit">Go</button></form>'
    )
    (form,) = _forms_of(html, "/staff/page")
    assert form == {
        "action": "/staff/x",
        "method": "POST",
        "fields": {"csrf_token": "t", "title": "A", "note": "", "tier": "1", "ok": "y"},
    }
