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
from dataclasses import dataclass

import numpy as np
from sqlalchemy import BigInteger, Float, String, case, cast, func, literal, select

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
from scoring.services.kept import Kept
from scoring.services.ranking.points import int_columns, sql_of

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


_RUNS: Kept[RunColumns] = Kept(KEEP)
_STABILITY: Kept[tuple[np.ndarray, np.ndarray]] = Kept(KEEP)
_REQUESTED: Kept[np.ndarray] = Kept(KEEP)


def _frozen(*arrays: np.ndarray) -> None:
    """Make kept arrays read-only: the threads of a server share them (``services.kept``)."""
    for a in arrays:
        a.flags.writeable = False


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
    return _RUNS.get(_run_key(run), lambda: _read(run))


def _codes(values: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Values as int codes into the sorted distinct values."""
    distinct = sorted(set(values))
    index = {v: i for i, v in enumerate(distinct)}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, tuple(distinct)


#: Separates the values of a text column read as one string (PostgreSQL's ``string_agg``).
_SEP = "\x1f"


def _texts(columns: list, where, order_by, n: int) -> list[list[str]]:
    """Text columns of the rows ``where`` in ``order_by`` order: on PostgreSQL each as one
    ``string_agg`` split here (no Python object per row until the split), else row by row (also
    when a value holds the separator, so that the count is not ``n``)."""
    if db.engine.dialect.name == "postgresql" and n:
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        joined = db.session.execute(
            select(
                *(func.string_agg(c, aggregate_order_by(literal(_SEP), order_by)) for c in columns)
            ).where(where)
        ).one()
        out = [(text or "").split(_SEP) for text in joined]
        if all(len(values) == n for values in out):
            return out
    rows = db.session.execute(select(*columns).where(where).order_by(order_by)).all()
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in columns]


def _numbers(columns: list, where, order_by, n_int: int) -> tuple[np.ndarray, ...]:
    """Number columns (``n_int`` whole numbers, then floats; no NULL) of the rows ``where`` in
    ``order_by`` order, as arrays (``points.int_columns``: packed on PostgreSQL)."""
    conn = db.session.connection()
    stmt = select(*columns).where(where).order_by(order_by)
    return int_columns(conn, sql_of(conn, stmt), n_int, len(columns) - n_int)


def _read(run: RankingRun) -> RunColumns:
    where, order = RankingResult.run_id == run.id, RankingResult.position
    ids, pos, apps, rank, has_final, final, award = _numbers(
        [
            RankingResult.id,
            RankingResult.position,
            RankingResult.application_id,
            func.coalesce(RankingResult.rank, 0),
            case((RankingResult.final.is_(None), 0), else_=1),
            cast(func.coalesce(func.round(RankingResult.final * 10000), 0), Float),
            cast(func.round(RankingResult.award * 100), Float),
        ],
        where,
        order,
        5,
    )
    n = len(ids)
    status, district, refs, school, flags = _texts(
        [
            RankingResult.status,
            RankingResult.district_code,
            RankingResult.ref,
            RankingResult.school_code,
            cast(RankingResult.flags, String),
        ],
        where,
        order,
        n,
    )
    status_codes, statuses = _codes(status)
    district_codes, districts = _codes(district)
    school_codes, schools = _codes(school)
    flag_codes, texts = _codes(flags)
    masks: dict[str, np.ndarray] = {}
    for k, text in enumerate(texts):
        for flag in json.loads(text or "[]"):
            masks.setdefault(flag, np.zeros(n, dtype=bool))
            masks[flag] |= flag_codes == k
    refs_array = np.array(refs, dtype=str)
    made = RunColumns(
        ids,
        pos,
        apps,
        np.where(rank > 0, rank, np.nan).astype(np.float64),
        np.where(has_final > 0, final, np.nan),
        status_codes,
        statuses,
        award.astype(np.int64),
        district_codes,
        districts,
        refs_array,
        np.char.lower(refs_array),
        school_codes,
        schools,
        masks,
    )
    _frozen(*(v for v in vars(made).values() if isinstance(v, np.ndarray)))
    _frozen(*made.flags.values())
    return made


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
    key = (
        *_run_key(run),
        stability.id,
        stability.status,
        stability.resamples,
        stability.finished_at,
    )
    return _STABILITY.get(key, lambda: _read_stability(cols, stability))


def _read_stability(cols: RunColumns, stability: StabilityRun) -> tuple[np.ndarray, np.ndarray]:
    funded = np.full(len(cols), np.nan)
    toss = np.zeros(len(cols), dtype=bool)
    where, order = StabilityResult.stability_id == stability.id, StabilityResult.id
    got, ranked = _numbers(
        [StabilityResult.funded_in, case((StabilityResult.rank_lo.is_(None), 0), else_=1)],
        where,
        order,
        2,
    )
    if not len(got) or not len(cols):
        _frozen(funded, toss)
        return funded, toss
    (refs,) = _texts([StabilityResult.ref], where, order, len(got))
    refs = np.array(refs, dtype=str)
    by_ref = np.argsort(cols.refs)
    at = np.minimum(np.searchsorted(cols.refs, refs, sorter=by_ref), len(cols) - 1)
    found = cols.refs[by_ref[at]] == refs
    where_rows = by_ref[at[found]]
    got, ranked = got[found].astype(np.float64), ranked[found] > 0
    funded[where_rows] = got
    r = stability.resamples
    toss[where_rows] = ranked & (r > 0) & (got * 5 >= r) & (got * 5 <= 4 * r)
    _frozen(funded, toss)
    return funded, toss


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
    return _REQUESTED.get(key, lambda: _read_requested(run, cols))


def _read_requested(run: RankingRun, cols: RunColumns) -> np.ndarray:
    ids, cents = _numbers(
        [Application.id, cast(func.round(Application.requested_amount * 100), Float)],
        Application.competition_id == run.competition_id,
        Application.id,
        1,
    )
    out = np.zeros(len(cols), dtype=np.int64)
    if not len(ids) or not len(cols):
        _frozen(out)
        return out
    cents = cents.astype(np.int64)
    by_id = np.argsort(ids)
    at = np.minimum(np.searchsorted(ids, cols.application_id, sorter=by_id), len(ids) - 1)
    found = ids[by_id[at]] == cols.application_id
    out[found] = cents[by_id[at[found]]]
    _frozen(out)
    return out


def district_names(cols: RunColumns) -> dict[str, str]:
    """The current name of each district code of the run (codes with no district left out)."""
    return dict(
        db.session.execute(
            select(District.code, District.name).where(District.code.in_(cols.district_codes))
        ).all()
    )
