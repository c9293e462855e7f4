"""Rules for what a request may carry, written once and applied to every route (issue 12).

- ids in URLs: ``<int:...>`` is a bounded converter (ASCII digits, at most 2**31-1), so a huge
  id or a superscript digit is a 404, never a database error;
- text: control characters (NUL and the like) in the path, the query or a form field are refused
  with a 400 that names the field (tab, CR and LF stay allowed in form text);
- ``next``: one check on the parsed URL (:func:`safe_next`), used by every redirect after sign-in;
- ``X-Request-Id``: a client's id is kept only in a safe form and only for the logs; the id in
  the audit trail is always the service's own;
- dates typed by people lie between :data:`EARLIEST` and :data:`LATEST` (:func:`sane_date`).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter
from wtforms.validators import ValidationError

#: The largest id a URL may name (PostgreSQL ``integer``).
MAX_ID = 2**31 - 1
#: Dates people type (deadlines, filters) must fall in this range.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF, CR allowed in form text
_CONTROL_STRICT = re.compile(r"[\x00-\x1f\x7f]")
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` for ids: ASCII digits only, at most ten of them, at most :data:`MAX_ID`."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


def bounded_id(value: str | None) -> int | None:
    """An id from a query string, or None when it is missing or not a plain bounded number."""
    if value is None or not re.fullmatch(r"[0-9]{1,10}", value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (open redirects, header injection).

    The check runs on the parsed value after refusing what browsers drop or rewrite (control
    characters, backslashes), so ``/\\t/evil.example/`` cannot become ``//evil.example/``.
    """
    if not target or len(target) > 2000 or _CONTROL_STRICT.search(target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


def request_ids(header: str | None) -> tuple[str, str | None]:
    """(the service's id for this request, the client's ``X-Request-Id`` if it is safe)."""
    client = header if header and _SAFE_REQUEST_ID.fullmatch(header) else None
    return uuid.uuid4().hex[:16], client


def control_character_field(path: str, args) -> str | None:
    """The name of the first part of the address (path, query) holding a control character."""
    if _CONTROL_STRICT.search(path):
        return "the address"
    for name, value in args.items(multi=True):
        if _CONTROL_STRICT.search(name) or _CONTROL_STRICT.search(value):
            return name if not _CONTROL_STRICT.search(name) else "a query parameter"
    return None


def no_control_characters(form, field) -> None:
    """WTForms validator: no control characters (tab, CR and LF are allowed)."""
    if isinstance(field.data, str) and _CONTROL.search(field.data):
        raise ValidationError(
            "Remove the invisible control characters (such as NUL) from this text."
        )


def bounded_int(value) -> int:
    """``int(value)`` for an id or a number in a form (a choice's ``coerce``): ASCII digits
    only, within PostgreSQL's ``integer``; else ``ValueError`` (the choice is then not valid)."""
    number = int(value) if isinstance(value, int) else None
    if number is None:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,10}", text):
            raise ValueError("not a number in range")
        number = int(text)
    if not -MAX_ID - 1 <= number <= MAX_ID:
        raise ValueError("not a number in range")
    return number


def in_integer_range(form, field) -> None:
    """WTForms validator: a whole number within PostgreSQL's ``integer``."""
    if isinstance(field.data, int) and not -MAX_ID - 1 <= field.data <= MAX_ID:
        raise ValidationError("Enter a smaller number.")


def refuse_control_characters_in_forms() -> None:
    """The input rules, given once to every field of every form (``FlaskForm``), so no form can
    forget one (issue 12):

    - text fields: :func:`no_control_characters` (a NUL in any comment, reason or note is refused
      beside its field, never sent to the database);
    - date and date-time fields: :func:`sane_date`;
    - whole-number fields: :func:`in_integer_range`;
    - choices coerced with ``int``: :func:`bounded_int` instead.

    Uses WTForms' documented hook, ``Meta.bind_field``; idempotent.
    """
    from flask_wtf import FlaskForm
    from wtforms.fields import (
        DateField,
        DateTimeField,
        IntegerField,
        RadioField,
        SelectField,
        SelectMultipleField,
        StringField,
    )

    meta = FlaskForm.Meta
    if getattr(meta, "_refuses_control_characters", False):
        return
    bind = meta.bind_field
    extra = (
        (StringField, no_control_characters),
        (DateField, sane_date),
        (DateTimeField, sane_date),
        (IntegerField, in_integer_range),
    )

    def bind_field(self, form, unbound_field, options):
        field = bind(self, form, unbound_field, options)
        for kind, validator in extra:
            if isinstance(field, kind) and validator not in field.validators:
                field.validators = [*field.validators, validator]
        choices = (SelectField, SelectMultipleField, RadioField)
        if isinstance(field, choices) and getattr(field, "coerce", None) is int:
            field.coerce = bounded_int
        return field

    meta.bind_field = bind_field
    meta._refuses_control_characters = True


def one_line(text: str) -> str:
    """``text`` on one line (a mail subject): line breaks and control characters become spaces."""
    return " ".join(_CONTROL_STRICT.sub(" ", text).split())


def sane_date(form, field) -> None:
    """WTForms validator: a date or date-time between :data:`EARLIEST` and :data:`LATEST`."""
    value = field.data
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"Enter a date between {EARLIEST:%m/%d/%Y} and {LATEST:%m/%d/%Y}.")
