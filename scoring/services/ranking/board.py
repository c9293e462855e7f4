"""The ranking board: a competition's runs, and one run's results with the decisions that count.

A competition's current run is its official run (``queries.official_run``: the run of its
approved or published award list, else its latest *done* run that is not a what-if run). On the
board every application shows its computed result and, when staff recorded an exception
(``AwardOverride``), the effective status and award; the running total adds the effective
awards in funding order, and the funding line is drawn under the last application in funding
order that receives money.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from scoring import charts
from scoring.core.ranking import stored_review_scores
from scoring.errors import Conflict, NotFound
from scoring.extensions import db
from scoring.models import (
    Application,
    AwardOverride,
    AwardSlate,
    Competition,
    District,
    RankingResult,
    RankingRun,
    RunStatus,
    School,
)
from scoring.services.queries import official_run
from scoring.services.reviews import reviewer_stats

OVERRIDE_STATUSES = ("funded", "partially_funded", "waitlisted")
ZERO = Decimal("0.00")


# --------------------------------------------------------------------------- runs


def current_run(competition: Competition) -> RankingRun | None:
    """The competition's official run (``scoring.services.queries.official_run``)."""
    return db.session.scalar(official_run(competition.id))


def latest_run(competition: Competition, *, official_only: bool = False) -> RankingRun | None:
    """The latest run of any status (to show progress); of any kind unless ``official_only``."""
    query = select(RankingRun).where(RankingRun.competition_id == competition.id)
    if official_only:
        query = query.where(RankingRun.what_if.is_(False))
    return db.session.scalar(query.order_by(RankingRun.id.desc()).limit(1))


def pending_run(competition: Competition) -> RankingRun | None:
    """The latest run if it is still queued or running (the board says so)."""
    run = latest_run(competition)
    return run if run is not None and run.status in (RunStatus.QUEUED, RunStatus.RUNNING) else None


def run_of(competition: Competition, run_id: int | None) -> RankingRun | None:
    """The run asked for (404 if it is another competition's), else the official run (or the
    latest official run still in progress); a what-if run is shown only when asked for."""
    if run_id is None:
        return current_run(competition) or latest_run(competition, official_only=True)
    run = db.session.get(RankingRun, run_id)
    if run is None or run.competition_id != competition.id:
        raise NotFound("There is no such ranking run for this competition.")
    return run


def runs_of(competition: Competition, limit: int = 50) -> list[RankingRun]:
    """The competition's latest runs, newest first (the board's run picker)."""
    return list(
        db.session.scalars(
            select(RankingRun)
            .where(RankingRun.competition_id == competition.id)
            .order_by(RankingRun.id.desc())
            .limit(limit)
        )
    )


def policy_number(run: RankingRun, name: str) -> Decimal | None:
    """A number from the policy the run used (``run.policy``), as a Decimal."""
    value = (run.policy or {}).get(name)
    return None if value is None else Decimal(str(value))


def slate_of(run: RankingRun) -> AwardSlate | None:
    """The run's award slate, or None if none was prepared."""
    return db.session.scalar(select(AwardSlate).where(AwardSlate.run_id == run.id))


def overrides_of(run: RankingRun) -> dict[int, AwardOverride]:
    """The run's overrides by application id."""
    return {
        o.application_id: o
        for o in db.session.scalars(select(AwardOverride).where(AwardOverride.run_id == run.id))
    }


# --------------------------------------------------------------------------- board


@dataclass
class BoardRow:
    """One application on the board: the computed result and the effective decision."""

    result: RankingResult
    school_name: str
    district_name: str
    override: AwardOverride | None
    status: str
    award: Decimal
    running_total: Decimal | None = None
    funded_side: bool = False

    @property
    def review_pairs(self) -> list[tuple[float, float]]:
        """(raw, normalised) score of each counted review, from the stored explanation."""
        return stored_review_scores(self.result.explanation)


@dataclass
class Board:
    """A run's ranking board: rows, overrides, totals, the funding line and the cut score."""

    run: RankingRun
    rows: list[BoardRow]
    overrides: dict[int, AwardOverride]
    computed_total: Decimal
    effective_total: Decimal
    line_after: int | None  # position of the last row above the funding line (None: no award)
    cut_score: Decimal | None  # lowest final score that received an award
    districts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        """Funds left after the effective awards."""
        return (self.run.total_funds or ZERO) - self.effective_total


def effective(result: RankingResult, override: AwardOverride | None) -> tuple[str, Decimal]:
    """The status and award that count: the override's if there is one."""
    if override is not None:
        return override.status, override.amount
    return result.status, result.award


