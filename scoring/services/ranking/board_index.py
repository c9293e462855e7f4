"""A done run's narrow columns, kept in this process, from which the board chooses a page
(issue 14).

A result row of a 100,000-application run is about 1.3 KB on disk (its explanation is stored
with it), so every query that filters, sorts or sums over the run reads some 130 MB. A done
run's results never change, so the columns a page is chosen by (position, rank, final score,
computed status and award, district, ref, school, flags) are read once per process in one
narrow query and kept for the last few runs (``columns_of``); what can change is applied on top
at each request: the staff exceptions (``effective``: a handful of rows), the stability
(``stability_columns``, kept while the stability row is unchanged), the amounts requested and the
district and school names (read when a sort or a search needs them). ``board_page`` filters,
sorts and counts over these arrays and reads only the shown page's rows from the database.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, String, cast, func, select

from scoring.extensions import db
from scoring.models import (
    Application,
    AwardOverride,
    District,
    RankingResult,
    RankingRun,
    StabilityResult,
    StabilityRun,
)

#: How many runs' columns a process keeps (about 15 MB each at 100,000 applications).
KEEP = 4


def whole(column, scale: int):
    """``column × scale`` as a whole number read straight from the driver (no Decimal per
    row): money in cents, a 4-place score in ten-thousandths."""
    return cast(func.round(column * scale), BigInteger)


@dataclass(frozen=True)
class RunColumns:
    """A run's results as arrays in funding order (position ascending)."""

    ids: np.ndarray  # result ids
    position: np.ndarray
    application_id: np.ndarray
    rank: np.ndarray  # float64, NaN: not ranked
    final: np.ndarray  # float64 ten-thousandths, NaN: no final score
    status: np.ndarray  # codes into ``statuses``
    statuses: tuple[str, ...]
    award: np.ndarray  # int64 cents
    district: np.ndarray  # codes into ``district_codes``
    district_codes: tuple[str, ...]
    refs: np.ndarray  # str
    refs_lower: np.ndarray  # str, lower-cased (the search)
    school: np.ndarray  # codes into ``school_codes``
    school_codes: tuple[str, ...]
    flags: dict[str, np.ndarray]  # flag → which rows carry it

    def __len__(self) -> int:
        return len(self.ids)


_RUNS: OrderedDict[tuple, RunColumns] = OrderedDict()
_STABILITY: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _remember(memo: OrderedDict, key: tuple, make) -> Any:
    if key in memo:
        memo.move_to_end(key)
    else:
        memo[key] = make()
        while len(memo) > KEEP:
            memo.popitem(last=False)
    return memo[key]


def _run_key(run: RankingRun) -> tuple:
    """What identifies a done run's stored results: the database, the run and its first and
    last result ids (two index probes)."""
    ends = [
        db.session.scalar(
            select(RankingResult.id)
            .where(RankingResult.run_id == run.id)
            .order_by(order(RankingResult.position))
            .limit(1)
        )
        for order in (lambda c: c.asc(), lambda c: c.desc())
    ]
    return (str(db.engine.url), run.id, run.status, run.finished_at, *ends)


def columns_of(run: RankingRun) -> RunColumns:
    """The run's narrow columns (read once per process while the run's results stand)."""
    return _remember(_RUNS, _run_key(run), lambda: _read(run))


