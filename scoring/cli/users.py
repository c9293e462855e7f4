"""``flask --app scoring users create|list|deactivate``: accounts from the command line.

``users create`` is how a fresh production installation gets its first staff account: it prints
a one-time link to choose a password, built from the configured ``PUBLIC_URL`` (never from a
request). Every change is audited with the actor ``cli``.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from scoring.cli.common import UserError, database_errors
from scoring.errors import Conflict, InputError
from scoring.extensions import db
from scoring.models import District, DistrictRole, Role, User

ROLES = [r.value for r in Role]
DISTRICT_ROLES = [r.value for r in DistrictRole]


@click.group("users")
def users_cli() -> None:
    """Accounts: create one (with a one-time set-password link), list, deactivate."""


def _district(code: str | None) -> District | None:
    if code is None:
        return None
    district = db.session.scalar(select(District).where(District.code == code.strip()))
    if district is None:
        raise UserError(f"no district with code {code!r} (see the districts' codes in the app)")
    return district


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The account's role.")
@click.option("--name", default="", help="The person's name (default: the address's user part).")
@click.option("--can-approve", is_flag=True, help="Staff who may approve award slates.")
@click.option("--district", "district_code", help="An applicant's district, by its code.")
@click.option(
    "--district-role",
    type=click.Choice(DISTRICT_ROLES),
    help="An applicant's role in the district (default: submitter if it has none yet).",
)
@with_appcontext
@database_errors
def create_command(
    email: str,
    role: str,
    name: str,
    can_approve: bool,
    district_code: str | None,
    district_role: str | None,
) -> None:
    """Create an account and print a one-time link to choose its password."""
    from scoring.services.accounts import accounts
    from scoring.web import password_link

    if not (current_app.config.get("PUBLIC_URL") or "").strip():
        raise UserError("set PUBLIC_URL (the address users reach the service at) first")
    try:
        user, raw = accounts.create_account(
            email,
            name,
            Role(role),
            district=_district(district_code),
            district_role=DistrictRole(district_role) if district_role else None,
            can_approve=can_approve,
        )
    except InputError as exc:
        db.session.rollback()
        raise UserError(exc.detail) from None
    link = password_link(raw)
    db.session.commit()
    extra = f", {user.district_role.value} of {user.district.name}" if user.district else ""
    approve = ", can approve" if user.can_approve else ""
    click.echo(f"created {user.role.value} account {user.email} (id {user.id}{extra}{approve})")
    click.echo(
        f"one-time link to choose the password (expires in {accounts.invite_hours()} hours; "
        "hand it to the person privately):"
    )
    click.echo(link)


def _row(user: User) -> list[str]:
    return [
        user.email,
        user.name,
        user.role.value,
        user.district.code if user.district else "",
        user.district_role.value if user.district_role else "",
        "yes" if user.can_approve else "",
        "active" if user.active else "deactivated",
        "" if user.password_hash else "no password yet",
    ]


HEADINGS = ["email", "name", "role", "district", "district role", "approves", "status", "note"]


@users_cli.command("list")
@click.option("--role", type=click.Choice(ROLES), help="Only accounts with this role.")
@click.option("--district", "district_code", help="Only this district's accounts (its code).")
@click.option("--inactive/--active-only", default=True, help="Include deactivated accounts.")
@with_appcontext
@database_errors
def list_command(role: str | None, district_code: str | None, inactive: bool) -> None:
    """Print the accounts as a table, by role then email."""
    query = select(User).order_by(User.role, User.email)
    if role:
        query = query.where(User.role == Role(role))
    if district_code is not None:
        query = query.where(User.district_id == _district(district_code).id)
    if not inactive:
        query = query.where(User.active.is_(True))
    rows = [HEADINGS] + [_row(u) for u in db.session.scalars(query)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADINGS))]
    for n, row in enumerate(rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
    click.echo(f"{len(rows) - 1} account(s)")


@users_cli.command("deactivate")
@click.argument("email")
@with_appcontext
@database_errors
def deactivate_command(email: str) -> None:
    """Deactivate an account: it can no longer sign in and its sessions end (audited)."""
    from scoring.services.accounts import people, users

    user = users.find_by_email(email)
    if user is None:
        raise UserError(f"no account with the address {email!r}")
    if not user.active:
        click.echo(f"{user.email} was already deactivated")
        return
    try:
        people.deactivate(user, actor=None, via="cli")
    except Conflict as exc:
        db.session.rollback()
        raise UserError(str(exc)) from None
    db.session.commit()
    click.echo(f"deactivated {user.email}; their sessions have ended")
