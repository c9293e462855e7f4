"""Domain exceptions and the HTTP error pages (HTML, or JSON under /api)."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the service refused an action; the message tells the user what to fix."""

    status_code = 400


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """The action clashes with the current state (stale form, closed window, locked review)."""

    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class InputError(DomainError):
    """Bad input; ``path`` names the field or JSON path at fault."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message


MESSAGES = {
    400: "The request could not be understood. Check the form and try again.",
    403: "You do not have permission to do that.",
    404: "There is nothing here, or you do not have access to it.",
    405: "That action is not allowed here.",
    409: "That conflicts with the current state of the record.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. The error has been logged.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(code: int, message: str):
    if _wants_json():
        return jsonify(error={"status": code, "message": message}), code
    return render_template("errors/error.html", code=code, message=message), code


def register(app: Flask) -> None:
    """Friendly pages for every HTTP error; never a traceback in the body."""

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError):
        return _respond(400, "The form expired or was not sent from this site. Reload the page and try again.")

    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        return _respond(e.status_code, str(e))

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        code = e.code or 500
        if code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            msg = f"The upload is too large: the limit is {limit // (1024 * 1024)} MB."
        elif code == 429:
            msg = MESSAGES[429]
        else:
            msg = e.description if code not in (400, 500) or not e.description else MESSAGES.get(code, e.description)
            if code == 404 and (not e.description or e.description.startswith("The requested URL")):
                msg = MESSAGES[404]
            if code == 403 and (not e.description or e.description.startswith("You don't")):
                msg = MESSAGES[403]
        return _respond(code, msg)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):  # pragma: no cover - handled above
            return _http(e)
        log.exception("unhandled error request_id=%s", getattr(g, "request_id", "-"))
        return _respond(500, MESSAGES[500] + f" Reference: {getattr(g, 'request_id', '-')}.")


