"""Domain exceptions: what a rule of the service refused, and the status it maps to.

No Flask here: services raise these; ``scoring.error_pages`` turns them into HTTP responses."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the service refused an action; the message tells the user what to fix."""

    status_code = 400


class NotFound(DomainError):
    """The record does not exist or is not visible to this user."""

    status_code = 404


class Conflict(DomainError):
    """The action clashes with the current state (stale form, closed window, locked review)."""

    status_code = 409


class Forbidden(DomainError):
    """The user may not do this."""

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
