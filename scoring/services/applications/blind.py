"""Blind review that holds (issue 10): before submission, the school's and the district's names
are looked for in the title, the narratives and the text of the attached PDFs, and each place
found is shown to the applicant as something to fix; uploads to a blind-review competition are
stored without their document information (``/Info``) and XMP metadata, which often carry an
author or a school name."""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader, PdfWriter

from scoring.models import Application

log = logging.getLogger(__name__)
#: Pages of each PDF searched (a longer file is searched on its first pages only).
MAX_PAGES = 60


def _names(application: Application) -> list[str]:
    school = application.school
    names = [school.name, school.district.name] if school is not None else []
    return [n for n in dict.fromkeys(n.strip() for n in names if n and n.strip())]


def _pattern(names: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternatives})(?!\w)", re.IGNORECASE)


def identity_problems(application: Application, pdf_texts=None) -> dict[str, str]:
    """Under blind review: each place the school's or district's name appears, keyed by form
    field (``title``, ``narrative_<section>``, ``attachments``). ``pdf_texts`` maps an
    attachment to its pages' text (read from the stored files when not given)."""
    if not application.competition.blind_review:
        return {}
    names = _names(application)
    if not names:
        return {}
    pattern = _pattern(names)
    problems: dict[str, str] = {}
    advice = "Reviewers must not learn the school or district: remove the name."
    if application.title and (m := pattern.search(application.title)):
        problems["title"] = f"The title names “{m.group(1)}”. {advice}"
    sections = {s.id: s.title for s in application.competition.sections}
    for narrative in application.narratives:
        found = sorted({m.group(1) for m in pattern.finditer(narrative.text or "")})
        if found:
            title = sections.get(narrative.section_id, "a section")
            problems[f"narrative_{narrative.section_id}"] = (
                f"The “{title}” response names {', '.join(f'“{f}”' for f in found)}. {advice}"
            )
    places = []
    texts = pdf_texts if pdf_texts is not None else _pdf_texts(application)
    for number, attachment in enumerate(application.attachments, start=1):
        for page, text in enumerate(texts.get(attachment.id, []), start=1):
            for m in sorted({m.group(1) for m in pattern.finditer(text)}):
                places.append(
                    f"“{m}” on page {page} of attachment {number} ({attachment.filename})"
                )
    if places:
        problems["attachments"] = (
            "The attached PDFs name the school or district: "
            + "; ".join(places[:20])
            + f". {advice}"
        )
    return problems


def _pdf_texts(application: Application) -> dict[int, list[str]]:
    from scoring.services.applications.attachments import path_of

    texts: dict[int, list[str]] = {}
    for attachment in application.attachments:
        try:
            reader = PdfReader(str(path_of(attachment)), strict=False)
            texts[attachment.id] = [
                page.extract_text() or "" for page in list(reader.pages)[:MAX_PAGES]
            ]
        except Exception as exc:  # a file that cannot be read has been refused on upload
            log.warning("attachment %s text not readable: %r", attachment.id, exc)
    return texts


def strip_metadata(data: bytes) -> bytes:
    """The same PDF without its document information dictionary and XMP metadata."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data), strict=False))
    writer.metadata = None
    if "/Metadata" in writer._root_object:
        del writer._root_object["/Metadata"]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
