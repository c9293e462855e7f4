"""The paged board (issue 14) against the whole board computed row by row, on SQLite and
PostgreSQL: every page of every sort, put together, is the unpaged list in the same order and
the order a Python sort of the full board gives; each filter keeps what Python filtering of the
full list keeps; the totals, counts, funding line, running totals and the chart from SQL
aggregates equal the sums over every row.

Data: tests/fixtures/small_bundle.json ranked (see tests/test_staff_board.py), with two staff
exceptions and the run's stability computed, and three results a page so that every list spans
several pages.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from scoring.extensions import db
from scoring.models import Application, RankingRun, School, StabilityResult, User
from scoring.services.decisions import decisions
from scoring.services.ranking import board as boards
from scoring.services.ranking import board_page, board_totals, stability
from scoring.services.ranking.board_page import BoardQuery
from tests.staff_world import PREPARER, build

PER = 3
SORTS = board_page.SORTS


@pytest.fixture
def run_id(any_app):
    world = build(any_app)
    from workers.tasks import rank_stability

    with any_app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        ids = dict(db.session.execute(select(Application.ref, Application.id)).all())
        decisions.set_override(
            run,
            ids["T-003"],
            status="waitlisted",
            amount=Decimal("0"),
            justification="The district withdrew its match.",
            actor=actor,
        )
        decisions.set_override(
            run,
            ids["T-004"],
            status="partially_funded",
            amount=Decimal("120000"),
            justification="Money freed by T-003, given to the next school.",
            actor=actor,
        )
        db.session.commit()
    rank_stability(world.run_id)
    with any_app.app_context():  # toss-ups at both edges (20% and 80% count), one just outside
        row = stability.stability_of(db.session.get(RankingRun, world.run_id))
        r = row.resamples
        for ref, funded_in in (("T-002", r // 5), ("T-001", r * 4 // 5), ("T-003", r * 4 // 5 + 1)):
            db.session.execute(
                update(StabilityResult)
                .where(StabilityResult.stability_id == row.id, StabilityResult.ref == ref)
                .values(funded_in=funded_in)
            )
        db.session.commit()
    return world.run_id


def _reference(run: RankingRun) -> list[dict]:
    """Every row of the board built row by row (the unpaged board of before), with what the
    sorts and filters need."""
    view = boards.board(run)
    figures = stability.stability_records(run) or {}
    schools = dict(db.session.execute(select(School.code, School.name)).all())
    requested = dict(db.session.execute(select(Application.id, Application.requested_amount)).all())
    out = []
    for row in view.rows:
        r = row.result
        f = figures.get(r.ref)
        out.append(
            {
                "ref": r.ref,
                "position": r.position,
                "rank": r.rank,
                "score": r.final,
                "district": row.district_name or r.district_code,
                "district_code": r.district_code,
                "requested": requested[r.application_id],
                "awarded": row.award,
                "stability": f["funded_in"] if f else None,
                "toss_up": bool(f and f["toss_up"]),
                "status": row.status,
                "flags": r.flags or [],
                "exception": row.override is not None,
                "school": schools[r.school_code],
                "running_total": row.running_total,
                "funded_side": row.funded_side,
            }
        )
    return out


def _sorted(rows: list[dict], key: str, desc: bool) -> list[str]:
    by_position = sorted(rows, key=lambda r: r["position"])
    if key == "position":
        return [r["ref"] for r in (by_position[::-1] if desc else by_position)]
    present = [r for r in by_position if r[key] is not None]
    missing = [r for r in by_position if r[key] is None]
    present.sort(key=lambda r: r[key], reverse=desc)  # stable: ties stay in funding order
    return [r["ref"] for r in present + missing]


def _pages(run: RankingRun, query: BoardQuery) -> list[str]:
    first = board_page.page_of(run, query, None)
    refs = [r.ref for r in first.rows]
    for n in range(2, first.pages + 1):
        page = board_page.page_of(run, _with(query, page=n), None)
        assert len(page.rows) <= PER and page.matching == first.matching
        refs += [r.ref for r in page.rows]
    return refs


def _with(query: BoardQuery, **kw) -> BoardQuery:
    return BoardQuery(**{**query.__dict__, **kw})


@pytest.mark.parametrize("desc", [False, True])
def test_pages_of_every_sort_make_the_unpaged_list_in_order(any_app, run_id, desc):
    with any_app.app_context():
        run = db.session.get(RankingRun, run_id)
        rows = _reference(run)
        assert len(rows) == 8
        for key in SORTS:
            query = BoardQuery(sort=key, descending=desc, per_page=PER)
            unpaged = [
                r.ref for r in board_page.page_of(run, _with(query, per_page=None), None).rows
            ]
            assert unpaged == _sorted(rows, key, desc), key
            assert _pages(run, query) == unpaged, key
            assert board_page.page_of(run, query, None).pages == 3


FILTERS = [
    ("status", "funded", lambda r: r["status"] == "funded"),
    ("status", "waitlisted", lambda r: r["status"] == "waitlisted"),
    ("status", "partially_funded", lambda r: r["status"] == "partially_funded"),
    ("status", "incomplete", lambda r: r["status"] == "incomplete"),
    ("district", "001", lambda r: r["district_code"] == "001"),
    ("district", "002", lambda r: r["district_code"] == "002"),
    ("flag", "discrepancy", lambda r: "discrepancy" in r["flags"]),
    ("flag", "tie", lambda r: "tie" in r["flags"]),
    ("flag", "override", lambda r: r["exception"]),
    ("flag", "toss_up", lambda r: r["toss_up"]),
    ("q", "t-00", lambda r: True),
    ("q", "T-002", lambda r: r["ref"] == "T-002"),
    ("q", "HIGH", lambda r: "high" in r["school"].lower() or "high" in r["ref"].lower()),
    ("q", "%", lambda r: "%" in r["school"]),
    ("q", "_", lambda r: "_" in r["school"]),
]


@pytest.mark.parametrize("name, value, keep", FILTERS)
def test_each_filter_equals_python_filtering_of_the_full_list(any_app, run_id, name, value, keep):
    with any_app.app_context():
        run = db.session.get(RankingRun, run_id)
        rows = _reference(run)
        expected = [r["ref"] for r in sorted(rows, key=lambda r: r["position"]) if keep(r)]
        query = BoardQuery(per_page=PER, **{name: value})
        assert _pages(run, query) == expected
        assert board_page.page_of(run, query, None).matching == len(expected)
        for key in SORTS:  # filter and sort together
            kept = [r for r in rows if keep(r)]
            both = _with(query, sort=key, descending=True)
            assert _pages(run, both) == _sorted(kept, key, True), key


def test_the_reference_has_each_kind_of_row(any_app, run_id):
    """The filters above are not vacuous: the data holds each case at least once."""
    with any_app.app_context():
        rows = _reference(db.session.get(RankingRun, run_id))
    assert any(r["exception"] for r in rows) and any(r["toss_up"] for r in rows)
    assert any("tie" in r["flags"] for r in rows) and any(r["rank"] is None for r in rows)


def test_aggregates_equal_sums_over_every_row(any_app, run_id):
    with any_app.app_context():
        run = db.session.get(RankingRun, run_id)
        view = boards.board(run)
        rows = _reference(run)
        summary = board_totals.summary_of(run)
        assert summary.applications == len(rows) == 8
        assert summary.ranked == sum(r["rank"] is not None for r in rows)
        assert summary.requested == sum(r["requested"] for r in rows)
        assert summary.computed_total == view.computed_total
        assert summary.effective_total == view.effective_total == sum(r["awarded"] for r in rows)
        assert summary.remaining == view.remaining
        assert summary.exceptions == len(view.overrides) == 2
        assert summary.line_after == view.line_after and summary.cut_score == view.cut_score
        assert summary.by_status == dict(Counter(r["status"] for r in rows))
        assert board_totals.toss_up_count(run) == sum(r["toss_up"] for r in rows)
        assert board_totals.districts_of(run) == view.districts
        # the chart from SQL bins is the chart drawn from every row; its top is the highest
        # ranked final score (taken from the bins' own query)
        finals = [v.result.final for v in view.rows if v.result.rank is not None]
        assert board_totals.score_bins(run)[1] == max(f for f in finals if f is not None)
        assert str(board_totals.distribution_chart(run, summary)) == str(
            boards.distribution_chart(view)
        )
        # running totals and the funding side of every row, whatever page it is on
        by_ref = {r["ref"]: r for r in rows}
        for key in SORTS:
            for n in (1, 2, 3):
                query = BoardQuery(sort=key, page=n, per_page=PER)
                for row in board_page.page_of(run, query, summary.line_after).rows:
                    assert row.running_total == by_ref[row.ref]["running_total"], row.ref
                    assert row.funded_side == by_ref[row.ref]["funded_side"], row.ref
                    assert row.award == by_ref[row.ref]["awarded"]


def test_a_page_past_the_end_shows_the_last_page(any_app, run_id):
    with any_app.app_context():
        run = db.session.get(RankingRun, run_id)
        page = board_page.page_of(run, BoardQuery(page=99, per_page=PER), None)
        assert page.page == page.pages == 3 and len(page.rows) == 2
        empty = board_page.page_of(run, BoardQuery(q="no such school"), None)
        assert empty.rows == [] and empty.matching == 0 and empty.pages == 1


def test_remembered_figures_follow_a_new_exception(any_app, run_id):
    """``totals_of`` remembers a run's figures; a new or changed exception is seen at once."""
    with any_app.app_context():
        run = db.session.get(RankingRun, run_id)
        before, figures = board_totals.totals_of(run)
        assert before == board_totals.summary_of(run)
        assert board_totals.totals_of(run)[0] == before  # remembered, same figures
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        t004 = db.session.scalar(select(Application.id).where(Application.ref == "T-004"))
        decisions.set_override(
            run,
            t004,
            status="partially_funded",
            amount=Decimal("100000"),
            justification="A smaller award for the same school.",
            actor=actor,
        )
        db.session.commit()
        after, _ = board_totals.totals_of(run)
        assert after == board_totals.summary_of(run)
        assert after.effective_total == before.effective_total - Decimal("20000")
        assert figures.districts == board_totals.districts_of(run)


