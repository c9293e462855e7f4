"""Small builders for test data (factory-as-fixture style, without a factory library)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from scoring.extensions import db
from scoring.models import (
    Application,
    Competition,
    Criterion,
    District,
    Program,
    Role,
    RubricSection,
    School,
)
from scoring.models._types import utcnow
from scoring.services.accounts import users

PASSWORD = "correct horse battery"


def district(code: str = "015", name: str = "Bridgeport") -> District:
    d = District(code=code, name=name, alliance=True)
    db.session.add(d)
    db.session.flush()
    return d


def school(d: District, code: str | None = None, name: str = "Test School") -> School:
    s = School(code=code or f"{d.code}0001", name=name, district=d)
    db.session.add(s)
    db.session.flush()
    return s


def user(role: Role, email: str | None = None, d: District | None = None, **kw) -> object:
    return users.create_user(
        email or f"{role.value}@example.org",
        f"Test {role.value}",
        role,
        password=PASSWORD,
        district_id=d.id if d else None,
        **kw,
    )


def competition(slug: str = "sig-test", **kw) -> Competition:
    now = utcnow()
    c = Competition(
        slug=slug,
        program=kw.pop("program", Program.SIG),
        title=kw.pop("title", "SIG test"),
        total_funds=kw.pop("total_funds", Decimal("1000000.00")),
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=10),
        **kw,
    )
    db.session.add(c)
    s = RubricSection(competition=c, key="need", title="Need", position=0)
    db.session.add(s)
    s.criteria.append(
        Criterion(
            competition=c,
            key="need.data",
            title="Use of data",
            max_points=Decimal(4),
            step=Decimal(1),
        )
    )
    db.session.flush()
    return c


def application(c: Competition, s: School, ref: str = "APP-001", **kw) -> Application:
    a = Application(
        competition=c,
        school=s,
        ref=ref,
        requested_amount=kw.pop("requested_amount", Decimal("100000.00")),
        **kw,
    )
    db.session.add(a)
    db.session.flush()
    return a
