"""Staff: try policy changes on the committed data without saving; save one as a what-if run."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from scoring.auth import role_required
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import Competition, Role
from scoring.services.ranking import what_if as what_if_svc
from scoring.staff.board_forms import WhatIfForm, WhatIfQueryForm
from scoring.staff.views import bp
from scoring.web import current_actor, rank_after_commit, show_error


@bp.route("/competitions/<int:competition_id>/what-if")
@role_required(Role.STAFF)
def what_if(competition_id: int):
    """Change funds, min score, normalisation, aggregation, fund-down, caps or partial funding
    and see the new slate and its difference from the current run (nothing is saved)."""
    competition = db.get_or_404(Competition, competition_id)
    form = WhatIfQueryForm(request.args)
    outcome = None
    if request.args and form.validate():
        try:
            outcome = what_if_svc.what_if(competition, form.overrides())
        except InputError as exc:
            show_error(form, exc)
    save = WhatIfForm(formdata=None, data={k: form[k].data for k in WhatIfForm.KNOBS})
    return render_template(
        "staff/what_if.html", c=competition, form=form, save=save, outcome=outcome, tab="whatif"
    ), 400 if form.errors else 200


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
            flash(f"What-if run {run.id} saved and queued.", "info")
            return redirect(url_for(".run_progress", run_id=run.id))
    return render_template(
        "staff/what_if.html", c=competition, form=form, save=form, outcome=None, tab="whatif"
    ), 400
