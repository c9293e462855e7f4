"""People, not shared logins (issue 13 item 1): several users per district, each invited by
mail with a role (writer or submitter); submitters and staff manage them; writers edit but never
submit or withdraw; the last submitter stays; every change is audited. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scoring.extensions import db
from scoring.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    District,
    DistrictRole,
    OutboxMessage,
    Role,
    User,
)
from tests import apply_helpers as h


@pytest.fixture
def app(any_app):
    return any_app


@pytest.fixture
def world(app):
    return h.make_world(app)


@pytest.fixture
def client(app):
    return app.test_client()


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for e in events:
            db.session.expunge(e)
        return events


def _people_url(world, district_id=None) -> str:
    return f"/accounts/districts/{district_id or world.district_id}/people"


def test_the_first_account_of_a_district_is_its_submitter_the_next_a_writer(app, world):
    assert _user(app, world.emails["applicant"]).district_role == DistrictRole.SUBMITTER
    assert _user(app, world.emails["colleague"]).district_role == DistrictRole.WRITER
    assert _user(app, world.emails["other"]).district_role == DistrictRole.SUBMITTER
    assert _user(app, world.emails["staff"]).district_role is None


def test_a_writer_edits_but_cannot_submit_or_withdraw(app, client, world):
    token = h.login(client, world.emails["colleague"])
    form_page = h.text(client.get(f"/apply/competitions/{world.competition_id}/apply"))
    assert "Save and submit" not in form_page and "You are a writer" in form_page
    app_id = h.create_draft(client, world, token)  # a writer saves drafts
    page = h.text(client.get(f"/apply/applications/{app_id}"))
    assert "submit_app" not in page and "Withdraw" not in page
    response = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(world, csrf_token=token, title="Edited by the writer", submit_app="1"),
        follow_redirects=True,
    )
    page = h.text(response)
    assert "saved but NOT submitted" in page
    assert "only a submitter of your district can submit" in page
    assert f"Ask {_user(app, world.emails['applicant']).name}" in page
    state = h.application_state(app, app_id)
    assert state["status"] == ApplicationStatus.DRAFT and state["title"] == "Edited by the writer"
    assert _events(app, "application.submit") == []

    # The submitter submits; the writer then cannot withdraw it.
    client.post("/logout", data={"csrf_token": token})
    token = h.login(client, world.emails["applicant"])
    response = client.post(
        f"/apply/applications/{app_id}",
        data=h.valid_form(world, csrf_token=token, submit_app="1"),
    )
    assert response.status_code == 302 and "/receipt" in response.headers["Location"]
    client.post("/logout", data={"csrf_token": token})
    token = h.login(client, world.emails["colleague"])
    assert "Withdraw" not in h.text(client.get(f"/apply/applications/{app_id}"))
    response = client.post(
        f"/apply/applications/{app_id}/withdraw",
        data={"csrf_token": token, "confirm": "y"},
        follow_redirects=True,
    )
    assert "Not withdrawn: only a submitter" in h.text(response)
    assert h.application_state(app, app_id)["status"] == ApplicationStatus.SUBMITTED


def test_a_submitter_invites_a_writer_with_a_link_from_public_url(app, client, world):
    token = h.login(client, world.emails["applicant"])
    page = h.text(client.get("/accounts/people", follow_redirects=True))
    assert "People of Bridgeport" in page and "Invite someone" in page
    response = client.post(
        _people_url(world),
        data={
            "email": "Writer.Two@Bridgeport.example.org",
            "name": "Wren Writer",
            "role": "writer",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302, h.text(response)[:800]
    invited = _user(app, "writer.two@bridgeport.example.org")
    assert invited.district_role == DistrictRole.WRITER and invited.password_hash is None
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_addr == invited.email)
        )
        body = message.body
    assert "as a writer" in body
    assert h.url_in(body).startswith(app.config["PUBLIC_URL"] + "/accounts/password/")
    [event] = _events(app, "user.invite")
    assert event.after["district_role"] == "writer"
    assert event.actor_id == _user(app, world.emails["applicant"]).id
    # The invitee chooses a password from the link and signs in as a writer.
    link = h.link_in(body)
    page = client.get(link, follow_redirects=True)  # the token moves into the session
    assert page.status_code == 200


def test_a_writer_sees_the_people_but_cannot_manage_them(app, client, world):
    token = h.login(client, world.emails["colleague"])
    page = h.text(client.get(_people_url(world)))
    assert "Invite someone" not in page and "ask one of the district's submitters" in page
    colleague = _user(app, world.emails["colleague"])
    submitter = _user(app, world.emails["applicant"])
    for url, data in (
        (_people_url(world), {"email": "x@bridgeport.example.org", "name": "X", "role": "writer"}),
        (f"{_people_url(world)}/{colleague.id}/role", {"role": "submitter"}),
        (f"{_people_url(world)}/{submitter.id}/deactivate", {"confirm": "y"}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert _user(app, world.emails["colleague"]).district_role == DistrictRole.WRITER
    assert _user(app, world.emails["applicant"]).active
    assert client.get(_people_url(world, world.other_district_id)).status_code == 404


def test_roles_change_deactivation_ends_sessions_and_the_last_submitter_stays(app, client, world):
    token = h.login(client, world.emails["applicant"])
    me = _user(app, world.emails["applicant"])
    colleague = _user(app, world.emails["colleague"])
    # The only submitter cannot make themself a writer.
    response = client.post(
        f"{_people_url(world)}/{me.id}/role",
        data={"role": "writer", "csrf_token": token},
        follow_redirects=True,
    )
    assert "last submitter" in h.text(response)
    assert _user(app, me.email).district_role == DistrictRole.SUBMITTER
    # Promote the colleague; then demoting oneself is fine.
    client.post(
        f"{_people_url(world)}/{colleague.id}/role", data={"role": "submitter", "csrf_token": token}
    )
    assert _user(app, colleague.email).district_role == DistrictRole.SUBMITTER
    [event] = _events(app, "user.district_role")
    assert (event.before, event.after["district_role"]) == (
        {"district_role": "writer"},
        "submitter",
    )
    # Deactivation needs the box ticked, ends the person's sessions and is audited.
    other = app.test_client()
    h.login(other, colleague.email)
    assert other.get("/apply/").status_code == 200
    client.post(f"{_people_url(world)}/{colleague.id}/deactivate", data={"csrf_token": token})
    assert _user(app, colleague.email).active
    client.post(
        f"{_people_url(world)}/{colleague.id}/deactivate",
        data={"csrf_token": token, "confirm": "y"},
    )
    assert not _user(app, colleague.email).active
    assert other.get("/apply/").status_code == 302  # signed out
    [event] = _events(app, "user.deactivate")
    assert event.actor_id == me.id and event.after["active"] is False


def test_staff_manage_any_district_but_never_remove_its_last_submitter(app, client, world):
    token = h.login(client, world.emails["staff"])
    assert "Hartford" in h.text(client.get("/accounts/districts"))
    hartford = _user(app, world.emails["other"])
    response = client.post(
        f"{_people_url(world, world.other_district_id)}/{hartford.id}/deactivate",
        data={"csrf_token": token, "confirm": "y"},
        follow_redirects=True,
    )
    assert "Not deactivated" in h.text(response) and "last submitter" in h.text(response)
    assert _user(app, hartford.email).active
    response = client.post(
        _people_url(world, world.other_district_id),
        data={
            "email": "second@hartford.example.org",
            "name": "Sam Second",
            "role": "submitter",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert _user(app, "second@hartford.example.org").district_role == DistrictRole.SUBMITTER
    # An address of another district is refused beside the field, nothing created.
    response = client.post(
        _people_url(world, world.other_district_id),
        data={
            "email": world.emails["colleague"],
            "name": "Stolen",
            "role": "writer",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400 and "another kind of account" in h.text(response)
    assert _user(app, world.emails["colleague"]).district_id == world.district_id


def test_applications_of_the_district_are_shared_by_its_people(app, client, world):
    token = h.login(client, world.emails["colleague"])
    app_id = h.create_draft(client, world, token)
    client.post("/logout", data={"csrf_token": token})
    h.login(client, world.emails["applicant"])
    assert client.get(f"/apply/applications/{app_id}").status_code == 200
    with app.app_context():
        assert db.session.get(Application, app_id).created_by.email == world.emails["colleague"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_makes_each_districts_first_account_its_submitter(tmp_path, backend):
    """Existing applicant users: the first of each district submitter, the others writers."""
    import sqlalchemy as sa

    from tests.conftest import PG_URL, _reset_postgres, require_postgres
    from tests.test_migrations import _flask

    if backend == "postgresql":
        require_postgres()
        _reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'roles.sqlite3'}"
    assert _flask(["db", "upgrade", "w10_calendar"], url, tmp_path).returncode == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO district (id, code, name, alliance) VALUES "
                "(1, '015', 'Bridgeport', true), (2, '064', 'Hartford', true)"
            )
        )
        for uid, email, role, district in (
            (1, "staff@x.org", "staff", None),
            (2, "b1@x.org", "applicant", 1),
            (3, "h1@x.org", "applicant", 2),
            (4, "b2@x.org", "applicant", 1),
        ):
            conn.execute(
                sa.text(
                    'INSERT INTO "user" (id, email, name, role, district_id, active, can_approve,'
                    " created_at) VALUES (:id, :e, :e, :r, :d, true, false, CURRENT_TIMESTAMP)"
                ),
                {"id": uid, "e": email, "r": role, "d": district},
            )
    upgraded = _flask(["db", "upgrade"], url, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    with engine.connect() as conn:
        roles = dict(conn.execute(sa.text('SELECT email, district_role FROM "user"')).all())
    engine.dispose()
    assert roles == {
        "staff@x.org": None,
        "b1@x.org": "submitter",
        "h1@x.org": "submitter",
        "b2@x.org": "writer",
    }


def test_a_deactivated_person_is_reactivated_not_reinvited(app, client, world):
    token = h.login(client, world.emails["applicant"])
    colleague = _user(app, world.emails["colleague"])
    client.post(
        f"{_people_url(world)}/{colleague.id}/deactivate",
        data={"csrf_token": token, "confirm": "y"},
    )
    assert not _user(app, colleague.email).active
    # Inviting the address again says what to do instead, and changes nothing.
    page = client.get(_people_url(world))
    assert f"/people/{colleague.id}/reactivate" in h.text(page)
    refused = client.post(
        _people_url(world),
        data={
            "email": colleague.email,
            "name": colleague.name,
            "role": "writer",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400 and "Reactivate" in h.text(refused)
    assert not _user(app, colleague.email).active
    # Reactivating lets them sign in again with their password and their earlier role.
    done = client.post(
        f"{_people_url(world)}/{colleague.id}/reactivate",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "can sign in again, as a writer" in h.text(done)
    back = _user(app, colleague.email)
    assert back.active and back.district_role == DistrictRole.WRITER
    [event] = _events(app, "user.reactivate")
    assert event.before == {"active": False} and event.after["district_role"] == "writer"
    other = app.test_client()
    h.login(other, colleague.email)
    assert other.get("/apply/").status_code == 200


def test_only_managers_of_the_district_reactivate(app, client, world):
    with app.app_context():
        district = db.session.get(District, world.district_id)
        gone = h.person(Role.APPLICANT, "gone@bridgeport.example.org", district)
        gone.active = False
        db.session.commit()
        gone_id = gone.id
    token = h.login(client, world.emails["colleague"])  # a writer of the district
    url = f"{_people_url(world)}/{gone_id}/reactivate"
    assert client.post(url, data={"csrf_token": token}).status_code == 403
    other = app.test_client()
    other_token = h.login(other, world.emails["other"])  # another district's submitter
    assert other.post(url, data={"csrf_token": other_token}).status_code == 404
    assert not _user(app, "gone@bridgeport.example.org").active
    assert _events(app, "user.reactivate") == []
