"""The leniency chart's marks agree with the numbers: a bar's side of the panel line follows the
sign of the offset, its length grows with the size, and too few reviews draws words, not a bar."""

from __future__ import annotations

import re

import pytest

from scoring.charts import MIN_REVIEWS, TOO_FEW, ReviewerLeniency, reviewer_leniency


def _marks(svg: str) -> tuple[float, dict[str, tuple[float, float]]]:
    """The panel line's x and, per offset label, the bar's left and right x."""
    mid = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))
    bars = {
        m.group(1): (float(m.group(2)), float(m.group(2)) + float(m.group(3)))
        for m in re.finditer(
            r'<rect class="mark" data-offset="([+-][\d.]+)" x="([\d.]+)" y="[\d.]+" '
            r'width="([\d.]+)"',
            svg,
        )
    }
    return mid, bars


@pytest.mark.parametrize("width", [640, 380])
def test_a_bar_lies_on_the_side_of_the_panel_its_sign_says(width):
    rows = [
        ReviewerLeniency("Lenient", 5, 7.5),
        ReviewerLeniency("Strict", 4, -12.0),
        ReviewerLeniency("Slightly strict", 3, -0.9),
        ReviewerLeniency("Slightly lenient", 6, 0.4),
    ]
    mid, bars = _marks(str(reviewer_leniency(rows, width=width)))
    assert set(bars) == {"+7.5", "-12.0", "-0.9", "+0.4"}
    for label, (left, right) in bars.items():
        if label.startswith("+"):
            assert left == pytest.approx(mid) and right > mid, label
        else:
            assert right == pytest.approx(mid, abs=0.1) and left < mid, label
    length = {k: r - left for k, (left, r) in bars.items()}
    assert length["-12.0"] > length["+7.5"] > length["-0.9"] > length["+0.4"] > 0


def test_too_few_reviews_draws_words_not_a_mark():
    svg = str(
        reviewer_leniency(
            [ReviewerLeniency("One review", MIN_REVIEWS - 1, None), ReviewerLeniency("B", 4, 2.0)]
        )
    )
    assert TOO_FEW in svg and svg.count('class="mark"') == 1
    assert "1 judged" in svg  # the <desc> counts only judged reviewers
