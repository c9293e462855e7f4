"""Staff: the audit trail — who did what, when, before and after; filters; CSV export."""

from __future__ import annotations

from flask import render_template, request

from scoring.auth import role_required
from scoring.models import Role
from scoring.services import audit_log as svc
from scoring.services import exports
from scoring.staff.board_forms import AuditFilterForm
from scoring.staff.exports import download
from scoring.staff.views import bp


def _filters() -> tuple[AuditFilterForm, svc.AuditFilter]:
    """The filter form read from the query; a bad value is shown and ignored, never a 500."""
    form = AuditFilterForm(request.args)
    for name, choices in svc.filter_choices().items():
        form[name].choices = choices
    form.validate()

    def ok(name):
        return form[name].data if form[name].data and not form[name].errors else None

    def as_int(name):
        return int(ok(name)) if ok(name) is not None else None

    return form, svc.AuditFilter(
        action=ok("action"),
        competition_id=as_int("competition"),
        actor_id=as_int("actor"),
        date_from=ok("date_from"),
        date_to=ok("date_to"),
    )


@bp.route("/audit")
@role_required(Role.STAFF)
def audit_trail():
    """Every recorded action, newest first, filtered by action, competition, actor and date."""
    form, f = _filters()
    number = form.page.data if form.page.data and not form.page.errors else 1
    events, total = svc.page(f, number)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "staff/audit.html",
        form=form,
        events=events,
        total=total,
        page=number,
        pages=max(1, -(-total // svc.PAGE_SIZE)),
        args=args,
        changes=svc.changes,
        c=None,
        titles=dict(form.competition.choices[1:]),
    )


@bp.route("/audit.csv")
@role_required(Role.STAFF)
def audit_csv():
    """The filtered audit trail as CSV."""
    _form, f = _filters()
    return download(
        exports.to_csv(exports.audit_table(svc.all_events(f))), "audit-trail.csv", "csv"
    )
