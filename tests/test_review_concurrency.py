"""Two clients save the same review at the same moment against PostgreSQL: exactly one save wins,
the other gets 409 showing the values now saved (docs/architecture.md R4/R5)."""

from __future__ import annotations

import threading

from scoring.extensions import db
from scoring.models import Review
from tests import review_support as rs

TRIALS = 100


def _saved(app, review_id):
    with app.app_context():
        review = db.session.get(Review, review_id)
        return review.version, sorted((s.criterion_id, s.points) for s in review.scores)


def test_concurrent_saves_one_wins_the_other_gets_409_with_the_current_values(pg_app):
    app = pg_app
    world = rs.build(app)
    assignment = rs.assign(app, world.apps["SIG-001"], world.users["r3"], declared=True)
    with app.app_context():
        review_id = db.session.scalar(db.select(Review.id))
    url = f"/review/a/{assignment}"
    first = app.test_client()
    rs.login(first, world.emails["r3"])
    token = rs.token(first, url)
    second = app.test_client()  # a second client carrying the same signed-in session (another tab)
    second.set_cookie("session", first.get_cookie("session").value)
    outcomes = []
    for trial in range(TRIALS):
        version, _ = _saved(app, review_id)
        entries = {"first": [trial % 11, 1, 2], "second": [trial % 11, 3, 4]}
        barrier, results = threading.Barrier(2), {}

        def save(name, client, entries=entries, version=version, barrier=barrier, results=results):
            data = {**rs.score_form(world, entries[name], version=version), "csrf_token": token}
            barrier.wait()
            results[name] = client.post(url, data=data)

        threads = [
            threading.Thread(target=save, args=a) for a in (("first", first), ("second", second))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = {name: r.status_code for name, r in results.items()}
        assert sorted(codes.values()) == [302, 409], (trial, codes)
        winner = next(n for n, c in codes.items() if c == 302)
        loser = "second" if winner == "first" else "first"
        new_version, scores = _saved(app, review_id)
        assert new_version == version + 1
        assert [float(p) for _, p in scores] == [float(x) for x in entries[winner]]
        body = results[loser].get_data(as_text=True)
        shown = rs.form_values(body)
        assert shown["version"] == str(new_version)
        assert [shown[f"points_{c}"] for c in world.criteria] == [str(x) for x in entries[winner]]
        assert f"You typed: {entries[loser][1]}" in body
        outcomes.append(winner)
    assert len(outcomes) == TRIALS
