"""Score detail: every submitted review's points per criterion for a run's applications, with
the review's score (docs/ranking.md §3.1), whether it counts (conflicted reviews do not) and the
application's rank stability (docs/stability.md: ``p_funded``, ``rank_interval_90``,
``toss_up``; empty while the run's stability is not computed), streamed from a server-side
cursor: one review's points are held at a time."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from scoring.core.ranking.stability import figures_record
from scoring.core.rubric import review_score
from scoring.extensions import db
from scoring.models import (
    Application,
    Competition,
    Criterion,
    CriterionScore,
    RankingResult,
    RankingRun,
    Review,
    ReviewStatus,
    RubricSection,
    RunStatus,
    School,
    StabilityResult,
    StabilityRun,
    User,
)
from scoring.services import audit
from scoring.services.competitions.policy import core_rubric
from scoring.services.exports.writers import Column
from scoring.services.queries import review_is_counted

CHUNK = 5000

HEADER = (
    "ref",
    "school_code",
    "reviewer",
    "reviewer_name",
    "counted",
    "review_score",
    "section",
    "criterion",
    "criterion_title",
    "points",
    "max_points",
)
#: The application's rank stability (docs/stability.md), after the comment column.
STABILITY = ("p_funded", "rank_interval_90", "toss_up")
KINDS = {
    "review_score": "score",
    "points": "score",
    "max_points": "score",
    "ref": "text",
    "p_funded": "score",
}


def columns(comments: bool) -> list[Column]:
    """The score detail's columns (``comment`` when asked for, then the stability columns)."""
    names = [*HEADER, "comment", *STABILITY] if comments else [*HEADER, *STABILITY]
    widths = {"reviewer": 28, "reviewer_name": 22, "criterion_title": 34, "comment": 50}
    return [Column(n, KINDS.get(n, "text"), widths.get(n)) for n in names]


def _criteria(competition_id: int) -> list[tuple[int, str, str, str]]:
    return db.session.execute(
        select(Criterion.id, Criterion.key, Criterion.title, RubricSection.key)
        .join(RubricSection, Criterion.section_id == RubricSection.id)
        .where(Criterion.competition_id == competition_id)
        .order_by(RubricSection.position, RubricSection.id, Criterion.position, Criterion.id)
    ).all()


def _in_run(run: RankingRun):
    return (
        RankingResult.run_id == run.id,
        RankingResult.application_id == Review.application_id,
        Review.status == ReviewStatus.SUBMITTED,
    )


def count(run: RankingRun) -> int:
    """The number of rows the score detail will have (reviews × criteria)."""
    reviews = db.session.scalar(
        select(func.count())
        .select_from(Review)
        .join(RankingResult, RankingResult.application_id == Review.application_id)
        .where(*_in_run(run))
    )
    return reviews * len(_criteria(run.competition_id))


def done_stability(run: RankingRun) -> StabilityRun | None:
    """The run's stability if it is done (its figures go into the score detail), else None."""
    row = db.session.scalar(select(StabilityRun).where(StabilityRun.run_id == run.id))
    return row if row is not None and row.status == RunStatus.DONE else None


def stability_note(run: RankingRun) -> str | None:
    """Why the stability columns of the score detail are empty (``None`` when they are not)."""
    row = db.session.scalar(select(StabilityRun).where(StabilityRun.run_id == run.id))
    if row is not None and row.status == RunStatus.DONE:
        return None
    state = "not queued" if row is None else row.status.value
    why = f" ({row.error})" if row is not None and row.error else ""
    return (
        f"The rank stability of run {run.id} is {state}{why}: the columns "
        + ", ".join(STABILITY)
        + " are empty until it is done."
    )


def stability_cells(funded_in, rank_lo, rank_hi, resamples: int | None) -> list[Any]:
    """``p_funded`` (as in ``figures_record``: 4 places), the 90% rank interval as
    ``low–high`` (an en dash, so a spreadsheet does not read it as a date) and ``toss_up``;
    three empty cells when there are no figures."""
    if funded_in is None or not resamples:
        return [None, None, None]
    record = figures_record(funded_in, 0, rank_lo, rank_hi, resamples)
    interval = record["rank_interval"]
    return [
        Decimal(str(record["p_funded"])),
        None if interval is None else f"{interval[0]}\u2013{interval[1]}",
        "yes" if record["toss_up"] else "no",
    ]


