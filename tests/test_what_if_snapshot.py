"""The pages of one what-if diff come from one computation kept a few minutes in the process
(``what_if.recent``, named by ``?snapshot=``: baseline run, settings, inputs hash): a page
served from it equals the same page computed fresh, with fewer statements (nothing ranked
again); other settings or another baseline are computed anew. On SQLite and PostgreSQL.

Data: tests/fixtures/small_bundle.json ranked (tests/staff_world.py).
"""

from __future__ import annotations

import re
from html import unescape

from scoring.extensions import db
from scoring.models import Competition
from scoring.services.ranking import what_if as what_if_svc
from tests.staff_world import PREPARER, build, login, rank_now
from tests.test_access_memo import Statements

KNOBS = {"total_funds": "600000", "min_score": "70"}


def _plain(rows) -> list[tuple]:
    return [tuple(vars(r).values()) for r in rows]


def test_a_page_of_a_kept_what_if_equals_the_page_computed_fresh(any_app):
    world = build(any_app)
    with any_app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        first = what_if_svc.recent(competition, KNOBS)
        assert first.snapshot and first.inputs_sha256
        with Statements() as again:
            kept = what_if_svc.recent(competition, KNOBS, first.snapshot)
        with Statements() as anew:
            fresh = what_if_svc.what_if(competition, KNOBS)
        assert len(again.seen) < len(anew.seen)  # the inputs were not read again
        assert kept.baseline is not None and kept.baseline.id == world.run_id
        assert kept.counts() == fresh.counts()
        for kind in ("all", "changed", "leaves"):
            assert kept.page(kind, 2, per=2)[1:] == fresh.page(kind, 2, per=2)[1:]
            assert _plain(kept.page(kind, 2, per=2)[0]) == _plain(fresh.page(kind, 2, per=2)[0])
        assert len(_plain(fresh.page("all", 2, per=2)[0])) == 2

        # other settings under that snapshot: computed for those settings
        other = {"total_funds": "450000"}
        tried = what_if_svc.recent(competition, other, first.snapshot)
        assert tried.snapshot != first.snapshot
        assert tried.total_funds == what_if_svc.what_if(competition, other).total_funds
    # a new baseline run: the snapshot no longer applies
    rank_now(any_app, world.competition_id)
    with any_app.app_context():
        competition = db.session.get(Competition, world.competition_id)
        newer = what_if_svc.recent(competition, KNOBS, first.snapshot)
        assert newer.baseline.id != world.run_id
        assert newer.snapshot != first.snapshot


_TOKEN = re.compile(r'"I[\w-]*\.[\w-]+\.[\w-]+"')


def _body(response) -> str:
    return _TOKEN.sub('"csrf"', response.get_data(as_text=True))


def test_the_pages_links_carry_the_snapshot_and_show_what_a_fresh_page_shows(any_app):
    world = build(any_app)
    staff = login(any_app, PREPARER)
    url = f"/staff/competitions/{world.competition_id}/what-if?total_funds=600000&min_score=70"
    first = staff.get(url)
    assert first.status_code == 200
    links = [unescape(h) for h in re.findall(r'href="([^"]*kind=all[^"]*)"', _body(first))]
    assert links and all("snapshot=" in h for h in links)
    snapshot = re.search(r"snapshot=(\w+)", links[0]).group(1)
    with any_app.app_context(), Statements() as kept_reads:
        kept = staff.get(links[0])
    with any_app.app_context(), Statements() as fresh_reads:
        fresh = staff.get(f"{url}&kind=all")  # no snapshot: ranked again
    assert kept.status_code == fresh.status_code == 200
    assert len(kept_reads.seen) < len(fresh_reads.seen)
    assert "T-001" in _body(kept)
    assert _body(kept) == _body(fresh).replace(
        re.search(r"snapshot=(\w+)", _body(fresh)).group(1), snapshot
    )
