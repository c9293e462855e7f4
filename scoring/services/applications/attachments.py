"""PDF attachments: checked by content, stored outside the web root under generated names.

A file is accepted only if it *is* a PDF: it starts with ``%PDF-``, ends with an ``%%EOF`` marker
(a truncated upload has none), is not encrypted, and pypdf can read at least one page. Its name
is kept for display only; on disk it is ``UPLOAD_DIR/<uuid4 hex>``, written to a temporary file
first and renamed, so a half-written file never carries a valid name. Requests larger than
``MAX_CONTENT_LENGTH`` are refused with 413 by Werkzeug before anything is read.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pypdf import PdfReader

from scoring.errors import Conflict, InputError, NotFound
from scoring.extensions import db
from scoring.models import Application, Attachment, User
from scoring.runtime import app_config
from scoring.services import audit
from scoring.services.access import NOT_FOUND
from scoring.services.applications.applications import require_editable
from scoring.services.applications.blind import strip_metadata

log = logging.getLogger(__name__)

MAX_FILES = 10


def upload_dir() -> Path:
    """The configured upload folder (``UPLOAD_DIR``), created if missing."""
    path = Path(app_config()["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def size_limit() -> int:
    """The largest upload in bytes (``MAX_CONTENT_LENGTH``, else 20 MB)."""
    return int(app_config().get("MAX_CONTENT_LENGTH") or 20 * 1024 * 1024)


def clean_name(raw: str | None) -> str:
    """The last path component, without control characters, at most 255 characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    return (
        "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")[-255:]
    )


def display_name(raw: str | None) -> str:
    """An attachment's name as shown and served: :func:`clean_name`, always ending in .pdf."""
    name = clean_name(raw)
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix.lower() == "pdf":
        name = stem.strip()
    # Stored and served as .pdf only: a PDF/HTML polyglot named .html never keeps that name.
    return ((name or "attachment")[-251:]).strip() + ".pdf"


NOT_PDF = (
    "This file is not a PDF (whatever its name says). Save or print it as PDF and upload that."
)
CUT_OFF = (
    "This PDF is incomplete (it may have been cut off). Save it again and upload the new copy."
)
ACTIVE = (
    "This PDF holds active content ({what}), which is not accepted. Print it to a new PDF "
    "(File, Print, Save as PDF) and upload that copy."
)
#: Keys and action types that make a PDF run something, open something or carry other files.
_ACTIVE_KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/EmbeddedFile": "embedded files",
    "/EmbeddedFiles": "embedded files",
    "/RichMedia": "embedded media",
    "/XFA": "an XFA form",
}
_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "a launch action",
    "/SubmitForm": "a form submission",
    "/ImportData": "a data import",
    "/GoToE": "embedded files",
}
_MAX_OBJECTS = 200_000
LOCKED = "This PDF is password-protected; reviewers could not open it. Upload an unprotected copy."
DAMAGED = "This PDF cannot be read; it may be damaged. Save it again and upload the new copy."


