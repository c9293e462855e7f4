"""A threaded server (gunicorn's gthread workers) shares the per-process caches between
requests served at once: the board's run columns, stability and amounts (``board_index``), its
run figures (``board_totals``), the reviewer statistics (``reviewer_stats``) and the what-if
diffs (``what_if``), all ``services.kept.Kept``. Many threads asking one app for the board's
pages, the reviewer statistics and a what-if at once, starting from empty caches, get exactly
the pages one thread gets. On PostgreSQL (the production database).

Data: tests/fixtures/small_bundle.json ranked, a staff exception and the stability computed.
"""

from __future__ import annotations

import random
import re
import threading
from decimal import Decimal

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, RankingRun, User
from scoring.services.decisions import decisions
from scoring.services.kept import Kept
from scoring.services.ranking import board_index, board_totals
from scoring.services.reviews import reviewer_stats
from tests.staff_world import PREPARER, build, login

THREADS = 8
ROUNDS = 3


def _caches() -> list[Kept]:
    from scoring.services.ranking import what_if

    found = [board_index._RUNS, board_index._STABILITY, board_index._REQUESTED]
    found += [board_totals._MEMO, reviewer_stats._KEPT]
    found += [v for v in vars(what_if).values() if isinstance(v, Kept)]
    return found


def _clear() -> None:
    for cache in _caches():
        cache.clear()


#: A signed CSRF token (itsdangerous: base64 of the JSON string, timestamp, signature).
_TOKEN = re.compile(r'"I[\w-]*\.[\w-]+\.[\w-]+"')


def _page(client, url: str) -> tuple[int, str]:
    """Status and body of ``url`` with the per-session CSRF tokens taken out."""
    response = client.get(url)
    return response.status_code, _TOKEN.sub('"csrf"', response.get_data(as_text=True))


def _urls(competition_id: int, run_id: int) -> list[str]:
    board = f"/staff/competitions/{competition_id}/board"
    what_if = f"/staff/competitions/{competition_id}/what-if"
    return [
        board,
        f"{board}?page=2",
        f"{board}?sort=score&desc=1&page=2",
        f"{board}?sort=requested",
        f"{board}?sort=stability",
        f"{board}?flag=toss_up",
        f"{board}?status=funded",
        f"{board}?q=t-00",
        f"{board}?run={run_id}&flag=override",
        f"/staff/panel/c/{competition_id}/stats",
        f"{what_if}?total_funds=600000&min_score=70",
        f"{what_if}?total_funds=600000&min_score=70&kind=all&page=2",
        f"{what_if}?total_funds=450000&kind=changed",
    ]


def test_many_threads_get_the_pages_one_thread_gets(pg_app):
    world = build(pg_app)
    from workers.tasks import rank_stability

    with pg_app.app_context():
        run = db.session.get(RankingRun, world.run_id)
        actor = db.session.scalar(select(User).where(User.email == PREPARER))
        t003 = db.session.scalar(select(Application.id).where(Application.ref == "T-003"))
        decisions.set_override(
            run,
            t003,
            status="waitlisted",
            amount=Decimal("0"),
            justification="The district withdrew its match.",
            actor=actor,
        )
        db.session.commit()
    rank_stability(world.run_id)
    urls = _urls(world.competition_id, world.run_id)

    _clear()
    alone = login(pg_app, PREPARER)
    expected = {url: _page(alone, url) for url in urls}
    for url, (status, body) in expected.items():
        assert status == 200, (url, body[:300])
    assert "T-003" in expected[urls[0]][1]
    assert "Would award" in expected[urls[-3]][1]
    assert expected == {url: _page(alone, url) for url in urls}  # from the kept values

    clients = [login(pg_app, PREPARER) for _ in range(THREADS)]
    _clear()
    start = threading.Barrier(THREADS)
    seen: list[tuple[str, tuple[int, str]]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def serve(client, seed: int) -> None:
        order = [url for _ in range(ROUNDS) for url in urls]
        random.Random(seed).shuffle(order)
        try:
            start.wait()
            for url in order:
                got = _page(client, url)
                with lock:
                    seen.append((url, got))
        except BaseException as exc:  # reported below with the thread's answers
            with lock:
                failures.append(exc)

    threads = [
        threading.Thread(target=serve, args=(c, i), name=f"client-{i}")
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads)
    assert not failures, failures
    assert len(seen) == THREADS * ROUNDS * len(urls)
    wrong = [url for url, got in seen if got != expected[url]]
    assert not wrong, sorted(set(wrong))