def review_select(stability_id: int, *extra):
    """Reviews with their application's result, school, reviewer, whether the review counts and
    the run's stability figures (``Review.id`` first, then ``extra``); both writers of the score
    detail (this row writer and ``score_csv``) start from it and add their filter and order."""
    return (
        select(
            Review.id,
            RankingResult.ref,
            School.code,
            User.email,
            User.name,
            review_is_counted(Review, School.district_id).label("counted"),
            StabilityResult.funded_in,
            StabilityResult.rank_lo,
            StabilityResult.rank_hi,
            *extra,
        )
        .join(RankingResult, RankingResult.application_id == Review.application_id)
        .join(Application, Application.id == Review.application_id)
        .join(School, School.id == Application.school_id)
        .join(User, User.id == Review.reviewer_id)
        .outerjoin(
            StabilityResult,
            (StabilityResult.stability_id == stability_id)
            & (StabilityResult.ref == RankingResult.ref),
        )
    )


def rows(run: RankingRun, *, comments: bool) -> Iterator[list[Any]]:
    """The rows in funding order, then by reviewer: one per criterion of each review."""
    competition = db.session.get(Competition, run.competition_id)
    rubric = core_rubric(competition.sections)
    criteria = _criteria(competition.id)
    stable = done_stability(run)
    resamples = stable.resamples if stable is not None else None
    score_cols = [CriterionScore.criterion_id, CriterionScore.points, CriterionScore.max_points]
    if comments:
        score_cols.append(CriterionScore.comment)
    stmt = (
        review_select(stable.id if stable is not None else -1, *score_cols)
        .outerjoin(CriterionScore, CriterionScore.review_id == Review.id)
        .where(*_in_run(run))
        .order_by(RankingResult.position, User.email, Review.id)
        .execution_options(yield_per=CHUNK)
    )
    current, head, tail, scores = None, None, None, {}
    for row in db.session.execute(stmt):
        if row[0] != current:
            if current is not None:
                yield from _review_rows(rubric, criteria, head, scores, comments, tail)
            current, head, scores = row[0], row[1:6], {}
            tail = stability_cells(row[6], row[7], row[8], resamples)
        if row[9] is not None:
            scores[row[9]] = row[10:]
    if current is not None:
        yield from _review_rows(rubric, criteria, head, scores, comments, tail)


def _review_rows(rubric, criteria, head, scores, comments, tail) -> Iterator[list[Any]]:
    ref, school_code, email, name, counted = head
    points = {key: scores[cid][0] for cid, key, _, _ in criteria if scores.get(cid, (None,))[0]
              is not None}  # fmt: skip
    s_r = _score(rubric, points)
    counted_words = "yes" if counted else "no (conflict)"
    for cid, key, title, section in criteria:
        score = scores.get(cid)
        row = [
            ref,
            school_code,
            email,
            name,
            counted_words,
            s_r,
            section,
            key,
            title,
            None if score is None else _plain(score[0]),
            None if score is None else _plain(score[1]),
        ]
        if comments:
            row.append(None if score is None else score[2])
        yield row + tail


def _score(rubric, points: dict[str, Decimal]) -> Decimal | None:
    """S_r rounded to 4 places as reported, or None when the review lacks a score."""
    if len(points) != len(rubric.criteria):
        return None
    return _plain(Decimal(repr(review_score(rubric, points))).quantize(Decimal("0.0001")))


def _plain(value: Decimal | None) -> Decimal | None:
    """``4.5000`` → ``4.5`` (no exponent, no trailing zeros)."""
    return None if value is None else Decimal(format(value.normalize(), "f"))


def record_export(run: RankingRun, *, comments: bool, actor: User | None, **after: Any) -> None:
    """An ``export.scores`` audit event: reviewers' names, scores and perhaps comments leave the
    system (the caller commits)."""
    audit.record(
        "export.scores",
        "ranking_run",
        run.id,
        actor=actor,
        competition_id=run.competition_id,
        after={"comments": comments, **after},
    )
