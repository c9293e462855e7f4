"""Blind review that holds (issue 10): before submission, the school's and the district's names
are looked for in the title, the narratives and the text of the attached PDFs (with their short
forms: the name without "School"/"High"/"Public Schools", and initials such as "BHS"; never an
ordinary word or a common acronym), and each place found is shown to the applicant as something
to fix; uploads to a blind-review competition are
stored without their document information (``/Info``) and XMP metadata, which often carry an
author or a school name."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter

from scoring.models import Application

log = logging.getLogger(__name__)
#: Pages of each PDF searched (a longer file is searched on its first pages only).
MAX_PAGES = 60


#: Words that say what kind of school or district a name is; without them a name has its
#: short form ("Bridgeport High School" → "Bridgeport High" → "Bridgeport").
GENERIC = frozenset(
    "school schools public high middle elementary primary secondary academy magnet district "
    "senior junior intermediate upper lower early childhood learning center centre community "
    "regional k-8 k-5 pre-k prek-8".split()
)
#: Acronyms that grant narratives use for other things: never taken for a school's initials.
ACRONYMS = frozenset(
    "ELL ELA ESL EL IEP PBIS STEM ESSA SIG SAT PSAT SRBI CSDE SDE LEA SEA NCLB CCSS SBAC CAPT "
    "CMT FRL SPED PLC RTI MTSS SEL CTE GED PTA PTO USA AVID TIME CEO".split()
)
#: Ordinary words found in school names that are not in the frequency lists below (zxcvbn
#: files them as surnames or passwords): a short form that is one of them is not looked for.
_ORDINARY = frozenset(
    "hill green garden success king cross hall grove maple oak elm pine cedar birch willow "
    "brook meadow lake valley ridge field spring harbor bay view rock stone star hope unity "
    "liberty freedom victory eagle sunrise summit bridge mill forest river park central union "
    "north south east west new city town village heights square street avenue road global "
    "international discovery excellence achievement pathways renaissance charter prospect".split()
)
#: Short words never taken for initials (case matters for initials: "BE" is not "be" anyway).
MIN_INITIALS = 3


def _ordinary_words() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    common = FREQUENCY_LISTS["english_wikipedia"][:3000] + FREQUENCY_LISTS["us_tv_and_film"][:3000]
    return frozenset(common) | _ORDINARY


ORDINARY = _ordinary_words()


@dataclass(frozen=True)
class Form:
    """One way a name may be written: the text, whether case matters, and the full name."""

    text: str
    exact_case: bool
    full: str


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"\s+", name.strip()) if w]


def _short_forms(name: str) -> list[str]:
    """The name without its generic words at the end (and a leading "The"), step by step."""
    words = _words(name)
    if words and words[0].lower() == "the":
        words = words[1:]
    out = []
    while len(words) > 1 and words[-1].lower().strip(".,") in GENERIC:
        words = words[:-1]
        out.append(" ".join(words))
    return out


def _initials(name: str, *, district: bool) -> list[str]:
    """Initials of the name ("BHS"), also of the school with "School" ("Bridgeport High" →
    "BHS") and of the district with "Public Schools" ("New Haven" → "NHPS")."""
    words = _words(name)
    spelled = [words]
    if district and words and words[-1].lower() not in {"schools", "district"}:
        spelled.append([*words, "Public", "Schools"])
    if not district and words and words[-1].lower() != "school":
        spelled.append([*words, "School"])
    out = []
    for ws in spelled:
        letters = "".join(
            w[0] for w in ws if w[0].isalpha() and w.lower() not in {"of", "the", "and"}
        )
        if len(letters) >= MIN_INITIALS:
            out.append(letters.upper())
    return out


def name_forms(school: str | None, district: str | None) -> list[Form]:
    """Every form of the school's and the district's names looked for: the full names (any
    case), their short forms (any case; a form of ordinary words only as written, and one
    ordinary word not at all) and their initials (capitals, dots allowed: "BHS", "B.H.S.")."""
    named = [(" ".join(_words(n)), d) for n, d in ((school, False), (district, True)) if n]
    named = [(full, d) for full, d in named if full]
    forms = {full.lower(): Form(full, False, full) for full, _ in named}  # full names first
    for full, district_name in named:
        for short in _short_forms(full):
            words = [w.lower().strip(".,") for w in _words(short)]
            if all(w in ORDINARY for w in words):
                if len(words) == 1:
                    continue  # "Central" of "Central High School" is an ordinary word
                forms.setdefault(short.lower(), Form(short, True, full))
            else:
                forms.setdefault(short.lower(), Form(short, False, full))
        for letters in _initials(full, district=district_name):
            if letters not in ACRONYMS and letters.lower() not in ORDINARY:
                forms.setdefault(letters.lower(), Form(letters, True, full))
    return list(forms.values())


def _names(application: Application) -> list[Form]:
    school = application.school
    if school is None:
        return []
    return name_forms(school.name, school.district.name if school.district else None)


def _alternative(form: Form) -> str:
    if form.exact_case and form.text.isupper() and " " not in form.text:  # initials
        dotted = r"\.".join(re.escape(c) for c in form.text) + r"\.?"
        return f"{re.escape(form.text)}|{dotted}"
    return r"\s+".join(re.escape(w) for w in _words(form.text))


class NameFinder:
    """Finds the forms of the names in a text; :meth:`found` gives each as the applicant sees
    it: “BHS” (Bridgeport High School), “Bridgeport Elementary”."""

    def __init__(self, forms: list[Form]) -> None:
        def compile_(group: list[Form], flags: int) -> re.Pattern[str] | None:
            if not group:
                return None
            ordered = sorted(group, key=lambda f: len(f.text), reverse=True)
            alternatives = "|".join(_alternative(f) for f in ordered)
            return re.compile(rf"(?<!\w)({alternatives})(?!\w)", flags)

        self._any_case = compile_([f for f in forms if not f.exact_case], re.IGNORECASE)
        exact = [f for f in forms if f.exact_case]
        self._exact = compile_(exact, 0)
        self._upper = compile_(
            [Form(f.text.upper(), True, f.full) for f in exact if not f.text.isupper()], 0
        )
        self._full = {re.sub(r"[\s.]+", "", f.text.lower()): f.full for f in forms}

    def found(self, text: str) -> list[str]:
        """Each different form found in ``text``, labelled, in order of first appearance (a
        form inside a longer one found at the same place is not counted again)."""
        hits: list[tuple[int, int, str]] = []
        for pattern in (self._any_case, self._exact, self._upper):
            if pattern is not None:
                hits += [(m.start(), -m.end(), m.group(1)) for m in pattern.finditer(text or "")]
        labels: dict[str, str] = {}
        reached = -1
        for start, negative_end, hit in sorted(hits):
            if start < reached:
                continue
            reached = -negative_end
            shown = " ".join(hit.split())
            key = re.sub(r"[\s.]+", "", hit.lower())
            full = self._full.get(key, shown)
            labels.setdefault(
                key, f"“{shown}”" if full.lower() == shown.lower() else f"“{shown}” ({full})"
            )
        return list(labels.values())


def identity_problems(application: Application, pdf_texts=None) -> dict[str, str]:
    """Under blind review: each place the school's or district's name appears, keyed by form
    field (``title``, ``narrative_<section>``, ``attachments``). ``pdf_texts`` maps an
    attachment to its pages' text (read from the stored files when not given)."""
    if not application.competition.blind_review:
        return {}
    forms = _names(application)
    if not forms:
        return {}
    finder = NameFinder(forms)
    problems: dict[str, str] = {}
    advice = "Reviewers must not learn the school or district: remove the name."
    if application.title and (found := finder.found(application.title)):
        problems["title"] = f"The title names {', '.join(found)}. {advice}"
    sections = {s.id: s.title for s in application.competition.sections}
    for narrative in application.narratives:
        found = finder.found(narrative.text or "")
        if found:
            title = sections.get(narrative.section_id, "a section")
            problems[f"narrative_{narrative.section_id}"] = (
                f"The “{title}” response names {', '.join(found)}. {advice}"
            )
    places = []
    texts = pdf_texts if pdf_texts is not None else _pdf_texts(application)
    for number, attachment in enumerate(application.attachments, start=1):
        for page, text in enumerate(texts.get(attachment.id, []), start=1):
            for label in finder.found(text):
                places.append(
                    f"{label} on page {page} of attachment {number} ({attachment.filename})"
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
