"""Funding (docs/ranking.md §6): funding order and the fund-down, in exact integer cents.

Funding order is ``(tier ascending, rank ascending)``. Money is integer cents; a partial award
(= room) is already "rounded down to the cent". ``min_award`` is used only as the default
``partial_min`` (§2): the engine does not re-check it for full awards.
"""

from __future__ import annotations

from decimal import ROUND_CEILING

import numpy as np

from scoring.core.numbers import money_cents
from scoring.core.ranking.columns import (
    BELOW,
    DISTRICT_CAP,
    FUNDED,
    FUNDS,
    INCOMPLETE,
    INELIGIBLE,
    NO_REASON,
    PARTIAL,
    WAITLISTED,
    Columns,
)

__all__ = ["fund_down"]

_W_FUNDS, _W_DISTRICT = 10, 11  # loop codes for "waitlisted" with its reason


def fund_down(c: Columns) -> None:
    """§6: funding order and the fund-down loop, in exact integer cents.

    The loop is the spec's pseudo-code line by line (the ``min_score`` test comes before the
    ``stopped`` test; the district count cap does not stop a strict fund-down). Once a strict
    fund-down stops, every later application is ``below_threshold`` or ``waitlisted (funds)``,
    so the loop ends there and the tail is filled in at once. What the explanation needs
    (remaining before, room, the district's count and amount before) is derived afterwards.
    """
    p = c.policy
    fo = c.rank_order[np.argsort(c.tiers[c.rank_order], kind="stable")]
    c.fund_order = fo
    min6 = int(p.min_score.scaleb(6).to_integral_value(ROUND_CEILING))
    below_a = c.final6[fo] < min6
    c.request = (
        c.requested
        if p.max_award is None
        else np.minimum(c.requested, money_cents(p.max_award, "max_award"))
    )
    ids = {d: k for k, d in enumerate(dict.fromkeys(c.districts))}
    c.district_code = np.fromiter(
        map(ids.__getitem__, c.districts), dtype=np.int64, count=len(c.districts)
    )
    max_n = p.district_max_awards
    max_amt = None if p.district_max_amount is None else money_cents(p.district_max_amount, "")
    partial_min = money_cents(p.effective_partial_min, "partial_min")
    partial, strict = p.partial_funding, p.fund_down == "strict"
    remaining = total = money_cents(p.total_funds, "total_funds")
    funded_n, awarded = [0] * len(ids), [0] * len(ids)
    codes: list[int] = []
    awards: list[int] = []
    stop = -1
    for j, (below, request, d) in enumerate(
        zip(below_a.tolist(), c.request[fo].tolist(), c.district_code[fo].tolist(), strict=True)
    ):
        if below:
            codes.append(BELOW)
            awards.append(0)
            continue
        n_d = funded_n[d]
        if max_n is not None and n_d >= max_n:
            codes.append(_W_DISTRICT)
            awards.append(0)
            continue
        room = remaining if max_amt is None else min(remaining, max_amt - awarded[d])
        if request <= room:
            code, award = FUNDED, request
        elif partial and room >= partial_min:
            code, award = PARTIAL, room
        else:
            code, award = (_W_DISTRICT if room < remaining else _W_FUNDS), 0
            if strict and code == _W_FUNDS:
                codes.append(code)
                awards.append(0)
                stop = j
                break
        codes.append(code)
        awards.append(award)
        remaining -= award
        if award > 0:
            funded_n[d] = n_d + 1
            awarded[d] += award
    tail = np.where(below_a[len(codes) :], BELOW, _W_FUNDS)
    _store_funding(
        c,
        np.concatenate((np.array(codes, dtype=np.int64), tail)),
        np.array(awards + [0] * len(tail), dtype=np.int64),
        total,
        stop,
    )


def _store_funding(
    c: Columns, codes: np.ndarray, award_fo: np.ndarray, total: int, stop: int
) -> None:
    """Scatter the fund-down results into per-application columns; fix the document order."""
    n, fo, p = len(c.refs), c.fund_order, c.policy
    status = np.where(codes >= _W_FUNDS, WAITLISTED, codes)
    c.status[fo] = status
    c.reason_code = np.zeros(n, dtype=np.int8)
    c.reason_code[fo] = np.select(
        [codes == _W_FUNDS, codes == _W_DISTRICT], [FUNDS, DISTRICT_CAP], NO_REASON
    )
    before = total - (np.cumsum(award_fo) - award_fo)
    c.position = np.zeros(n, dtype=np.int64)
    c.position[fo] = np.arange(1, len(fo) + 1)
    c.rem_before = np.zeros(n, dtype=np.int64)
    c.rem_before[fo] = before
    c.rem_after = c.rem_before.copy()
    c.rem_after[fo] = before - award_fo
    # per funding position: the district's awards and amount before it (exclusive sums
    # within the district, in funding order), the room where §6 computed one, and the stop
    dist = c.district_code[fo]
    by = np.lexsort((np.arange(len(fo)), dist))
    n_before, amt_before = np.zeros(len(fo), np.int64), np.zeros(len(fo), np.int64)
    for target, values in ((n_before, (award_fo > 0).astype(np.int64)), (amt_before, award_fo)):
        v = values[by]
        excl = np.cumsum(v) - v
        first = np.r_[True, dist[by][1:] != dist[by][:-1]] if len(by) else np.zeros(0, bool)
        target[by] = excl - np.maximum.accumulate(np.where(first, excl, 0))
    computed = (status != BELOW) & ((np.arange(len(fo)) <= stop) | (stop < 0))
    if p.district_max_awards is not None:
        computed &= n_before < p.district_max_awards
    room = (
        before
        if p.district_max_amount is None
        else np.minimum(before, money_cents(p.district_max_amount, "") - amt_before)
    )
    c.by_position = np.stack([np.where(computed, room, -1), n_before, amt_before])
    c.stop = stop
    incomplete = np.nonzero(c.status == INCOMPLETE)[0]
    ineligible = np.nonzero(c.status == INELIGIBLE)[0]
    c.doc_order = np.concatenate((fo, incomplete, ineligible)).astype(np.int64)
