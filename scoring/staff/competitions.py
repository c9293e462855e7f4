"""Staff: set up competitions — settings, policy, the rubric builder and priorities."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from sqlalchemy import func, select

from scoring.auth import role_required
from scoring.errors import InputError
from scoring.extensions import db
from scoring.models import (
    Application,
    AwardSlate,
    Competition,
    Criterion,
    Priority,
    RankingRun,
    Role,
    RubricSection,
)
from scoring.services.competitions import competitions as svc
from scoring.services.competitions import rubric_builder
from scoring.services.competitions.policy import core_rubric
from scoring.staff.forms import CompetitionForm, ConfirmForm
from scoring.staff.rubric_forms import (
    CriterionForm,
    DescriptorsField,
    NewSectionForm,
    PriorityForm,
    SectionForm,
)
from scoring.staff.views import bp
from scoring.web import current_actor, show_error

STAFF = Role.STAFF


def _section_keys(competition: Competition | None) -> list[str]:
    return [s.key for s in competition.sections] if competition else []


def _attempt(form, action) -> bool:
    """Run a service call; on ``InputError`` roll back and show the message beside its field."""
    try:
        action()
    except InputError as exc:
        db.session.rollback()
        show_error(form, exc)
        return False
    db.session.commit()
    return True


@bp.route("/competitions/new", methods=["GET", "POST"])
@role_required(STAFF)
def competition_new():
    """Create a competition (optionally from the program's illustrative rubric)."""
    form = CompetitionForm()
    form.set_sections([])
    created = []
    if form.validate_on_submit() and _attempt(
        form,
        lambda: created.append(
            svc.create_competition(
                form.values(),
                actor=current_actor(),
                illustrative_rubric=form.illustrative_rubric.data,
            )
        ),
    ):
        flash(f"Competition “{created[0].title}” created. Next: its rubric.", "info")
        return redirect(url_for(".rubric", competition_id=created[0].id))
    return render_template(
        "staff/competitions/competition_form.html",
        form=form,
        competition=None,
        c=None,
        templates=[p.value for p in svc.programs_with_template()],
    )


@bp.route("/competitions/<int:competition_id>/")
@role_required(STAFF)
def competition(competition_id: int):
    """One competition: settings, policy, rubric summary, runs and slates."""
    competition = db.get_or_404(Competition, competition_id)
    runs = db.session.scalars(
        select(RankingRun)
        .where(RankingRun.competition_id == competition.id)
        .order_by(RankingRun.id.desc())
        .limit(20)
    ).all()
    slates = {
        s.run_id: s
        for s in db.session.scalars(
            select(AwardSlate).where(AwardSlate.competition_id == competition.id)
        )
    }
    n_apps = db.session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.competition_id == competition.id)
    )
    return render_template(
        "staff/competitions/competition.html",
        c=competition,
        runs=runs,
        slates=slates,
        n_apps=n_apps,
        frozen=svc.rubric_frozen_reason(competition),
        rubric=core_rubric(competition.sections),
    )


@bp.route("/competitions/<int:competition_id>/edit", methods=["GET", "POST"])
@role_required(STAFF)
def competition_edit(competition_id: int):
    """Edit settings, window, funds, award bounds and every ranking-policy knob."""
    competition = db.get_or_404(Competition, competition_id)
    form = CompetitionForm(data={"slug": competition.slug})
    form.set_sections(_section_keys(competition))
    form.slug.data = competition.slug  # the slug is fixed once links to it exist
    if not form.is_submitted():
        form.load(competition)
    elif form.validate() and _attempt(
        form, lambda: svc.update_competition(competition, form.values(), actor=current_actor())
    ):
        flash("Settings saved.", "info")
        return redirect(url_for(".competition", competition_id=competition.id))
    return render_template(
        "staff/competitions/competition_form.html",
        form=form,
        competition=competition,
        c=competition,
        templates=[],
    )


# --------------------------------------------------------------------------- rubric builder


@bp.route("/competitions/<int:competition_id>/rubric", methods=["GET", "POST"])
@role_required(STAFF)
def rubric(competition_id: int):
    """The rubric builder: sections, criteria, weights, steps and descriptors; POST adds a
    section with its first criterion."""
    competition = db.get_or_404(Competition, competition_id)
    form = NewSectionForm(data={"position": len(competition.sections)})
    if form.validate_on_submit() and _attempt(
        form, lambda: rubric_builder.add_section(competition, form.values(), actor=current_actor())
    ):
        flash(f"Section “{form.title.data}” added.", "info")
        return redirect(url_for(".rubric", competition_id=competition.id))
    return render_template(
        "staff/competitions/rubric.html",
        c=competition,
        form=form,
        frozen=svc.rubric_frozen_reason(competition),
        rubric=core_rubric(competition.sections),
        confirm=ConfirmForm(),
    )


@bp.route("/sections/<int:section_id>/edit", methods=["GET", "POST"])
@role_required(STAFF)
def section_edit(section_id: int):
    """Edit a rubric section."""
    section = db.get_or_404(RubricSection, section_id)
    form = SectionForm(obj=section)
    if form.validate_on_submit() and _attempt(
        form, lambda: rubric_builder.update_section(section, form.values(), actor=current_actor())
    ):
        flash("Section saved.", "info")
        return redirect(url_for(".rubric", competition_id=section.competition_id))
    return render_template(
        "staff/competitions/rubric_item.html",
        form=form,
        c=section.competition,
        heading=f"Section “{section.title}”",
        frozen=svc.rubric_frozen_reason(section.competition),
    )