def _codes(values: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Values as int codes into the sorted distinct values."""
    distinct, codes = np.unique(np.array(values, dtype=str), return_inverse=True)
    return codes.astype(np.int64), tuple(distinct.tolist())


def _read(run: RankingRun) -> RunColumns:
    rows = db.session.execute(
        select(
            RankingResult.id,
            RankingResult.position,
            RankingResult.application_id,
            RankingResult.rank,
            whole(RankingResult.final, 10000),
            RankingResult.status,
            whole(RankingResult.award, 100),
            RankingResult.district_code,
            RankingResult.ref,
            RankingResult.school_code,
            cast(RankingResult.flags, String),
        )
        .where(RankingResult.run_id == run.id)
        .order_by(RankingResult.position)
    ).all()
    ids, pos, apps, rank, final, status, award, district, refs, school, flags = (
        list(c) for c in (zip(*rows, strict=True) if rows else [()] * 11)
    )
    nan = float("nan")
    status_codes, statuses = _codes(status)
    district_codes, districts = _codes(district)
    school_codes, schools = _codes(school)
    masks: dict[str, np.ndarray] = {}
    flag_texts = np.array(flags, dtype=object)
    for text in set(flags):
        for flag in json.loads(text or "[]"):
            masks.setdefault(flag, np.zeros(len(rows), dtype=bool))
            masks[flag] |= flag_texts == text
    refs_array = np.array(refs, dtype=str)
    return RunColumns(
        np.array(ids, dtype=np.int64),
        np.array(pos, dtype=np.int64),
        np.array(apps, dtype=np.int64),
        np.array([nan if r is None else r for r in rank], dtype=np.float64),
        np.array([nan if f is None else f for f in final], dtype=np.float64),
        status_codes,
        statuses,
        np.array(award, dtype=np.int64),
        district_codes,
        districts,
        refs_array,
        np.char.lower(refs_array),
        school_codes,
        schools,
        masks,
    )


@dataclass(frozen=True)
class Effective:
    """The decisions that count, with the staff exceptions applied (aligned on the columns)."""

    status: np.ndarray  # str
    award: np.ndarray  # int64 cents
    exception: np.ndarray  # bool


def effective(run: RankingRun, cols: RunColumns) -> Effective:
    """The effective status and award of every row: the exception's where there is one."""
    status = np.array(cols.statuses, dtype=object)[cols.status] if len(cols) else np.array([])
    award = cols.award.copy()
    exception = np.zeros(len(cols), dtype=bool)
    rows = db.session.execute(
        select(
            AwardOverride.application_id, AwardOverride.status, whole(AwardOverride.amount, 100)
        ).where(AwardOverride.run_id == run.id)
    ).all()
    if rows:
        by_app = np.argsort(cols.application_id)
        for app_id, o_status, cents in rows:
            at = np.searchsorted(cols.application_id, app_id, sorter=by_app)
            if at < len(cols) and cols.application_id[by_app[at]] == app_id:
                i = by_app[at]
                status[i], award[i], exception[i] = o_status, int(cents), True
    return Effective(status, award, exception)


def stability_columns(
    run: RankingRun, cols: RunColumns, stability: StabilityRun | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``funded_in`` (NaN without a stability figure) and whether it is a toss-up
    (ranked in the resamples, funded in 20%-80% of them), kept while the stability stands."""
    if stability is None:
        return np.full(len(cols), np.nan), np.zeros(len(cols), dtype=bool)
    key = (str(db.engine.url), run.id, stability.id, stability.status, stability.resamples)
    return _remember(_STABILITY, key, lambda: _read_stability(cols, stability))


def _read_stability(cols: RunColumns, stability: StabilityRun) -> tuple[np.ndarray, np.ndarray]:
    funded = np.full(len(cols), np.nan)
    toss = np.zeros(len(cols), dtype=bool)
    rows = db.session.execute(
        select(StabilityResult.ref, StabilityResult.funded_in, StabilityResult.rank_lo).where(
            StabilityResult.stability_id == stability.id
        )
    ).all()
    if not rows or not len(cols):
        return funded, toss
    refs = np.array([r[0] for r in rows], dtype=str)
    by_ref = np.argsort(cols.refs)
    at = np.minimum(np.searchsorted(cols.refs, refs, sorter=by_ref), len(cols) - 1)
    found = cols.refs[by_ref[at]] == refs
    where = by_ref[at[found]]
    got = np.array([r[1] for r in rows], dtype=np.float64)[found]
    ranked = np.array([r[2] is not None for r in rows], dtype=bool)[found]
    funded[where] = got
    r = stability.resamples
    toss[where] = ranked & (r > 0) & (got * 5 >= r) & (got * 5 <= 4 * r)
    return funded, toss


_REQUESTED: OrderedDict[tuple, np.ndarray] = OrderedDict()


def requested_cents(run: RankingRun, cols: RunColumns) -> np.ndarray:
    """What each row's application asks for now, in cents (the application table), kept while
    the competition's applications are unchanged: their number, the sum of their versions (an
    edit through the ORM adds one) and the latest ``updated_at`` (any UPDATE sets it)."""
    count, versions, latest = db.session.execute(
        select(
            func.count(Application.id),
            func.sum(Application.version),
            func.max(Application.updated_at),
        ).where(Application.competition_id == run.competition_id)
    ).one()
    key = (*_run_key(run), count, versions, latest)
    return _remember(_REQUESTED, key, lambda: _read_requested(run, cols))


def _read_requested(run: RankingRun, cols: RunColumns) -> np.ndarray:
    rows = db.session.execute(
        select(Application.id, whole(Application.requested_amount, 100)).where(
            Application.competition_id == run.competition_id
        )
    ).all()
    out = np.zeros(len(cols), dtype=np.int64)
    if not rows or not len(cols):
        return out
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    cents = np.array([r[1] for r in rows], dtype=np.int64)
    by_id = np.argsort(ids)
    at = np.minimum(np.searchsorted(ids, cols.application_id, sorter=by_id), len(ids) - 1)
    found = ids[by_id[at]] == cols.application_id
    out[found] = cents[by_id[at[found]]]
    return out


def district_names(cols: RunColumns) -> dict[str, str]:
    """The current name of each district code of the run (codes with no district left out)."""
    return dict(
        db.session.execute(
            select(District.code, District.name).where(District.code.in_(cols.district_codes))
        ).all()
    )
