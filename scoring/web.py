"""Helpers every view uses: who is acting, work queued after the commit, a service's refusal
shown beside the form field it names.

Views call services with :func:`current_actor`, commit, and only then queue background work
(``*_after_commit``), so the worker always sees the committed rows. These helpers are the one
place views dispatch: the work is already a committed row (a queued run, a pending mail, an
extra reviewer asked for), so
a broker that is away is logged and the request succeeds; the relay (``workers.tasks.relay``,
``flask --app scoring ops recover``) sends it when the broker is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from scoring.errors import InputError
from scoring.models import User
from scoring.runtime import public_url

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- the actor


def current_actor() -> User:
    """The signed-in user as a model object (not the proxy), for services and relationships."""
    return current_user._get_current_object()


# --------------------------------------------------------------------------- links in mail


def password_link(raw_token: str) -> str:
    """The set-password link of an invitation or a reset, from ``PUBLIC_URL`` (never the Host)."""
    return public_url("accounts.open_password_link", token=raw_token)


# --------------------------------------------------------------------------- after the commit


def send_after_commit(message_ids: Iterable[int]) -> None:
    """Queue the sending of outbox messages; call it after ``db.session.commit()``."""
    from workers.tasks import send_all, send_mail

    send_all(send_mail, list(message_ids))


def rank_after_commit(run_id: int) -> None:
    """Queue the computation of a committed ranking run."""
    from workers.tasks import rank_competition, rank_stability, send_all

    send_all(rank_competition, [run_id])
    if current_app.config.get("TASKS_EMBEDDED"):  # a worker queues it after the run otherwise
        send_all(rank_stability, [run_id])


def extra_reviewer_after_commit(application_id: int, target: int, actor_id: int | None) -> None:
    """Queue the search for one more reviewer of an application (the automatic rules). The
    request is a committed row (``reconciliation.request_extra_reviewer``): with the broker
    away it is logged, and the relay sends it when the broker is back."""
    from workers.tasks import assign_extra_reviewer, send_all

    send_all(assign_extra_reviewer, [(application_id, target, actor_id)])


def export_after_commit(job_id: int) -> None:
    """Queue the building of a committed export job's file (a broker error is logged)."""
    from workers.tasks import make_export, send_all

    send_all(make_export, [job_id])


# --------------------------------------------------------------------------- files


def send_pdf(data: bytes, name: str):
    """A PDF sent as a download (never rendered here), sandboxed and not stored by caches."""
    import io

    from flask import send_file

    response = send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=name,
        max_age=0,
    )
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- errors beside fields


def sentence(text: str) -> str:
    """A service's message as a sentence: ``"already invited"`` → ``"Already invited."``."""
    return text[:1].upper() + text[1:] + "."


def add_error(
    form: FlaskForm, field_name: str | None, message: str, fallback: str | None = None
) -> bool:
    """Show a service's refusal beside the field it names (else beside ``fallback``).

    Returns False when neither field exists, so the caller shows the message above the form.
    """
    field = form._fields.get(field_name or "") or form._fields.get(fallback or "")
    if field is None:
        return False
    field.errors = [*field.errors, message]
    return True


def show_error(form: FlaskForm, exc: InputError) -> None:
    """Put a service's ``InputError`` beside the field it names (else above the form: a hidden
    field's message alone, any other with its path)."""
    field = form._fields.get(exc.path or "")
    if field is not None and not isinstance(field, HiddenField):
        field.errors = [*field.errors, exc.detail]
    else:
        form.form_errors.append(str(exc.detail if field is not None else exc))


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_summary(user_agent: str | None) -> str:
    """A short name for a browser from its User-Agent ("Firefox on Windows"), for the list of
    a user's sessions; "Unknown browser" when it says nothing we know."""
    ua = (user_agent or "")[:512]
    browser = next((name for mark, name in _BROWSERS if mark in ua), None)
    if browser is None and "Safari/" in ua:
        browser = "Safari"
    system = next((name for mark, name in _SYSTEMS if mark in ua), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"
