"""Seed data for the demo: the 30 Alliance Districts, synthetic schools and four competitions.

Sources are in docs/domain.md. Tags: [R] real, with a source there; [U] recalled, unconfirmed;
[I] illustrative, made up for the demo, not a Connecticut fact. The competitions' rubrics are the
illustrative templates of :mod:`scoring.services.competitions.templates` (every point value [I]).
"""

from __future__ import annotations

from decimal import Decimal

# The rubric templates and their rating scale belong to the competition services; the seed reads
# them here beside the rest of the demo data.
from scoring.services.competitions.templates import RATING_LEVELS, RUBRICS

__all__ = ["ALLIANCE_DISTRICTS", "COMPETITIONS", "RATING_LEVELS", "RUBRICS", "SCHOOL_KINDS"]

#: The 30 Alliance Districts, 2012-13 to 2016-17 (docs/domain.md §f). Six names are confirmed [R];
#: the rest of the list and the three-digit town codes are recalled [U]. Editable in the app.
ALLIANCE_DISTRICTS = [
    ("002", "Ansonia"),
    ("011", "Bloomfield"),
    ("015", "Bridgeport"),
    ("017", "Bristol"),
    ("034", "Danbury"),
    ("037", "Derby"),
    ("043", "East Hartford"),
    ("044", "East Haven"),
    ("047", "East Windsor"),
    ("062", "Hamden"),
    ("064", "Hartford"),
    ("069", "Killingly"),
    ("077", "Manchester"),
    ("080", "Meriden"),
    ("083", "Middletown"),
    ("088", "Naugatuck"),
    ("089", "New Britain"),
    ("093", "New Haven"),
    ("095", "New London"),
    ("103", "Norwalk"),
    ("104", "Norwich"),
    ("116", "Putnam"),
    ("135", "Stamford"),
    ("143", "Torrington"),
    ("146", "Vernon"),
    ("151", "Waterbury"),
    ("156", "West Haven"),
    ("162", "Winchester"),
    ("163", "Windham"),
    ("164", "Windsor"),
]

#: Synthetic school names [I]: not real schools.
SCHOOL_KINDS = [
    ("Elementary School", "K-5", "Focus"),
    ("Middle School", "6-8", "Turnaround"),
    ("High School", "9-12", "Category 4"),
]

#: The five demo competitions (four programs; two 1003(a) rounds). Money and windows are [I]
#: unless the comment says otherwise.
COMPETITIONS = [
    dict(
        slug="1003a-2016-17",
        program="1003(a)",
        rubric="1003(a)",
        cohort="2016-17",
        title="1003(a) School Improvement, 2016-17",
        fiscal_year="2016-17",
        # RFP 806 was issued 18 Apr 2017 and due 9 May 2017 [R 17].
        opens_at="2017-04-18T09:00:00-04:00",
        closes_at="2017-05-09T16:00:00-04:00",
        total_funds=Decimal("1500000.00"),
        # $100,000-$200,000 per school in 2014-15 [R 13][26]; reused here as bounds [I].
        min_award=Decimal("100000.00"),
        max_award=Decimal("200000.00"),
        min_score=Decimal(70),
        tie_breakers=["section:needs", "requested_amount"],
        eligibility="Low-performing (Focus or Turnaround) schools of the Alliance Districts [I].",
        apps=14,
        state="ranked",
    ),
    dict(
        slug="sig-cohort-4",
        program="SIG",
        rubric="SIG",
        cohort="Cohort 4",
        title="School Improvement Grant 1003(g), Cohort 4",
        fiscal_year="2016-17",
        opens_at="2016-03-01T09:00:00-05:00",
        closes_at="2016-04-15T16:00:00-04:00",
        total_funds=Decimal("6000000.00"),
        # Federal per-school bounds: $50,000-$2,000,000 a year [R 28][29].
        min_award=Decimal("50000.00"),
        max_award=Decimal("2000000.00"),
        min_score=Decimal(70),
        tie_breakers=["section:implementation", "priority_points"],
        priority=("turnaround", "School is Turnaround / Tier I-II", Decimal(5)),
        eligibility="Priority (Turnaround) schools; priority for bottom-5% schools and high "
        "schools with graduation below 60% [R 18].",
        apps=10,
        state="ranked",
    ),
    dict(
        slug="hs-redesign-2016",
        program="High School Redesign",
        rubric="High School Redesign",
        cohort="2016",
        title="High School Redesign, 2016",
        fiscal_year="2016-17",
        opens_at="2016-05-02T09:00:00-04:00",
        closes_at="2016-06-03T16:00:00-04:00",
        total_funds=Decimal("1500000.00"),
        # 2014 awards were $449,400-$500,000 [R 26]; a cap of about $500k is inferred [I].
        min_award=Decimal("250000.00"),
        max_award=Decimal("500000.00"),
        min_score=Decimal(70),
        tie_breakers=["section:model"],
        eligibility="Comprehensive high schools of the Alliance Districts [U].",
        apps=8,
        state="ranked",
    ),
    dict(
        slug="time-cohort-4",
        program="TIME Collaborative",
        rubric="TIME Collaborative",
        cohort="Cohort 4",
        title="TIME Collaborative, Cohort 4",
        fiscal_year="2016-17",
        opens_at=None,
        closes_at=None,  # set open around "now" so the demo can apply [I]
        total_funds=Decimal("1200000.00"),
        min_award=Decimal("100000.00"),
        max_award=Decimal("400000.00"),
        min_score=Decimal(70),
        tie_breakers=[],
        eligibility="Alliance District schools that add at least 300 hours of learning a year "
        "[R 15][23].",
        apps=0,
        state="open",
    ),
    dict(
        slug="1003a-2017-18",
        program="1003(a)",
        rubric="1003(a)",
        cohort="2017-18",
        title="1003(a) School Improvement, 2017-18",
        fiscal_year="2017-18",
        opens_at=None,
        closes_at=None,
        # In review on the day the demo is loaded: the window closed 4 days before "now",
        # screening is done, reviews are due 18 days after the close, so 14 days after "now" [I].
        window_days=(-35, -4),
        review_due_days=18,
        total_funds=Decimal("1000000.00"),
        min_award=Decimal("100000.00"),
        max_award=Decimal("200000.00"),
        min_score=Decimal(70),
        tie_breakers=["section:needs", "requested_amount"],
        eligibility="Low-performing (Focus or Turnaround) schools of the Alliance Districts [I].",
        apps=5,
        state="in_review",
    ),
]
