"""Cross-cutting checks over every route of the app (docs/architecture.md S1, S2, S13).

These iterate ``app.url_map``, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.routing.converters import NumberConverter

from scoring.extensions import db
from scoring.models import Role
from tests import factories
from tests.conftest import csrf_token_from

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _url(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if isinstance(converter, NumberConverter) else "x"
    from flask import url_for

    return url_for(rule.endpoint, **values)


def _row_counts() -> dict[str, int]:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
    }


@pytest.fixture
def staff_client(app, client, auth):
    with app.app_context():
        factories.user(Role.STAFF, "staff@example.org")
        factories.user(Role.ADMIN, "admin@example.org", can_approve=True)
        db.session.commit()
    auth.login("admin@example.org", factories.PASSWORD)
    return client


def _rules(app, methods):
    return [r for r in app.url_map.iter_rules() if r.methods & methods and r.endpoint != "static"]


def test_every_unsafe_route_refuses_a_missing_or_foreign_csrf_token(app, staff_client):
    app.config["WTF_CSRF_ENABLED"] = True
    other = app.test_client()
    foreign = csrf_token_from(other.get("/login").get_data(as_text=True))
    rules = _rules(app, UNSAFE)
    assert rules, "no unsafe routes found"
    checked = 0
    for rule in rules:
        if rule.endpoint.startswith("api."):
            continue  # the JSON API takes no form posts (csrf-exempt, GET only)
        with app.test_request_context():
            url = _url(rule)
        with app.app_context():
            before = _row_counts()
        for method in sorted(rule.methods & UNSAFE):
            for data in ({}, {"csrf_token": foreign}):
                response = staff_client.open(url, method=method, data=data)
                assert response.status_code == 400, (rule.rule, method, response.status_code)
                checked += 1
        with app.app_context():
            assert _row_counts() == before, rule.rule
    assert checked >= 2


def test_api_routes_accept_no_unsafe_methods(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            assert not (rule.methods & UNSAFE), rule.rule


def test_get_on_every_route_changes_nothing_and_never_500s(app, staff_client):
    rules = _rules(app, {"GET"})
    for rule in rules:
        with app.test_request_context():
            url = _url(rule)
        with app.app_context():
            before = _row_counts()
        response = staff_client.get(url)
        assert response.status_code < 500, (rule.rule, response.status_code)
        with app.app_context():
            after = _row_counts()
        assert after == before, rule.rule
        assert "object-src 'none'" in response.headers["Content-Security-Policy"]