@bp.route("/sections/<int:section_id>/delete", methods=["POST"])
@role_required(STAFF)
def section_delete(section_id: int):
    """Delete a rubric section and its criteria."""
    section = db.get_or_404(RubricSection, section_id)
    competition_id = section.competition_id
    if ConfirmForm().validate_on_submit():
        _flash_result(
            lambda: rubric_builder.delete_section(section, actor=current_actor()),
            "Section deleted.",
        )
    return redirect(url_for(".rubric", competition_id=competition_id))


def _flash_result(action, done: str) -> None:
    """A button without fields: success or the service's message as a flash."""
    try:
        action()
    except InputError as exc:
        db.session.rollback()
        flash(exc.detail[:1].upper() + exc.detail[1:] + ".", "error")
        return
    db.session.commit()
    flash(done, "info")


@bp.route("/sections/<int:section_id>/criteria/new", methods=["GET", "POST"])
@role_required(STAFF)
def criterion_new(section_id: int):
    """Add a criterion to a section."""
    section = db.get_or_404(RubricSection, section_id)
    form = CriterionForm(data={"position": len(section.criteria), "key": f"{section.key}."})
    if form.validate_on_submit() and _attempt(
        form, lambda: rubric_builder.add_criterion(section, form.values(), actor=current_actor())
    ):
        flash(f"Criterion “{form.title.data}” added.", "info")
        return redirect(url_for(".rubric", competition_id=section.competition_id))
    return render_template(
        "staff/competitions/rubric_item.html",
        form=form,
        c=section.competition,
        heading=f"New criterion in “{section.title}”",
        frozen=svc.rubric_frozen_reason(section.competition),
    )


@bp.route("/criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
@role_required(STAFF)
def criterion_edit(criterion_id: int):
    """Edit a criterion: maximum, step and rating-level descriptors."""
    criterion = db.get_or_404(Criterion, criterion_id)
    form = CriterionForm(obj=criterion)
    if not form.is_submitted():
        form.descriptors.data = DescriptorsField.render_value(criterion.descriptors)
    elif form.validate() and _attempt(
        form,
        lambda: rubric_builder.update_criterion(criterion, form.values(), actor=current_actor()),
    ):
        flash("Criterion saved.", "info")
        return redirect(url_for(".rubric", competition_id=criterion.competition_id))
    return render_template(
        "staff/competitions/rubric_item.html",
        form=form,
        c=criterion.competition,
        heading=f"Criterion “{criterion.title}”",
        frozen=svc.rubric_frozen_reason(criterion.competition),
    )


@bp.route("/criteria/<int:criterion_id>/delete", methods=["POST"])
@role_required(STAFF)
def criterion_delete(criterion_id: int):
    """Delete a criterion."""
    criterion = db.get_or_404(Criterion, criterion_id)
    competition_id = criterion.competition_id
    if ConfirmForm().validate_on_submit():
        _flash_result(
            lambda: rubric_builder.delete_criterion(criterion, actor=current_actor()),
            "Criterion deleted.",
        )
    return redirect(url_for(".rubric", competition_id=competition_id))


# --------------------------------------------------------------------------- priorities


@bp.route("/competitions/<int:competition_id>/priorities", methods=["GET", "POST"])
@role_required(STAFF)
def priorities(competition_id: int):
    """Competitive preference priorities and their bonus points; POST adds one."""
    competition = db.get_or_404(Competition, competition_id)
    form = PriorityForm()
    if form.validate_on_submit() and _attempt(
        form, lambda: svc.add_priority(competition, form.values(), actor=current_actor())
    ):
        flash(f"Priority “{form.title.data}” added.", "info")
        return redirect(url_for(".priorities", competition_id=competition.id))
    return render_template(
        "staff/competitions/priorities.html", c=competition, form=form, confirm=ConfirmForm()
    )


@bp.route("/priorities/<int:priority_id>/edit", methods=["GET", "POST"])
@role_required(STAFF)
def priority_edit(priority_id: int):
    """Edit a priority's key, title or bonus points."""
    priority = db.get_or_404(Priority, priority_id)
    form = PriorityForm(obj=priority)
    if form.validate_on_submit() and _attempt(
        form, lambda: svc.update_priority(priority, form.values(), actor=current_actor())
    ):
        flash("Priority saved.", "info")
        return redirect(url_for(".priorities", competition_id=priority.competition_id))
    return render_template(
        "staff/competitions/rubric_item.html",
        form=form,
        c=priority.competition,
        heading=f"Priority “{priority.title}”",
        frozen=None,
    )


@bp.route("/priorities/<int:priority_id>/delete", methods=["POST"])
@role_required(STAFF)
def priority_delete(priority_id: int):
    """Delete a priority no application claims."""
    priority = db.get_or_404(Priority, priority_id)
    competition_id = priority.competition_id
    if ConfirmForm().validate_on_submit():
        _flash_result(
            lambda: svc.delete_priority(priority, actor=current_actor()), "Priority deleted."
        )
    return redirect(url_for(".priorities", competition_id=competition_id))