def test_the_kept_columns_follow_edits(any_app, run_id):
    """A page is chosen over the run's columns kept in the process (``board_index``); an
    amount requested changed, a school renamed, a new exception and the stability's figures are
    seen at the next page, which is again what filtering and sorting every row gives."""
    with any_app.app_context():
        run = db.session.get(RankingRun, run_id)
        board_page.page_of(run, BoardQuery(sort="requested", per_page=PER), None)  # kept now
        app = db.session.scalar(select(Application).where(Application.ref == "T-002"))
        app.requested_amount = Decimal("1.00")  # through the ORM, as an edit is
        school = db.session.scalar(select(School).where(School.code == app.school.code))
        school.name = "Renamed Quarry Academy"
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        decisions.set_override(
            run,
            app.id,
            status="waitlisted",
            amount=Decimal("0"),
            justification="Asked for less than its match.",
            actor=actor,
        )
        db.session.commit()
        rows = _reference(run)
        assert next(r for r in rows if r["ref"] == "T-002")["requested"] == Decimal("1.00")
        for desc in (False, True):
            query = BoardQuery(sort="requested", descending=desc, per_page=PER)
            assert _pages(run, query) == _sorted(rows, "requested", desc)
        found = board_page.page_of(run, BoardQuery(q="quarry academy"), None)
        assert [r.ref for r in found.rows] == ["T-002"]
        exceptions = board_page.page_of(run, BoardQuery(flag="override"), None)
        assert {r.ref for r in exceptions.rows} == {r["ref"] for r in rows if r["exception"]}
        assert board_totals.summary_of(run).requested == sum(r["requested"] for r in rows)
