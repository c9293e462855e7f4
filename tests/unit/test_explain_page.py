"""The explanation page's tables (scoring.core.explain_page), from the stored explanation dict,
on the hand-computed cases of tests/unit/test_ranking.py (pure: no app, no database)."""

from __future__ import annotations

import json

from scoring.core.explain_page import Facts, explanation_sheet
from scoring.core.ranking import explanation_data
from tests.unit.test_ranking import ZSCORE_REVIEWS, app, explained, reviews, run


def _parts(result, ref, facts=None):
    data = json.loads(json.dumps(explanation_data(result, ref)))  # as stored
    return {p.key: p for p in explanation_sheet(data, facts)}


def test_zscore_in_words_with_the_hand_numbers():
    # X: r1 60 (r1 mean 70, sd 8.165), r2 80 (mean 85, sd 4.0825): both z = -√1.5 = -1.22,
    # adjusted 77.5 - 12.1192 = 65.3808 (test_zscore_applied_with_hand_numbers).
    result = run([app("X"), app("Y"), app("Z")], ZSCORE_REVIEWS, normalization="zscore")
    part = _parts(result, "X")["normalisation"]
    rows = part.tables[0].rows
    assert rows[0][:7] == ["r1", "60", "3", "70", "8.165", "-1.22", "65.3808"]
    assert rows[0][7].startswith("Adjusted: 1.22 standard deviations below this reviewer's own")
    assert rows[1][:7] == ["r2", "80", "3", "85", "4.0825", "-1.22", "65.3808"]
    assert "the panel's mean is 77.5 and its standard deviation 9.8953" in part.intro[0]
    assert part.after[0] == (
        "Application score: the mean of the scores used, (65.3808 + 65.3808) ÷ 2 = 65.3808."
    )


def test_zscore_not_applied_says_why():
    result = run(
        [app("X"), app("Y")], reviews("X", 60, 70) + reviews("Y", 80, 90), normalization="zscore"
    )
    rows = _parts(result, "X")["normalisation"].tables[0].rows
    assert rows[0][5:] == [
        "—",
        "60",
        "Used as given: this reviewer has only 2 counted reviews (3 are needed)",
    ]


def test_priorities_claimed_and_confirmed_and_the_award_cap():
    claims = [
        {
            "key": "network",
            "title": "Network school",
            "points": 5,
            "claimed": True,
            "confirmed": True,
            "refused_reason": None,
        },
        {
            "key": "turn",
            "title": "Turnaround",
            "points": 2,
            "claimed": True,
            "confirmed": False,
            "refused_reason": "Not on the list",
        },
    ]
    parts = _parts(explained(), "X", Facts(claims=claims, reviewer_names={"r1": "Ann"}))
    table = parts["priorities"].tables[0]
    assert table.rows == [
        ["Network school", "5", "Yes", "Yes", "5"],
        ["Turnaround", "2", "Yes", "No: Not on the list", "0"],
    ]
    assert table.foot[-1] == "5"
    assert parts["priorities"].after == [
        "Final score = application score + priority points = 73.5714 + 5 = 78.5714."
    ]
    assert parts["reviewers"].tables[0].rows[0][0] == "Ann (r1)"
    funding = dict(parts["funding"].tables[0].rows)
    assert funding["Requested"] == "$400.00"
    assert funding["Request considered (at most the largest award, $300.00)"] == "$300.00"
    assert funding["Funds left before this application"] == "$700.00"
    assert funding["Outcome"] == "Funded: funded at the maximum award of $300.00"
    assert "decided by: higher final score first." in " ".join(parts["rank"].intro)
