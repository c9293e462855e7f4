"""Review point vectors (scoring/models/review_points.py): the ranking's one-pass read gives the
same inputs as the row-by-row read, on SQLite and PostgreSQL, and the database keeps each vector
in step with its score rows (a changed row drops the vector; a save writes it again)."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text

from scoring.core.ranking import dumps_document
from scoring.extensions import db
from scoring.models import Competition, CriterionScore, RankingRun, Review, ReviewPoints
from scoring.services import bundles, ranking
from scoring.services.reviews import vectors

FIXTURE = Path(__file__).parent / "fixtures" / "small_bundle.json"


def _random_bundle(seed: int) -> dict:
    """40 applications × 3 reviews × 6 criteria (half and quarter steps), drafts, a
    comment-only draft score, an ineligible application and one without reviews (seed 3: no
    drafts, so every vector holds the same criteria and the read takes its uniform path)."""
    rng = random.Random(seed)
    data = json.loads(FIXTURE.read_text())
    data["competition"]["slug"] = f"vectors-{seed}"
    data["competition"]["policy"]["normalization"] = "zscore"
    steps = [1, 0.5, 0.25, 1, 0.5, 1]
    data["rubric"] = {
        "sections": [
            {
                "key": f"s{s}",
                "title": f"Section {s}",
                "weight": 10 + s,
                "criteria": [
                    {"key": f"s{s}.c{k}", "title": f"C{k}", "max_points": 5, "step": steps[k]}
                    for k in range(s * 3, s * 3 + 3)
                ],
            }
            for s in range(2)
        ]
    }
    keys = [f"s{k // 3}.c{k}" for k in range(6)]
    apps, reviews = [], []
    reviewers = [r["email"] for r in data["reviewers"]]
    template = data["applications"][0]
    for i in range(40):
        apps.append(template | {"ref": f"V-{i:03d}", "eligible": i != 7, "priorities": []})
        apps[-1]["ineligible_reason"] = None if i != 7 else "Late"
        if i == 9:
            continue
        for reviewer in rng.sample(reviewers, 2 if i % 5 else 3):
            scores = {
                k: rng.randrange(0, int(5 / st) + 1) * st for k, st in zip(keys, steps, strict=True)
            }
            submitted = seed == 3 or rng.random() > 0.1  # seed 3: equal vectors
            review = {"application": apps[-1]["ref"], "reviewer": reviewer}
            if not submitted:
                scores = dict(list(scores.items())[:3])
                review["comments"] = {keys[5]: "to be scored"}
            reviews.append(review | {"submitted": submitted, "scores": scores})
    data["applications"], data["reviews"] = apps, reviews
    data["priorities"] = []
    data["reviewers"] = [r | {"conflicts": []} for r in data["reviewers"]]
    used = {a["school"] for a in apps}
    data["schools"] = [s for s in data["schools"] if s["code"] in used]
    districts = {s["district"] for s in data["schools"]}
    data["districts"] = [d for d in data["districts"] if d["code"] in districts]
    data["competition"]["policy"]["tie_breakers"] = []
    return data


def _same_inputs(competition: Competition) -> ranking.read_inputs:
    fast = ranking.read_inputs(competition, tie_breakers=["section:s0"])
    rows = ranking.read_inputs(competition, tie_breakers=["section:s0"], vectors=False)
    assert fast.points.tobytes() == rows.points.tobytes()
    assert fast.review_app.tolist() == rows.review_app.tolist()
    assert fast.review_reviewer == rows.review_reviewer
    assert fast.applications == rows.applications
    return fast


def _document(competition_id: int) -> str:
    run = ranking.create_run(db.session.get(Competition, competition_id))
    db.session.commit()
    ranking.execute_run(run.id)
    db.session.commit()
    document = ranking.result_document_for_run(db.session.get(RankingRun, run.id))
    return dumps_document(document | {"run": 0})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vector_read_equals_row_read(any_app, seed):
    """Every review's vector is written at import; the one-pass read gives the row read's
    matrix byte for byte, and the stored document is identical without any vector."""
    with any_app.app_context():
        bundles.import_bundle(_random_bundle(seed))
        db.session.commit()
        competition = db.session.scalar(select(Competition))
        with_points = db.session.scalar(
            select(func.count(func.distinct(CriterionScore.review_id))).where(
                CriterionScore.points.is_not(None)
            )
        )
        assert db.session.scalar(select(func.count()).select_from(ReviewPoints)) == with_points
        inputs = _same_inputs(competition)
        assert len(inputs.review_app) > 60
        first = _document(competition.id)
        db.session.execute(delete(ReviewPoints))
        db.session.commit()
        _same_inputs(competition)
        assert _document(competition.id) == first


def test_changed_rows_drop_the_vector_and_a_refresh_writes_it(any_app):
    """UPDATE, DELETE and INSERT of score rows (ORM or plain SQL) drop their review's vector;
    the read stays exact throughout (half the reviews read from vectors, half from rows)."""
    with any_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        competition = db.session.scalar(select(Competition))
        reviews = db.session.scalars(select(Review.id).order_by(Review.id)).all()
        score = db.session.scalar(
            select(CriterionScore).where(CriterionScore.review_id == reviews[0]).limit(1)
        )
        score.points = Decimal("0")
        db.session.flush()
        db.session.execute(
            text("UPDATE criterion_score SET comment = 'x' WHERE review_id = :r"),
            {"r": reviews[1]},
        )
        gone = db.session.scalar(
            select(CriterionScore).where(CriterionScore.review_id == reviews[2]).limit(1)
        )
        db.session.delete(gone)
        db.session.commit()
        left = set(db.session.scalars(select(ReviewPoints.review_id)))
        assert not left & set(reviews[:3])
        assert set(reviews[3:]) <= left  # the draft with one score has a vector too
        db.session.execute(
            text(
                "INSERT INTO criterion_score (review_id, criterion_id, points, max_points) "
                "SELECT :r, criterion_id, points, max_points FROM criterion_score "
                "WHERE review_id = :other AND criterion_id NOT IN "
                "(SELECT criterion_id FROM criterion_score WHERE review_id = :r)"
            ),
            {"r": reviews[9], "other": reviews[8]},
        )
        db.session.commit()
        assert reviews[9] not in set(db.session.scalars(select(ReviewPoints.review_id)))
        with pytest.raises(ranking.InputsError, match="has no score"):
            ranking.read_inputs(competition)  # review 3 lost a score: never read as 0
        vectors.refresh([reviews[2]])  # its vector now lacks the score: same refusal
        with pytest.raises(ranking.InputsError, match="has no score"):
            ranking.read_inputs(competition)
        with pytest.raises(ranking.InputsError, match="has no score"):
            ranking.read_inputs(competition, vectors=False)
        db.session.add(
            CriterionScore(
                review_id=reviews[2],
                criterion_id=gone.criterion_id,
                points=gone.points,
                max_points=gone.max_points,
            )
        )
        db.session.flush()
        vectors.refresh(reviews)
        db.session.commit()
        assert set(db.session.scalars(select(ReviewPoints.review_id))) == set(reviews)
        inputs = _same_inputs(competition)
        row = list(inputs.review_app).index(0)  # T-001's first review: its first score is 0
        assert 0.0 in inputs.points[row].tolist()
        # a vector unlike the others (here: an extra criterion the rubric does not have) takes
        # the general path, and the pair of no rubric criterion is ignored
        odd = db.session.get(ReviewPoints, reviews[0])
        odd.packed += vectors.pack([(10**6, 1.0)])
        db.session.commit()
        assert _same_inputs(competition).points.tobytes() == inputs.points.tobytes()


def test_deleting_a_review_deletes_its_vector(any_app):
    """A deleted review leaves no vector behind."""
    with any_app.app_context():
        bundles.import_bundle(json.loads(FIXTURE.read_text()))
        db.session.commit()
        review_id = db.session.scalar(select(func.min(Review.id)))
        db.session.execute(delete(CriterionScore).where(CriterionScore.review_id == review_id))
        db.session.execute(delete(Review).where(Review.id == review_id))
        db.session.commit()
        assert db.session.get(ReviewPoints, review_id) is None
