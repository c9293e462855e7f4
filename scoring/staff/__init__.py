"""The staff area: every page staff use, in one place. Two blueprints, URLs unchanged.

``/staff/...`` (blueprint ``staff``, defined in ``views.py`` with the home page):
    competitions.py   competitions, rubric sections and criteria, priorities (setup)
    board.py          start a ranking run, its progress, the ranking board, an explanation
    decisions.py      overrides, the award slate: prepare, withdraw, approve, publish
    what_if.py        try policy changes without saving; save one as a what-if run
    exports.py        score tables and the competition bundle as downloads
    audit.py          the audit trail
    outbox.py         undelivered mail, "Send again"
``/staff/panel/...`` (blueprint ``panel``, defined in ``panel.py``): the reviewer panel
    panel.py          assignment with preview, progress, reminders, reopening, reconciliation, stats
    roster.py         the reviewer roster: invitations, deactivation, district conflicts
Forms: ``forms.py`` (shared fields, competition), ``rubric_forms.py``, ``board_forms.py``,
``panel_forms.py``. Templates: ``templates/staff/`` with one folder per module of several pages
(``competitions/``, ``board/``, ``panel/`` for panel and roster); one-page modules at its top.
(Staff screening of applications is on the applicant blueprint, ``/apply/staff/``.)
"""

from scoring.staff import (  # noqa: F401  # noqa: F401  (the panel blueprint, then its roster routes)
    audit,
    board,
    competitions,
    decisions,
    exports,
    outbox,
    panel,
    roster,
    views,  # noqa: F401  (defines the staff blueprint first)
    what_if,
)
