"""``services.kept.Kept``: the per-process keeper a threaded server's threads share."""

from __future__ import annotations

import threading

from scoring.services.kept import Kept


def test_many_threads_asking_for_one_key_make_it_once():
    kept: Kept[list] = Kept(4)
    threads_n = 12
    arrived = threading.Barrier(threads_n)
    made: list[int] = []
    got: list[object] = []
    lock = threading.Lock()

    def make():
        with lock:
            made.append(1)
        return ["value"]

    def ask():
        arrived.wait()
        value = kept.get("key", make)
        with lock:
            got.append(value)

    threads = [threading.Thread(target=ask) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len(got) == threads_n and all(v is got[0] for v in got)


def test_a_second_key_is_served_while_the_first_is_made():
    kept: Kept[str] = Kept(4)
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(30)
        return "slow"

    worker = threading.Thread(target=lambda: kept.get("a", slow))
    worker.start()
    started.wait(30)
    assert kept.get("b", lambda: "quick") == "quick"  # not blocked behind "a"
    release.set()
    worker.join()
    assert kept.get("a", lambda: "again") == "slow"


def test_the_least_recently_used_is_dropped_and_a_failed_make_keeps_nothing():
    kept: Kept[int] = Kept(2)
    assert kept.get(1, lambda: 10) == 10
    assert kept.get(2, lambda: 20) == 20
    assert kept.get(1, lambda: -1) == 10  # 1 used last
    assert kept.get(3, lambda: 30) == 30
    assert 2 not in kept and 1 in kept and 3 in kept and len(kept) == 2

    def fail():
        raise RuntimeError("database away")

    try:
        kept.get(4, fail)
    except RuntimeError:
        pass
    assert 4 not in kept
    assert kept.get(4, lambda: 40) == 40
    kept.clear()
    assert len(kept) == 0


def test_a_value_older_than_ttl_is_made_again():
    kept: Kept[int] = Kept(4, ttl=0)  # every value already too old
    assert kept.get("k", lambda: 1) == 1
    assert kept.get("k", lambda: 2) == 2
    lasting: Kept[int] = Kept(4, ttl=3600)
    assert lasting.get("k", lambda: 1) == 1
    assert lasting.get("k", lambda: 2) == 1
