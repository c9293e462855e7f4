"""Competition bundles (docs/bundle.md): validate, import all or nothing, export.

``import_bundle(data)`` checks the whole document first and writes nothing unless every check
passes; a refusal raises ``BundleError`` (an ``InputError``) naming the JSON path of the first
problem, e.g. ``reviews[12].scores.need.data: 5 is above max_points 4``, with every problem
found (up to ``MAX_ERRORS``) in ``.errors``. ``export_bundle(competition)`` gives the document
back. The caller commits (services flush, never commit).

Rules this module decides (docs/bundle.md leaves them open):

* **Required keys.** Every key of the format is required except those docs/bundle.md lets you omit
  (``weight``, ``step``, ``tier``, ``priorities``, ``eligible``, ``comments``, ``conflicts``),
  the nullable ones (``fiscal_year``, ``opens_at``, ``closes_at``, ``min_award``,
  ``max_award``, ``ineligible_reason``, ``submitted_at``; omitted means null), every policy knob
  (docs/ranking.md §2 defaults), ``competition.policy`` itself, ``reviewers_per_application`` (3),
  district ``alliance`` (false) and review ``comments`` ({}). Any other key is refused.
* **Types.** Scores, points, weights, ``max_points``, ``step``, ``discrepancy_threshold`` and
  ``min_score`` must be JSON numbers with at most 4 decimal places (the database keeps 4).
  Money may be a string or a number; it must be a whole number of cents, >= 0 and below 10^12.
  ``min_award``, ``max_award`` and ``partial_min`` must be at least 0.01 when given. Timestamps
  are ISO 8601 with a UTC offset. ``slug`` is lowercase letters, digits and hyphens.
* **A submitted review must score every criterion** (docs/ranking.md §1: a missing score is never
  read as 0); a draft (``submitted: false``) may be partial, and may hold a comment on a
  criterion it has not scored yet (stored with empty points, as the review form does).
* **Everything listed is used.** Every district must be some school's district or some
  reviewer's conflict, every school some application's school, every reviewer the author of
  some review; otherwise the bundle is refused, so that an export gives the input back.
* **Existing records.** Districts and schools (by ``code``) and reviewers (by ``email``,
  compared in lowercase) that already exist are reused when their data is the same; an existing
  record with different data (name, alliance, a school's district, a user who is not a
  reviewer or has another name) refuses the bundle: nothing is overwritten silently. A reused
  reviewer keeps their recorded district conflicts; the bundle's conflicts are added (a conflict
  is global to the person) and the conflict check on reviews uses both.
* **New reviewers** become users with role ``reviewer``, active, without a password: they
  cannot sign in until staff send an invitation or a password reset.
* **Stored as.** Every application is stored ``submitted`` with its priorities claimed and
  confirmed; each review gets a reviewer assignment (``assigned``); a submitted review is
  stored ``submitted`` (its ``submitted_at`` is unknown and left empty), a draft ``draft``.
  The rubric is frozen when a submitted review is imported. Emails are stored in lowercase.
* **Speed.** Rows are bulk inserted (PostgreSQL ``COPY``; SQLite the driver's ``executemany``).
  An import of at least ``BULK_FK_THRESHOLD`` scores on PostgreSQL locks the score tables
  until it commits (taken within ``BULK_LOCK_TIMEOUT``, else the slower row-by-row path), drops
  criterion_score's foreign keys and re-adds them (validated) in the same transaction, builds
  its indexes after the ``COPY`` when the table held fewer rows than the import adds, and, when
  the database user may, writes applications, reviews, assignments and vectors without
  per-row triggers, checking their keys afterwards one statement per key
  (``bulk_tables.check_new_rows``). On SQLite the vector trigger is dropped and re-created
  around the score insert. See ``importer._drop_score_foreign_keys`` and ``bulk_tables``.
* **Export** writes the submitted applications (import order) and their reviews (import order);
  districts, schools and reviewers sorted by code/email; defaults filled in; money as strings
  with two decimals; timestamps in the app's time zone (America/New_York) with their offset;
  ``weight`` only for a section that has one. A review that is not counted (docs/ranking.md §1: a
  withdrawn review, one whose assignment is in conflict, or one by a reviewer with a conflict
  on the application's district) is exported with ``submitted: false`` so it never counts
  after a re-import.

Modules: ``checks`` (the error collector and typed field checks, ``BundleError``),
``validation`` (the document top to bottom; ``validate_reviews`` and ``validate_existing`` hold
the review and database checks), ``importer`` and ``exporter``. Bulk database helpers are in
``scoring.services.db``.
"""

from scoring.services.bundles.checks import FORMAT, MAX_ERRORS, BundleError
from scoring.services.bundles.exporter import export_bundle
from scoring.services.bundles.importer import import_bundle
from scoring.services.bundles.validation import validate_bundle

__all__ = [
    "FORMAT",
    "MAX_ERRORS",
    "BundleError",
    "export_bundle",
    "import_bundle",
    "validate_bundle",
]
