"""Two people edit the same draft (issue 13 item 2): the second save of a version gets the 409
page with both versions side by side and nothing is lost; on PostgreSQL two threads racing the
same save give exactly one winner. The autosave endpoint keeps the same rules (version, 409,
CSRF)."""

from __future__ import annotations

import re
import threading

import pytest

from scoring.extensions import db
from scoring.models import Application
from tests import apply_helpers as h

TRIALS = 20


def _post(client, app_id, token, world, url_suffix="", **over):
    data = h.valid_form(world, csrf_token=token, save_draft="1", **over)
    return client.post(f"/apply/applications/{app_id}{url_suffix}", data=data)


def _two_writers(app):
    world = h.make_world(app)
    first, second = app.test_client(), app.test_client()
    t1 = h.login(first, world.emails["applicant"])
    t2 = h.login(second, world.emails["colleague"])  # a writer of the same district
    app_id = h.create_draft(first, world, t1)
    return world, app_id, (first, t1), (second, t2)


def test_two_threads_racing_a_save_on_postgresql_one_wins_the_other_sees_both(pg_app):
    app = pg_app
    world, app_id, (first, t1), (second, t2) = _two_writers(app)
    for trial in range(TRIALS):
        version = str(h.application_state(app, app_id)["version"])
        titles = {
            "first": f"Title by the submitter {trial}",
            "second": f"Title by the writer {trial}",
        }
        barrier, results = threading.Barrier(2), {}

        def save(
            name, client, token, version=version, titles=titles, barrier=barrier, results=results
        ):
            barrier.wait()
            results[name] = _post(client, app_id, token, world, title=titles[name], version=version)

        threads = [
            threading.Thread(target=save, args=("first", first, t1)),
            threading.Thread(target=save, args=("second", second, t2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = {name: r.status_code for name, r in results.items()}
        assert sorted(codes.values()) == [302, 409], (trial, codes)
        winner = next(n for n, c in codes.items() if c == 302)
        loser = "second" if winner == "first" else "first"
        state = h.application_state(app, app_id)
        assert state["version"] == int(version) + 1
        assert state["title"] == titles[winner]
        html = results[loser].get_data(as_text=True)
        assert re.search(rf'data-theirs="title">{titles[winner]}<', html), trial
        assert re.search(rf'data-yours="title"[^>]*>{titles[loser]}<', html), trial


@pytest.fixture
def app(any_app):
    return any_app


def test_autosave_saves_as_typed_and_answers_409_to_an_old_version(app):
    world, app_id, (first, t1), (second, t2) = _two_writers(app)
    version = h.application_state(app, app_id)["version"]
    response = _post(
        first,
        app_id,
        t1,
        world,
        "/autosave",
        title="Autosaved",
        principal_email="jreed at bridgeportedu.net",
        version=str(version),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["version"] == version + 1 and "principal_email" in body["invalid"]
    with app.app_context():
        a = db.session.get(Application, app_id)
        assert a.title == "Autosaved"
        assert a.draft_invalid["principal_email"]["typed"] == "jreed at bridgeportedu.net"
    # The other person's page still holds the old version: their autosave is refused, unsaved.
    response = _post(second, app_id, t2, world, "/autosave", title="Late", version=str(version))
    assert response.status_code == 409 and response.get_json()["stale"] is True
    assert h.application_state(app, app_id)["title"] == "Autosaved"
    # Without the CSRF token nothing is saved.
    data = h.valid_form(world, title="No token", version=str(version + 1))
    assert first.post(f"/apply/applications/{app_id}/autosave", data=data).status_code == 400
    assert h.application_state(app, app_id)["title"] == "Autosaved"


def test_the_form_offers_autosave_only_through_an_external_script(app):
    world, app_id, (first, t1), _ = _two_writers(app)
    app.config["AUTOSAVE_SECONDS"] = 1.5
    response = first.get(f"/apply/applications/{app_id}")
    html = response.get_data(as_text=True)
    assert f'data-autosave-url="/apply/applications/{app_id}/autosave"' in html
    assert 'data-autosave-interval="1500"' in html
    assert '<script src="/static/draft_autosave.js" defer></script>' in html
    assert "<script>" not in html  # nothing inline
    assert (
        "unsafe-inline" not in response.headers["Content-Security-Policy"].split("script-src")[-1]
    )
