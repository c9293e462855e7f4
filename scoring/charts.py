"""Inline SVG charts drawn by the app itself (no script, no third-party CDN, CSP-safe).

Values in, markup out: no database or request. Colours are presentation attributes (the CSP
``default-src 'self'`` forbids inline ``style``), and every chart has a ``<title>`` and a
``<desc>`` that says in words what it shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

FUNDED = "#1e6b35"
UNFUNDED = "#9aa5b1"
LINE = "#a4161a"
INK = "#1b2330"
MUTED = "#5b6675"


def _f(x: float) -> str:
    """Coordinates with one decimal (short markup)."""
    return f"{x:.1f}"


@dataclass(frozen=True)
class ScorePoint:
    """One ranked application: its final score and whether it receives money."""

    final: Decimal
    funded: bool


def unit_bins(points: Sequence[ScorePoint]) -> dict[int, tuple[int, int]]:
    """Final scores in one-point bins: ``{floor(final): (funded, not funded)}``."""
    bins: dict[int, list[int]] = {}
    for p in points:
        pair = bins.setdefault(math.floor(p.final), [0, 0])
        pair[0 if p.funded else 1] += 1
    return {b: (f, o) for b, (f, o) in bins.items()}


def score_distribution(
    points: Sequence[ScorePoint],
    *,
    cut_score: Decimal | None,
    min_score: Decimal | None,
    bin_width: int = 5,
    width: int = 640,
    height: int = 240,
    css: str = "",
) -> Markup:
    """Histogram of final scores (funded bars green, others grey) with the funding line drawn at
    the lowest funded score and the minimum fundable score dashed."""
    if not points:
        return Markup("")
    return score_histogram(
        unit_bins(points),
        max(p.final for p in points),
        cut_score=cut_score,
        min_score=min_score,
        bin_width=bin_width,
        width=width,
        height=height,
        css=css,
    )


def score_histogram(
    bins: dict[int, tuple[int, int]],
    top_final: Decimal | float | None,
    *,
    cut_score: Decimal | None,
    min_score: Decimal | None,
    bin_width: int = 5,
    width: int = 640,
    height: int = 240,
    css: str = "",
) -> Markup:
    """``score_distribution`` drawn from one-point bins (``unit_bins``, or a GROUP BY in SQL)
    and the highest final score, so a large run's chart needs no row per application."""
    if not bins or top_final is None:
        return Markup("")
    top = max(100.0, float(top_final))
    n_bins = max(1, math.ceil(top / bin_width))
    funded = [0] * n_bins
    other = [0] * n_bins
    for unit, (f, o) in bins.items():
        i = min(n_bins - 1, max(0, unit // bin_width))
        funded[i] += f
        other[i] += o
    peak = max(f + o for f, o in zip(funded, other, strict=True)) or 1
    left, right, top_pad, bottom = 36, 12, 26, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x_of(score):
        return left + plot_w * score / (n_bins * bin_width)

    def y_of(count):
        return top_pad + plot_h - plot_h * count / peak

    parts = [_axes(left, top_pad, plot_w, plot_h, peak, y_of)]
    bar_w = plot_w / n_bins
    for i in range(n_bins):
        x = left + i * bar_w + 1
        for count, base, colour in ((funded[i], 0, FUNDED), (other[i], funded[i], UNFUNDED)):
            if count:
                y = y_of(base + count)
                parts.append(
                    f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(bar_w - 2)}" '
                    f'height="{_f(y_of(base) - y)}" fill="{colour}"/>'
                )
    for tick in range(0, n_bins * bin_width + 1, max(bin_width, 10)):
        parts.append(
            f'<text x="{_f(x_of(tick))}" y="{height - bottom + 16}" font-size="11" '
            f'text-anchor="middle" fill="{MUTED}">{tick}</text>'
        )
    parts.append(
        f'<text x="{_f(left + plot_w / 2)}" y="{height - 4}" font-size="11" '
        f'text-anchor="middle" fill="{MUTED}">final score</text>'
    )
    if min_score is not None and float(min_score) > 0:
        x = x_of(float(min_score))
        parts.append(
            f'<line x1="{_f(x)}" y1="{top_pad}" x2="{_f(x)}" y2="{top_pad + plot_h}" '
            f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{_f(x - 4)}" y="{top_pad - 6}" font-size="11" '
            f'text-anchor="end" fill="{MUTED}">min score {escape(_num(min_score))}</text>'
        )
    if cut_score is not None:
        x = x_of(float(cut_score))
        parts.append(
            f'<line x1="{_f(x)}" y1="{top_pad - 4}" x2="{_f(x)}" '
            f'y2="{top_pad + plot_h}" stroke="{LINE}" stroke-width="2"/>'
        )
        right_half = x > left + plot_w * 0.6
        parts.append(
            f'<text x="{_f(x - 4 if right_half else x + 4)}" y="{top_pad + 12}" '
            f'font-size="11" font-weight="bold" fill="{LINE}" '
            f'text-anchor="{"end" if right_half else "start"}">'
            f"funding line {escape(_num(cut_score))}</text>"
        )
    n_funded = sum(funded)
    desc = (
        f"{n_funded + sum(other)} ranked applications; {n_funded} receive an award. "
        + (
            f"The lowest funded final score is {_num(cut_score)}. "
            if cut_score is not None
            else "No application receives an award. "
        )
        + (f"The minimum fundable score is {_num(min_score)}." if min_score else "")
    )
    return _svg(
        width,
        height,
        "Distribution of final scores",
        desc,
        parts,
        legend=[(FUNDED, "awarded"), (UNFUNDED, "not awarded")],
        css=css,
    )


#: Below this many counted reviews a reviewer's leniency is not judged (one review says little).
MIN_REVIEWS = 3
TOO_FEW = "too few reviews to judge"


@dataclass(frozen=True)
class ReviewerLeniency:
    """One reviewer against the panel: their offset (mean of own score minus colleagues' mean
    on the same applications, 0-100 scale) over ``n`` counted reviews; ``None`` when nothing is
    shared or there are too few reviews to judge."""

    reviewer: str
    n: int
    offset: float | None


def reviewer_leniency(
    reviewers: Sequence[ReviewerLeniency],
    *,
    width: int = 640,
    row: int = 24,
    css: str = "",
) -> Markup:
    """A bar per reviewer from the panel (the middle line, offset 0) to their offset: to the
    right more lenient than colleagues on the same applications, to the left stricter. A reviewer
    with fewer than ``MIN_REVIEWS`` reviews, or none shared, gets words instead of a bar."""
    if not reviewers:
        return Markup("")
    label_w = min(200, width // 3)
    right, top_pad, value_room = 12, 26, 44
    height = top_pad + row * len(reviewers) + 24
    plot_w = width - label_w - right
    judged = [r.offset for r in reviewers if r.offset is not None]
    spread = max([5.0, *(abs(o) for o in judged)])
    mid = label_w + plot_w / 2
    scale = (plot_w / 2 - value_room) / spread
    parts = [
        f'<line x1="{_f(mid)}" y1="{top_pad - 6}" x2="{_f(mid)}" y2="{height - 20}" '
        f'stroke="{INK}" stroke-width="1"/>',
        f'<text x="{_f(mid)}" y="{top_pad - 12}" font-size="11" text-anchor="middle" '
        f'fill="{MUTED}">panel (0)</text>',
        f'<text x="{label_w}" y="{height - 6}" font-size="11" fill="{MUTED}">← stricter</text>',
        f'<text x="{width - right}" y="{height - 6}" font-size="11" text-anchor="end" '
        f'fill="{MUTED}">more lenient →</text>',
    ]
    for i, r in enumerate(reviewers):
        y = top_pad + i * row
        parts.append(
            f'<text x="{label_w - 8}" y="{_f(y + row * 0.65)}" font-size="12" '
            f'text-anchor="end" fill="{INK}">{escape(_short(r.reviewer, label_w // 8))} '
            f"({r.n})</text>"
        )
        if r.offset is None:
            words = TOO_FEW if r.n < MIN_REVIEWS else "nothing shared"
            parts.append(
                f'<text x="{_f(mid + 6)}" y="{_f(y + row * 0.65)}" font-size="11" '
                f'fill="{MUTED}" class="no-mark">{words}</text>'
            )
            continue
        delta = r.offset
        x = mid if delta >= 0 else mid + delta * scale
        colour = FUNDED if delta >= 0 else LINE
        parts.append(
            f'<rect class="mark" data-offset="{delta:+.1f}" x="{_f(x)}" y="{_f(y + 4)}" '
            f'width="{_f(abs(delta) * scale)}" height="{row - 8}" fill="{colour}"/>'
        )
        anchor_x = mid + delta * scale + (4 if delta >= 0 else -4)
        parts.append(
            f'<text x="{_f(anchor_x)}" y="{_f(y + row * 0.65)}" font-size="11" '
            f'text-anchor="{"start" if delta >= 0 else "end"}" fill="{MUTED}">'
            f"{delta:+.1f}</text>"
        )
    if judged:
        ranked = [r for r in reviewers if r.offset is not None]
        lenient = max(ranked, key=lambda r: r.offset)
        strict = min(ranked, key=lambda r: r.offset)
        desc = (
            f"{len(reviewers)} reviewers, {len(ranked)} judged. Most lenient: "
            f"{lenient.reviewer}, {lenient.offset:+.1f} against colleagues on the same "
            f"applications; strictest: {strict.reviewer}, {strict.offset:+.1f}."
        )
    else:
        desc = f"{len(reviewers)} reviewers, none with enough reviews to judge yet."
    return _svg(
        width,
        height,
        "Reviewer leniency (own score minus colleagues' mean on the same applications)",
        desc,
        parts,
        css=css,
    )


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def _axes(left: int, top: int, w: float, h: float, peak: int, y_of) -> str:
    lines = [
        f'<line x1="{left}" y1="{_f(top + h)}" x2="{_f(left + w)}" y2="{_f(top + h)}" '
        f'stroke="{INK}" stroke-width="1"/>'
    ]
    step = max(1, math.ceil(peak / 4))
    for count in range(0, peak + 1, step):
        y = y_of(count)
        lines.append(
            f'<text x="{left - 6}" y="{_f(y + 4)}" font-size="11" text-anchor="end" '
            f'fill="{MUTED}">{count}</text>'
        )
        if count:
            lines.append(
                f'<line x1="{left}" y1="{_f(y)}" x2="{_f(left + w)}" y2="{_f(y)}" '
                f'stroke="#e3e8ee" stroke-width="1"/>'
            )
    return "".join(lines)


def _svg(
    width: int,
    height: int,
    title: str,
    desc: str,
    parts: list[str],
    legend: list[tuple[str, str]] | None = None,
    css: str = "",
) -> Markup:
    legend_parts = []
    x = 4
    for colour, label in legend or []:
        legend_parts.append(f'<rect x="{x}" y="3" width="10" height="10" fill="{colour}"/>')
        legend_parts.append(
            f'<text x="{x + 14}" y="12" font-size="11" fill="{INK}">{escape(label)}</text>'
        )
        x += 14 + 7 * len(label) + 12
    return Markup(
        f'<svg class="chart {escape(css)}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
        + "".join(parts)
        + "".join(legend_parts)
        + "</svg>"
    )
