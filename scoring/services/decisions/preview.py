"""What an approval or a publication would do, said before it is done (the confirmation pages):
how many decision mails go out, to whom none can go, what becomes public."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from scoring.extensions import db
from scoring.models import Application, RankingResult, RankingRun
from scoring.services.decisions.publication import recipient
from scoring.services.ranking import board as boards


@dataclass(frozen=True)
class Preview:
    """The effect of approving or publishing a run's award list."""

    applications: int
    awards: int
    awarded: Decimal
    exceptions: int
    mails: int
    unreachable: list[str]


def preview(run: RankingRun) -> Preview:
    """Counts for the confirmation page of ``run``'s award list (nothing is changed)."""
    view = boards.board(run)
    refs = dict(
        db.session.execute(
            select(RankingResult.application_id, RankingResult.ref).where(
                RankingResult.run_id == run.id
            )
        ).all()
    )
    applications = db.session.scalars(select(Application).where(Application.id.in_(refs)))
    unreachable = sorted(refs[a.id] for a in applications if recipient(a) is None)
    return Preview(
        applications=len(view.rows),
        awards=sum(1 for r in view.rows if r.award > 0),
        awarded=view.effective_total,
        exceptions=len(view.overrides),
        mails=len(view.rows) - len(unreachable),
        unreachable=unreachable,
    )