def board(run: RankingRun) -> Board:
    """The run's results in document order with effective decisions, running totals and the
    funding line (drawn under the last application in funding order that gets money)."""
    results = db.session.execute(
        select(RankingResult, School.name, School.district_id)
        .join(Application, Application.id == RankingResult.application_id)
        .join(School, School.id == Application.school_id)
        .where(RankingResult.run_id == run.id)
        .order_by(RankingResult.position)
    ).all()
    district_names = dict(db.session.execute(select(District.code, District.name)).all())
    overrides = overrides_of(run)
    rows, total, line_after, cut = [], ZERO, None, None
    for result, school_name, _district_id in results:
        override = overrides.get(result.application_id)
        status, award = effective(result, override)
        row = BoardRow(
            result,
            school_name,
            district_names.get(result.district_code, ""),
            override,
            status,
            award,
        )
        if result.rank is not None:
            total += award
            row.running_total = total
            if award > 0:
                line_after = result.position
                cut = (
                    result.final
                    if cut is None or (result.final is not None and result.final < cut)
                    else cut
                )
        rows.append(row)
    for row in rows:
        row.funded_side = (
            line_after is not None
            and row.result.rank is not None
            and row.result.position <= line_after
        )
    computed = sum((r.result.award for r in rows), ZERO)
    districts = sorted({(r.result.district_code, r.district_name) for r in rows})
    return Board(
        run,
        rows,
        overrides,
        computed,
        sum((r.award for r in rows), ZERO),
        line_after,
        cut,
        districts,
    )


def score_points(view: Board) -> list[charts.ScorePoint]:
    """The ranked applications' final scores and whether they get money (for the chart)."""
    return [
        charts.ScorePoint(r.result.final, r.award > 0)
        for r in view.rows
        if r.result.rank is not None and r.result.final is not None
    ]


def distribution_chart(view: Board):
    """The final-score histogram with the funding line: a wide SVG and a narrow one for phones
    (the stylesheet shows one of them)."""
    points = score_points(view)
    min_score = policy_number(view.run, "min_score")
    wide = charts.score_distribution(
        points, cut_score=view.cut_score, min_score=min_score, css="wide"
    )
    narrow = charts.score_distribution(
        points,
        cut_score=view.cut_score,
        min_score=min_score,
        bin_width=10,
        width=360,
        height=240,
        css="narrow",
    )
    return wide + narrow


def leniency_chart(run: RankingRun):
    """Reviewer leniency as the statistics page shows it (``reviewer_stats``, the one place it is
    judged), over the competition's counted reviews."""
    return reviewer_stats.leniency_chart(reviewer_stats.compute(run.competition))


def override_defaults(result: RankingResult, override: AwardOverride | None) -> dict[str, Any]:
    """What the override form starts with: the current decision."""
    status, award = effective(result, override)
    return {
        "application_id": str(result.application_id),
        "status": status if status in OVERRIDE_STATUSES else "waitlisted",
        "amount": award,
        "justification": override.justification if override else "",
    }


def filter_rows(
    rows: list[BoardRow], *, status: str = "", district: str = "", flag: str = ""
) -> list[BoardRow]:
    """The board's filters: effective status, district code, flag (or "override")."""
    out = rows
    if status:
        out = [r for r in out if r.status == status]
    if district:
        out = [r for r in out if r.result.district_code == district]
    if flag == "override":
        out = [r for r in out if r.override is not None]
    elif flag:
        out = [r for r in out if flag in (r.result.flags or [])]
    return out


def result_for(run: RankingRun, ref: str) -> RankingResult:
    """One application's result in a run (404 if the run has no such application)."""
    result = db.session.scalar(
        select(RankingResult).where(RankingResult.run_id == run.id, RankingResult.ref == ref)
    )
    if result is None:
        raise NotFound("That application is not in this ranking run.")
    return result


def result_by_application(run: RankingRun, application_id: Any) -> RankingResult:
    """The run's result for an application id given as text (404 if it is not in the run)."""
    text = str(application_id or "")
    result = None
    if text.isdigit() and len(text) < 12:
        result = db.session.scalar(
            select(RankingResult).where(
                RankingResult.run_id == run.id, RankingResult.application_id == int(text)
            )
        )
    if result is None:
        raise NotFound("That application is not in this ranking run.")
    return result


def slate_or_409(run: RankingRun) -> AwardSlate:
    """The run's award slate, or ``Conflict`` when it has none."""
    slate = slate_of(run)
    if slate is None:
        raise Conflict("This ranking has no award list submitted for approval.")
    return slate
