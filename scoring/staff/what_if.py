"""Staff: try policy changes on the committed data without saving; save one as a what-if run."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from scoring.auth import role_required
from scoring.core.ranking.compare import KINDS
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import Competition, RankingRun, Role, RunStatus
from scoring.services import access
from scoring.services.ranking import what_if as what_if_svc
from scoring.staff.board_forms import WhatIfForm, WhatIfQueryForm
from scoring.staff.views import bp
from scoring.web import current_actor, rank_after_commit, show_error


@bp.route("/competitions/<int:competition_id>/what-if")
@role_required(Role.STAFF)
def what_if(competition_id: int):
    """Change funds, min score, normalisation, aggregation, fund-down, caps or partial funding
    and see the new slate's difference from the current run, a page at a time (nothing is
    saved; a large competition is sent to the worker from the save form instead)."""
    competition = db.get_or_404(Competition, competition_id)
    form = WhatIfQueryForm(request.args)
    outcome, large = None, what_if_svc.size_of(competition) > what_if_svc.inline_max()
    if request.args and form.validate():
        try:
            if large:  # ranked by the worker once saved: only the knobs are checked here
                what_if_svc.check_knobs(competition, form.overrides())
            else:
                snapshot = request.args.get("snapshot", "")[:64]
                outcome = what_if_svc.recent(competition, form.overrides(), snapshot)
        except InputError as exc:
            show_error(form, exc)
    save = WhatIfForm(formdata=None, data={k: form[k].data for k in WhatIfForm.KNOBS})
    return render_template(
        "staff/what_if.html",
        c=competition,
        form=form,
        save=save,
        outcome=outcome,
        large=large and bool(request.args) and not form.errors,
        tab="whatif",
        **_diff_page(outcome),
    ), 400 if form.errors else 200


@bp.route("/what-if-runs/<int:run_id>")
@role_required(Role.STAFF)
def what_if_run(run_id: int):
    """A what-if run computed by the worker, compared with the current run a page at a time
    (its progress while it is computed)."""
    run = access.get(current_actor(), RankingRun, run_id)
    if run.status != RunStatus.DONE:
        return redirect(url_for(".run_progress", run_id=run.id))
    outcome = what_if_svc.compare_run(run)
    return render_template(
        "staff/what_if.html",
        c=run.competition,
        form=None,
        save=None,
        outcome=outcome,
        large=False,
        tab="whatif",
        **_diff_page(outcome),
    )


def _diff_page(outcome) -> dict:
    """The diff's page of the request (``kind`` and ``page`` from the query) and its links."""
    if outcome is None:
        return {"rows": [], "kind": "changed", "pages": None}
    kind = request.args.get("kind", "changed")
    kind = kind if kind in KINDS else "changed"
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and len(number) < 7 else 1
    rows, matching, number, pages = outcome.page(kind, number)
    args = {k: v for k, v in request.args.items() if k not in ("page", "kind") and v != ""}
    if getattr(outcome, "snapshot", ""):  # the other pages reuse this computation
        args["snapshot"] = outcome.snapshot

    def link(**kw) -> str:
        return url_for(request.endpoint, **request.view_args, **args, **kw)

    return {
        "rows": rows,
        "kind": kind,
        "pages": {
            "page": number,
            "pages": pages,
            "matching": matching,
            "prev": link(kind=kind, page=number - 1) if number > 1 else None,
            "next": link(kind=kind, page=number + 1) if number < pages else None,
            "kinds": {k: link(kind=k) for k in KINDS},
        },
        "counts": outcome.counts(),
    }


@bp.route("/competitions/<int:competition_id>/what-if/save", methods=["POST"])
@role_required(Role.STAFF)
def what_if_save(competition_id: int):
    """Save the tried policy as a what-if ranking run (queued for the worker)."""
    competition = db.get_or_404(Competition, competition_id)
    form = WhatIfForm()
    if form.validate_on_submit():
        try:
            run = what_if_svc.save_what_if(
                competition, form.overrides(), actor=current_actor(), label=form.label.data or None
            )
        except InputError as exc:
            db.session.rollback()
            show_error(form, exc)
        else:
            db.session.commit()
            rank_after_commit(run.id)
            flash(f"What-if run {run.id} saved and queued; it is compared when done.", "info")
            return redirect(url_for(".run_progress", run_id=run.id))
    return render_template(
        "staff/what_if.html",
        c=competition,
        form=form,
        save=form,
        outcome=None,
        large=False,
        tab="whatif",
        **_diff_page(None),
    ), 400
