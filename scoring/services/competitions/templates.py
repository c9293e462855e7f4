"""Rubric templates: the illustrative rubrics a new competition may start from, one per program.

Every point value is [I] (illustrative, made up, not a Connecticut fact; see docs/domain.md §c):
CSDE's rubric pages could not be read, so the UI labels a rubric built from these
"illustrative". The demo seed (:mod:`scoring.demo_data`) builds its competitions from them too.
"""

from __future__ import annotations

#: Suggested rating scale for every criterion [I] (docs/domain.md §c): points = rating ÷ 3 × max.
RATING_LEVELS = [(0, "Insufficient"), (1, "Developing"), (2, "Proficient"), (3, "Exemplary")]

# (section key, section title, criterion title, max points) — all points [I].
RUBRICS: dict[str, list[tuple[str, str, str, int]]] = {
    "1003(a)": [
        (
            "needs",
            "Needs analysis",
            "Data analysis and root causes, informed by the school audit",
            15,
        ),
        ("goals", "Goals", "Measurable annual goals and interim targets", 10),
        ("talent", "Talent", "Recruit, develop, evaluate, retain", 15),
        ("academics", "Academics", "Curriculum, instruction, assessment", 15),
        ("culture", "Culture & Climate", "Climate, family and community engagement", 15),
        ("operations", "Operations", "Use of time and money; monitoring", 10),
        ("budget", "Budget", "ED 114 + narrative aligned to strategies; reasonable costs", 10),
        (
            "sustainability",
            "Sustainability",
            "Continuing the work after the grant; district support",
            10,
        ),
    ],
    "SIG": [
        ("needs", "Needs & model", "Needs analysis; why this intervention model fits", 15),
        ("capacity", "Capacity", "LEA capacity and commitment; policy changes", 15),
        (
            "implementation",
            "Implementation",
            "Model plan across Talent/Academics/Culture/Operations; timeline",
            30,
        ),
        (
            "partners",
            "Partners",
            "Choosing external providers (restart or whole-school reform models)",
            5,
        ),
        ("family", "Family & community", "Ongoing engagement", 5),
        ("goals", "Goals & monitoring", "Annual ELA/math goals; LEA oversight", 10),
        (
            "resources",
            "Resources & sustainability",
            "Aligning other funds; plan after the grant",
            10,
        ),
        ("budget", "Budget", "Multi-year budget, within the per-school cap, reasonable", 10),
    ],
    "High School Redesign": [
        ("need", "Need", "High-school outcome data (graduation, readiness)", 15),
        ("model", "Redesign model", "Smaller learning academies or pathways; structure", 25),
        ("academic", "Academic program", "Rigor; college and career readiness", 20),
        ("talent", "Talent", "Staffing and professional development for academies", 10),
        ("supports", "Student supports", "Advisory, climate, interventions", 10),
        ("technology", "Technology & facilities", "Justified one-time investments", 10),
        ("budget", "Budget & sustainability", "Costs and the plan after the grant", 10),
    ],
    "TIME Collaborative": [
        (
            "planning",
            "Planning process",
            "Inclusive design: administrators, teachers, union, parents, partners",
            15,
        ),
        ("priorities", "Priorities", "Focused school-wide priorities; time-use analysis", 15),
        ("curriculum", "Curriculum", "Rigorous, well-rounded curriculum; enrichment and arts", 15),
        ("support", "Individual support", "Targeted support and acceleration", 10),
        ("teacher_time", "Teacher time", "Collaboration and data-use time", 15),
        ("culture", "Culture", "School-wide high expectations", 10),
        (
            "schedule",
            "Schedule",
            "Adds ≥300 hours a year; a coherent daily and yearly schedule",
            10,
        ),
        ("sustainability", "Sustainability", "Financing the added time beyond the grant", 10),
    ],
}
