"""Accounts for bench/load.py: one per simulated user, each with its own work, added to a demo.

    export DB=postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
    DATABASE_URL=$DB .venv/bin/flask --app scoring seed-demo --reset > /dev/null
    DATABASE_URL=$DB .venv/bin/python bench/load_seed.py > bench/out/load_accounts.txt

The demo has 5 reviewer, 2 applicant and 3 staff accounts: 50 simulated users on them share
accounts, so two of them save the same review or draft (409, the version check) and staff wait
for a fresh two-factor code at each sign-in. This adds, through the same models and services
as the demo, ``--reviewers`` reviewers (each assigned to an application of the round in review,
no conflict declared, a draft started), ``--applicants`` applicants (each in a district of its
own, with a draft in the open round: ``demo_round.seed_applicant_drafts``) and ``--staff``
staff members (every staff member signs in with a second factor: each gets its own key, so
no sign-in waits for another's code). Prints the accounts as one JSON line in
seed-demo's form (``{"accounts": [...]}``) for ``load.py --accounts``. For benchmarks only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "load-bench-2016"


def main() -> None:
    """Add the accounts and their work; print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=25)
    parser.add_argument("--applicants", type=int, default=15)
    parser.add_argument("--staff", type=int, default=10)
    args = parser.parse_args()

    import pyotp
    from sqlalchemy import select

    from scoring import create_app, demo_data
    from scoring.demo_round import seed_applicant_drafts
    from scoring.extensions import db
    from scoring.models import (
        Application,
        AssignmentStatus,
        Competition,
        District,
        Review,
        ReviewerAssignment,
        ReviewStatus,
        Role,
        User,
    )
    from scoring.models._types import utcnow
    from scoring.services.accounts import users

    slug = {spec["state"]: spec["slug"] for spec in demo_data.COMPETITIONS}
    app = create_app()
    accounts = []
    with app.app_context():
        in_review = db.session.scalar(
            select(Competition).where(Competition.slug == slug["in_review"])
        )
        open_round = db.session.scalar(select(Competition).where(Competition.slug == slug["open"]))
        apps = db.session.scalars(
            select(Application)
            .where(Application.competition_id == in_review.id)
            .order_by(Application.id)
        ).all()
        taken = set(
            db.session.scalars(select(User.district_id).where(User.district_id.is_not(None)))
        )
        free = [
            d
            for d in db.session.scalars(select(District).order_by(District.code))
            if d.id not in taken
        ]
        if len(free) < args.applicants:
            raise SystemExit(f"only {len(free)} districts have no account yet")

        def add(role: Role, n: int, **kw) -> User:
            email = f"load-{role.value}{n}@bench.invalid"
            accounts.append({"role": role.value, "email": email, "password": PASSWORD})
            return users.create_user(email, f"Load {role.value} {n}", role, password=PASSWORD, **kw)

        for n in range(args.reviewers):
            reviewer = add(Role.REVIEWER, n)
            application = apps[n % len(apps)]
            db.session.add(
                ReviewerAssignment(
                    application=application,
                    reviewer=reviewer,
                    status=AssignmentStatus.ASSIGNED,
                    no_conflict_declared_at=utcnow(),
                )
            )
            db.session.add(
                Review(application=application, reviewer=reviewer, status=ReviewStatus.DRAFT)
            )
        applicants = [
            add(Role.APPLICANT, n, district_id=free[n].id) for n in range(args.applicants)
        ]
        seed_applicant_drafts(open_round, applicants)
        for n in range(args.staff):
            staff = add(Role.STAFF, n)
            staff.totp_secret, staff.totp_enrolled_at = pyotp.random_base32(), utcnow()
            accounts[-1]["totp_secret"] = staff.totp_secret
        db.session.commit()
    print(json.dumps({"accounts": accounts}))


if __name__ == "__main__":
    main()
