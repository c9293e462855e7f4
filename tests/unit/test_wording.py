"""Plain words for the ranking's codes (scoring/core/wording.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.core.wording import STATUS_WORDS, dollars, reason_words, status_words

POLICY = {
    "min_reviews": 2,
    "min_score": "60",
    "max_award": "250000",
    "district_max_awards": 2,
    "district_max_amount": "400000",
}


@pytest.mark.parametrize(
    ("status", "reason", "extra", "words"),
    [
        ("ineligible", "Late submission", {}, "not eligible: Late submission"),
        ("ineligible", None, {}, "not eligible"),
        ("incomplete", None, {}, "fewer than 2 counted reviews"),
        ("below_threshold", None, {}, "final score below the minimum of 60"),
        ("waitlisted", "funds", {}, "not enough funds left"),
        (
            "waitlisted",
            "district_cap",
            {"district_awards": 2},
            "district limit of 2 awards reached",
        ),
        (
            "waitlisted",
            "district_cap",
            {"district_awards": 1},
            "district limit of $400,000.00 reached",
        ),
        (
            "partially_funded",
            None,
            {"district_amount": Decimal("400000")},
            "funded in part, up to the district limit of $400,000.00",
        ),
        (
            "partially_funded",
            None,
            {"district_amount": Decimal("100000")},
            "funded in part with the funds left",
        ),
        (
            "funded",
            None,
            {"requested": Decimal("300000")},
            "funded at the maximum award of $250,000.00",
        ),
        ("funded", None, {"requested": Decimal("200000")}, "funded as requested"),
    ],
)
def test_reasons_in_words(status, reason, extra, words):
    assert reason_words(status, reason, POLICY, **extra) == words


def test_one_award_and_one_review_are_singular():
    assert reason_words(
        "waitlisted", "district_cap", {"district_max_awards": 1}, district_awards=1
    ) == ("district limit of 1 award reached")
    assert reason_words("incomplete", None, {"min_reviews": 1}) == "fewer than 1 counted review"


def test_every_status_has_words_and_none_is_a_code():
    for code, words in STATUS_WORDS.items():
        assert status_words(code) == words and "_" not in words
    assert status_words("partially_funded") == "Partly funded"
    assert status_words("some_new_code") == "Some new code" and status_words(None) == ""


def test_dollars_are_exact():
    assert dollars(Decimal("1234567.895")) == "$1,234,567.90"
    assert dollars("0") == "$0.00"
