"""The HTTP error pages: domain errors and HTTP errors as HTML, or JSON under /api.

An error page never needs the database: the session is rolled back first (a failed
transaction would refuse every query), and when the page still cannot be drawn (the signed-in
user cannot be loaded, the database is away) a static page with the reference id is sent.
"""

from __future__ import annotations

import logging
from html import escape

from flask import Flask, Response, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from scoring.errors import MESSAGES, DomainError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


STATIC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{code}</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main><section class="card narrow"><h1>Error {code}</h1><p>{message}</p>
<p><a href="/">Back to the home page</a></p></section></main></body></html>"""


def _rollback() -> None:
    """End a failed transaction; with the database away even that may fail: ignore it."""
    from scoring.extensions import db

    try:
        db.session.rollback()
    except Exception as exc:  # the connection is gone
        log.warning("rollback failed while drawing an error page: %s", exc)


def _respond(code: int, message: str):
    if _wants_json():
        return jsonify(error={"status": code, "message": message}), code
    _rollback()
    try:
        return render_template("errors/error.html", code=code, message=message), code
    except Exception:  # the page needs what is broken (the database behind current_user)
        log.exception("error page fell back to static request_id=%s", getattr(g, "request_id", "-"))
        _rollback()
        page = STATIC_PAGE.format(code=code, message=escape(message))
        return Response(page, status=code, mimetype="text/html")


def _statement_timeout(e: Exception) -> bool:
    """The database cancelled a statement at ``statement_timeout`` (SQLAlchemy wraps it)."""
    from psycopg.errors import QueryCanceled

    return isinstance(e, QueryCanceled) or isinstance(getattr(e, "orig", None), QueryCanceled)


def register(app: Flask) -> None:
    """Friendly pages for every HTTP error; never a traceback in the body."""

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        return _respond(
            400, "The form expired or was not sent from this site. Reload the page and try again."
        )

    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        return _respond(e.status_code, str(e))

    @app.errorhandler(SecurityError)
    def _untrusted_host(e: SecurityError):
        # A Host outside TRUSTED_HOSTS: no URL adapter exists, so no page with links can render.
        return "This address is not served here.", 400, {"Content-Type": "text/plain"}

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        code = e.code or 500
        if code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            msg = f"The upload is too large: the limit is {limit // (1024 * 1024)} MB."
        elif code == 429:
            msg = MESSAGES[429]
        else:
            generic = not e.description or e.description == type(e).description
            msg = (
                e.description
                if code not in (400, 500) or not generic
                else MESSAGES.get(code, e.description)
            )
            if code == 404 and (not e.description or e.description.startswith("The requested URL")):
                msg = MESSAGES[404]
            if code == 403 and (not e.description or e.description.startswith("You don't")):
                msg = MESSAGES[403]
        return _respond(code, msg)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):  # pragma: no cover - handled above
            return _http(e)
        if _statement_timeout(e):  # WEB_STATEMENT_TIMEOUT_MS: a busy or locked database
            log.warning("statement timeout request_id=%s: %s", getattr(g, "request_id", "-"), e)
            return _respond(
                503,
                "The database took too long to answer, so the request was stopped. Try again "
                f"in a moment. Reference: {getattr(g, 'request_id', '-')}.",
            )
        log.exception(
            "unhandled error request_id=%s client_request_id=%s",
            getattr(g, "request_id", "-"),
            getattr(g, "client_request_id", None) or "-",
        )
        return _respond(500, MESSAGES[500] + f" Reference: {getattr(g, 'request_id', '-')}.")
