"""Confirmation pages (no script) before what locks or cannot be undone: approving and
publishing an award list, deleting a rubric section or a priority. Each GET says exactly what
will happen; its form posts to the action's own route (which checks everything again)."""

from __future__ import annotations

from flask import render_template, url_for

from scoring import clock
from scoring.auth import role_required
from scoring.extensions import db
from scoring.models import Priority, RankingRun, Role, RubricSection
from scoring.runtime import public_url
from scoring.services import access
from scoring.services.competitions.phases import official_refusal
from scoring.services.decisions.preview import preview
from scoring.staff.forms import ConfirmForm
from scoring.staff.views import bp
from scoring.web import current_actor


def _page(c, title: str, points: list[str], action: str, button: str, back: str, refusal=None):
    return render_template(
        "staff/confirm.html",
        c=c,
        title=title,
        points=points,
        action=action,
        button=button,
        back=back,
        refusal=refusal,
        form=ConfirmForm(),
    )


def _board(run: RankingRun) -> str:
    return url_for(".board", competition_id=run.competition_id, run=run.id)


def _approval_points(run: RankingRun, p) -> list[str]:
    return [
        f"The award list of ranking run {run.id} is approved as it stands: {p.awards} award(s) "
        f"totalling ${p.awarded:,.2f} of ${run.total_funds:,.2f}, {p.exceptions} staff "
        "exception(s).",
        "Its decisions stay locked; it can then be published (or withdrawn for changes).",
    ]


def _publication_points(run: RankingRun, p) -> list[str]:
    return [
        f"{p.mails} decision mail(s) go out, one per application of the run"
        + (f"; no mail address for {', '.join(p.unreachable)}" if p.unreachable else "")
        + ".",
        "Becomes public, to anyone, at "
        + public_url("public.awards", slug=run.competition.slug)
        + f": the {p.awards} award(s) (school, district, final score, award), each ranked "
        "application not funded with the reason, the funding rules and the staff exceptions "
        "with their justification.",
        "Applicants see their decision and its reason on their status page.",
        "This cannot be undone: a correction is a new ranking, approved and published again.",
    ]


#: The confirmations of an award list, by the action's verb: what it says (from the run and
#: its preview), the phase gate it waits for, the title, the action's endpoint and its button.
SLATE_ACTIONS = {
    "approve": (
        _approval_points,
        "approval",
        "Approve this award list?",
        ".slate_approve",
        "Approve this award list",
    ),
    "publish": (
        _publication_points,
        "publication",
        "Publish the award list and notify applicants?",
        ".slate_publish",
        "Publish and notify applicants",
    ),
}


def _slate_confirm(run_id: int, verb: str):
    run = access.get(current_actor(), RankingRun, run_id)
    points_of, gate, title, endpoint, button = SLATE_ACTIONS[verb]
    return _page(
        run.competition,
        title,
        points_of(run, preview(run)),
        url_for(endpoint, run_id=run.id),
        button,
        _board(run),
        official_refusal(run.competition, clock.now(), gate),
    )


@bp.route("/runs/<int:run_id>/approve", methods=["GET"])
@role_required(Role.STAFF)
def slate_approve_confirm(run_id: int):
    """Say what approving this award list means, then approve."""
    return _slate_confirm(run_id, "approve")


@bp.route("/runs/<int:run_id>/publish", methods=["GET"])
@role_required(Role.STAFF)
def slate_publish_confirm(run_id: int):
    """Say how many mails go out and what becomes public, then publish."""
    return _slate_confirm(run_id, "publish")


@bp.route("/sections/<int:section_id>/delete", methods=["GET"])
@role_required(Role.STAFF)
def section_delete_confirm(section_id: int):
    """Say what deleting this rubric section removes, then delete."""
    section = db.get_or_404(RubricSection, section_id)
    criteria = ", ".join(c.title for c in section.criteria) or "none"
    return _page(
        section.competition,
        f"Delete the section “{section.title}”?",
        [
            f"The section and its {len(section.criteria)} criterion/criteria ({criteria}) are "
            "removed from the rubric, with the narrative applicants wrote for it.",
            "The deletion is kept in the audit trail; add the section again to undo it.",
        ],
        url_for(".section_delete", section_id=section.id),
        "Delete section",
        url_for(".rubric", competition_id=section.competition_id),
    )


@bp.route("/priorities/<int:priority_id>/delete", methods=["GET"])
@role_required(Role.STAFF)
def priority_delete_confirm(priority_id: int):
    """Say what deleting this priority removes, then delete."""
    priority = db.get_or_404(Priority, priority_id)
    return _page(
        priority.competition,
        f"Delete the priority “{priority.title}”?",
        [
            f"The priority (+{priority.points.normalize():f} points if confirmed) is removed; "
            "applicants can no longer claim it.",
            "A priority that an application claims cannot be deleted.",
        ],
        url_for(".priority_delete", priority_id=priority.id),
        "Delete priority",
        url_for(".priorities", competition_id=priority.competition_id),
    )