def check_pdf(data: bytes) -> None:
    """:raise InputError: the bytes are not a readable, unencrypted PDF with at least one page."""
    if not data:
        raise InputError("The file is empty. Choose the PDF again.", "file")
    if not data.startswith(b"%PDF-"):
        raise InputError(NOT_PDF, "file")
    if b"%%EOF" not in data[-2048:]:
        raise InputError(CUT_OFF, "file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InputError(LOCKED, "file")
        pages = len(reader.pages)
        reader.pages[0].mediabox  # noqa: B018 - touching the first page proves it parses
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files; all mean "unreadable"
        log.info("unreadable PDF upload: %r", exc)
        raise InputError(DAMAGED, "file") from exc
    if pages < 1:
        raise InputError("This PDF has no pages.", "file")
    what = active_content(reader)
    if what:
        raise InputError(ACTIVE.format(what=what), "file")


def active_content(reader: PdfReader) -> str | None:
    """What active content the PDF holds (JavaScript, launch actions, embedded files), or None.

    Walks every object reachable from the trailer through pypdf, which decodes escaped names
    (``/J#61vaScript``) and object streams, so hiding a key from a byte search does not help.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    todo: list = [reader.trailer]
    visited = 0
    while todo:
        node = todo.pop()
        visited += 1
        if visited > _MAX_OBJECTS:
            return "too many objects to check"
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            try:
                node = node.get_object()
            except Exception:  # a dangling reference is not active content
                continue
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                if name in _ACTIVE_KEYS:
                    return _ACTIVE_KEYS[name]
                if name == "/S" and str(value) in _ACTIVE_ACTIONS:
                    return _ACTIVE_ACTIONS[str(value)]
                todo.append(value)
        elif isinstance(node, ArrayObject):
            todo.extend(node)
    return None


def read_limited(stream: BinaryIO) -> bytes:
    """Read an upload, refusing more than the size limit (a stream without a length included)."""
    limit = size_limit()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"The file is larger than the {limit // (1024 * 1024)} MB limit.", "file")
    return data


def add_pdf(
    application: Application, user: User, filename: str | None, stream: BinaryIO, now: datetime
) -> Attachment:
    """Check and store a PDF for a draft.

    :raise Conflict: the application can no longer change, or already has ``MAX_FILES`` files.
    :raise InputError: the file is not an acceptable PDF.
    """
    require_editable(application, now)
    if len(application.attachments) >= MAX_FILES:
        raise Conflict(
            f"An application may have at most {MAX_FILES} attachments; remove one first."
        )
    data = read_limited(stream)
    check_pdf(data)
    if application.competition.blind_review:  # no author or title in the file's metadata
        data = strip_metadata(data)
    stored = uuid.uuid4().hex
    folder = upload_dir()
    _store(folder, stored, data)
    attachment = Attachment(
        stored_name=stored,
        filename=display_name(filename),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=user.id,
    )
    application.attachments.append(attachment)
    db.session.flush()
    audit.record(
        "attachment.add",
        "attachment",
        attachment.id,
        actor=user,
        competition_id=application.competition_id,
        after={
            "application": application.ref,
            "name": attachment.filename,
            "sha256": attachment.sha256,
            "size": attachment.size,
        },
    )
    return attachment


def _store(folder: Path, stored: str, data: bytes) -> None:
    """Write the file whole or not at all: a ``.part`` file renamed into place, removed when the
    disk is full (or any other write error), which becomes a clear message, not a 500."""
    tmp = folder / f".{stored}.part"
    try:
        with open(tmp, "wb") as fh:
            os.chmod(tmp, 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / stored)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.error("storing an upload failed (%s): %s", folder, exc)
        raise InputError(
            "the server has no room to store the file right now, so nothing was saved; "
            "try again later, and tell the grant office if it keeps happening",
            "file",
        ) from None


def get_attachment(application: Application, attachment_id: int) -> Attachment:
    """:raise NotFound: the attachment is not one of this application's."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != application.id:
        raise NotFound(NOT_FOUND)
    return attachment


def for_download(user: User, attachment: Attachment) -> tuple[bytes, str]:
    """The bytes and the file name ``attachment`` is sent to ``user`` with (the caller checked
    ``access.attachment(user, attachment).read``). When the user may not learn the school
    (a reviewer under blind review) the name is neutral and the PDF's metadata is stripped,
    whenever the file was uploaded (even before the competition became blind)."""
    from scoring.services import access

    data = path_of(attachment).read_bytes()
    if not access.attachment(user, attachment).names:
        try:
            data = strip_metadata(data)
        except Exception as exc:  # an unreadable file was refused on upload; never leak it
            log.error("attachment %s: metadata not stripped (%r)", attachment.id, exc)
            raise NotFound("The file cannot be read. Ask the Turnaround Office for help.") from None
    return data, access.download_name(user, attachment)


def path_of(attachment: Attachment) -> Path:
    """Where the file is; :raise NotFound: it is missing on disk."""
    path = upload_dir() / attachment.stored_name
    if not path.is_file():
        log.error("attachment %s missing on disk: %s", attachment.id, path)
        raise NotFound("The file is missing. Ask the Turnaround Office for help.")
    return path


def remove(application: Application, attachment: Attachment, user: User, now: datetime) -> None:
    """Remove an attachment from a draft. The file is deleted after the commit by the caller."""
    require_editable(application, now)
    audit.record(
        "attachment.remove",
        "attachment",
        attachment.id,
        actor=user,
        competition_id=application.competition_id,
        before={
            "application": application.ref,
            "name": attachment.filename,
            "sha256": attachment.sha256,
        },
    )
    application.attachments.remove(attachment)
    db.session.flush()


def delete_file(stored_name: str) -> None:
    """Delete a stored file (after the commit that removed its row)."""
    try:
        (upload_dir() / stored_name).unlink()
    except FileNotFoundError:
        pass
