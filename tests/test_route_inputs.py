"""Route-wide hostile input (issue 12, item 7): every rule of ``app.url_map``, every method, as
each role (anonymous, applicant, reviewer, staff, approver), with huge ids, NUL and control
characters, overlong text, far dates and odd digits in the path parameters, the query string and
every field of the route's form; no answer may be a 5xx. On SQLite and on PostgreSQL (which
refuses NUL in text and integers beyond its range: where 500s hide).

The forms are found as a browser finds them: every page the role can open is parsed with the
standard library's HTML parser, and each ``<form>`` (its fields, defaults and CSRF token) is
filed under the route its ``action`` names. A route posted to by no page gets the fields of
every form the walk found.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing.converters import NumberConverter

from scoring.services.db import is_postgres
from tests import access_world as aw

ROLES = ("anonymous", "applicant", "reviewer_assigned", "staff", "approver")
SKIP = {"static", "auth.logout"}  # logging out would end the walk's sessions
ODD_IDS = (str(2**63), str(10**30), "²", "٣")
ODD_TEXT = ("x%00y", "%01%0D%0A", "٣²", "x" * 100_000)
LONG = "y" * 100_000
#: Every field of a form at once (and every query parameter of a page).
HOSTILE = (
    "a\x00b\x01",
    LONG,
    "9999-12-31",
    "0001-01-01T00:00",
    str(2**63),
    str(10**30),
    "²٣",
    "-1e400",
)
#: One field at a time, the others keeping their defaults, so the service is reached.
PER_FIELD = ("a\x00b", LONG, "9999-12-31T23:59", str(10**30), "٣")
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
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint not in SKIP), key=lambda r: r.rule
    )


def _url(app, world, rule, role: str) -> tuple[str, dict[str, str]]:
    """The rule's URL for ``role`` and, per parameter, the text standing for it in the URL."""
    values = aw.param_values(world, role)
    marks: dict[str, str] = {}
    for i, (name, converter) in enumerate(sorted(rule._converters.items())):
        if isinstance(converter, NumberConverter):
            values = values | {name: 987_650 + i}
            marks[name] = str(987_650 + i)
        else:
            values = values | {name: f"mark{i}x"}
            marks[name] = f"mark{i}x"
    with app.test_request_context():
        url = aw.url_for_rule(rule, values)
    return url, marks


def _real_url(app, world, rule, role: str) -> str:
    with app.test_request_context():
        return aw.url_for_rule(rule, aw.param_values(world, role))


class Walk:
    """Sends requests and collects every 5xx (instead of stopping at the first)."""

    def __init__(self, app, snapshot) -> None:
        self.app, self.snapshot, self.errors, self.count = app, snapshot, [], 0

    def send(self, client, method: str, url: str, role: str, data=None, what: str = ""):
        response = client.open(url, method=method, data=data)
        self.count += 1
        if response.status_code >= 500:
            self.errors.append((response.status_code, method, url[:120], role, what[:80]))
        if method == "POST" and self.snapshot is not None:
            self.snapshot.restore()
        return response


def _discover(app, world, clients) -> dict[str, list[dict]]:
    """endpoint -> forms found posting to it (as each role sees the pages)."""
    found: dict[str, list[dict]] = {}
    for role in ROLES:
        client = clients[role]
        for rule in _rules(app):
            if "GET" not in rule.methods:
                continue
            url = _real_url(app, world, rule, role)
            response = client.get(url)
            if response.mimetype != "text/html":
                continue
            for form in _forms_of(response.get_data(as_text=True), url):
                endpoint = _endpoint(app, form["action"], form["method"])
                if endpoint:
                    found.setdefault(endpoint, []).append(form | {"role": role})
    return found


def _path_variants(walk, client, rule, url, marks, role, method, token):
    for name, mark in marks.items():
        odd = ODD_IDS if isinstance(rule._converters[name], NumberConverter) else ODD_TEXT
        for value in odd:
            bad = url.replace(mark, value if value.startswith("%") else quote(value, safe=""))
            data = {"csrf_token": token} if method == "POST" else None
            walk.send(client, method, bad, role, data, f"path {name}={value[:10]}")


def _query_variants(walk, client, url, role, names):
    for value in HOSTILE:
        query = "&".join(f"{quote(n)}={quote(value, safe='')}" for n in names)
        walk.send(client, "GET", f"{url}?{query}", role, what=f"query {value[:10]!r}")


def _form_variants(walk, client, url, role, forms, token, thorough: bool):
    for form in forms:
        fields = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
        for value in HOSTILE:
            data = {"csrf_token": token} | dict.fromkeys(fields, value)
            walk.send(client, "POST", url, role, data, f"all fields {value[:10]!r}")
        if not thorough:
            continue
        for name in fields:
            for value in PER_FIELD:
                data = {"csrf_token": token} | fields | {name: value}
                walk.send(client, "POST", url, role, data, f"{name}={value[:10]!r}")


def _walk(app, world, clients, snapshot) -> Walk:
    walk = Walk(app, snapshot)
    forms = _discover(app, world, clients)
    every_field = {k: "" for fs in forms.values() for f in fs for k in f["fields"]}
    fallback = [{"fields": every_field}]
    get_names = {
        k for fs in forms.values() for f in fs if f["method"] == "GET" for k in f["fields"]
    }
    tokens = {role: aw.csrf_token(client) for role, client in clients.items()}
    for rule in _rules(app):
        for role in ROLES:
            client, token = clients[role], tokens[role]
            url, marks = _url(app, world, rule, role)
            real = _real_url(app, world, rule, role)
            for method in sorted(rule.methods & {"GET", "POST"}):
                _path_variants(walk, client, rule, url, marks, role, method, token)
                if method == "GET":
                    _query_variants(walk, client, real, role, sorted(get_names | set(QUERY_NAMES)))
                    continue
                own = [f for f in forms.get(rule.endpoint, []) if f["method"] == "POST"]
                base = walk.send(client, "POST", real, role, {"csrf_token": token}, "empty")
                allowed = base.status_code not in (403, 404) and "/login" not in base.headers.get(
                    "Location", ""
                )
                mine = [f for f in own if f["role"] == role] or own[:1]
                _form_variants(walk, client, real, role, mine or fallback, token, allowed)
    return walk


@pytest.fixture
def hostile_world(any_app):
    """The access world on SQLite (every POST undone by a snapshot) or PostgreSQL."""
    app = any_app
    world = aw.build(app)
    clients = {role: c for role, c in aw.clients(app).items() if role in ROLES}
    with app.app_context():
        postgres = is_postgres()
    snapshot = None if postgres else aw.Snapshot(app)
    if snapshot is not None:
        snapshot.save()
    return app, world, clients, snapshot


def test_no_route_answers_hostile_input_with_a_5xx(hostile_world):
    from scoring.extensions import limiter

    app, world, clients, snapshot = hostile_world
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug is a 500 response, collected, not raised
    limiter.enabled = False  # rate limits would answer 429 before the forms are read
    try:
        walk = _walk(app, world, clients, snapshot)
    finally:
        limiter.enabled = True
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
