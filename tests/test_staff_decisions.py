"""Decisions on a ranking run: exceptions with a justification, four-eyes approval, publication
(409 before ranking or approval) and the decision mail, sent once however often it is retried.

Numbers are those of tests/fixtures/small_bundle.json (see tests/test_staff_board.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from scoring.extensions import db
from scoring.models import (
    Application,
    AuditEvent,
    AwardOverride,
    AwardSlate,
    Competition,
    MailStatus,
    OutboxMessage,
    RankingRun,
    Role,
    SlateStatus,
)
from scoring.services import ranking
from scoring.services.decisions import publication
from scoring.services.ranking import board as boards
from tests.staff_world import (
    APPROVER,
    APPROVER2,
    PREPARER,
    SMTPSink,
    build,
    login,
    person,
    post,
    text_of,
)


@pytest.fixture
def world(app):
    return build(app)


def _app_id(app, ref: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Application.id).where(Application.ref == ref))


def _override(client, world, app, ref, status, amount, justification):
    return post(
        client,
        f"/staff/runs/{world.run_id}/overrides",
        {
            "application_id": str(_app_id(app, ref)),
            "status": status,
            "amount": amount,
            "justification": justification,
        },
    )


# --------------------------------------------------------------------------- overrides


@pytest.mark.parametrize(
    "status, amount, justification, field, message",
    [
        ("funded", "200000", "", "justification", "a justification is required"),
        ("funded", "200000", "too short", "justification", "write at least 10 characters"),
        (
            "funded",
            "250000",
            "District asked for more.",
            "amount",
            "must not exceed the request of $200,000.00",
        ),
        (
            "waitlisted",
            "5",
            "Waitlisted after all, on appeal.",
            "amount",
            "a waitlisted application gets $0.00",
        ),
        (
            "funded",
            "0",
            "Funded after all, on appeal.",
            "amount",
            "an award must be more than $0.00",
        ),
        (
            "funded",
            "200000",
            "Funded on appeal by the Commissioner.",
            "amount",
            "the awards would add up to $1,100,000.00, more than the $900,000.00 available",
        ),
        (
            "funded",
            "NaN",
            "Funded on appeal by the Commissioner.",
            "amount",
            "Enter dollars and cents",
        ),
        ("revoked", "0", "Funded on appeal by the Commissioner.", "status", "Not a valid choice"),
    ],
)
def test_an_exception_needs_a_justification_and_must_add_up(
    app, world, status, amount, justification, field, message
):
    staff = login(app, PREPARER)
    response = _override(staff, world, app, "T-004", status, amount, justification)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-err"' in html and message in text_of(html)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AwardOverride)) == 0


def test_an_unranked_or_unknown_application_cannot_be_overridden(app, world):
    staff = login(app, PREPARER)
    response = _override(
        staff, world, app, "T-005", "funded", "100000", "Funded although incomplete."
    )
    assert response.status_code == 400 and "incomplete and not ranked" in text_of(response)
    for bad in ("999999", "abc", ""):
        response = post(
            staff,
            f"/staff/runs/{world.run_id}/overrides",
            {
                "application_id": bad,
                "status": "funded",
                "amount": "1",
                "justification": "Some justification here.",
            },
        )
        assert response.status_code == 404, bad


def test_an_exception_is_shown_everywhere_and_audited(app, world):
    staff = login(app, PREPARER)
    first = _override(
        staff,
        world,
        app,
        "T-002",
        "partially_funded",
        "150000",
        "Budget narrative double-counts staff; reduced by the program office.",
    )
    assert first.status_code == 302
    second = _override(
        staff,
        world,
        app,
        "T-004",
        "funded",
        "100000",
        "District cap waived by the Commissioner for this school.",
    )
    assert second.status_code == 302
    board = text_of(staff.get(f"/staff/competitions/{world.competition_id}/board"))
    assert board.count("staff exception computed:") == 2
    assert "computed: waitlisted $0.00" in board and "computed: partly funded $350,000.00" in board
    assert "Awarded $800,000.00 computed $900,000.00" in board
    assert "Exceptions 2" in board
    explanation = text_of(staff.get(f"/staff/runs/{world.run_id}/applications/T-004"))
    assert "Staff exception" in explanation and "District cap waived" in explanation
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "award.override").order_by(AuditEvent.id)
        ).all()
        assert [(e.before["status"], e.after["status"], e.after["award"]) for e in events] == [
            ("partially_funded", "partially_funded", "150000.00"),
            ("waitlisted", "funded", "100000.00"),
        ]
        assert (
            events[1].note.startswith("District cap waived") and events[1].actor.email == PREPARER
        )
    removed = post(staff, f"/staff/runs/{world.run_id}/overrides/{_app_id(app, 'T-002')}/delete")
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AwardOverride)) == 1
        assert (
            db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "award.override_remove")
            ).after["award"]
            == "350000.00"
        )


# --------------------------------------------------------------------------- four eyes


def test_four_eyes_approval(app, world):
    with app.app_context():
        person(Role.STAFF, "plain@example.org")  # staff without approval rights
        db.session.commit()
    preparer, approver, plain = (login(app, e) for e in (PREPARER, APPROVER, "plain@example.org"))
    _override(
        approver,
        world,
        app,
        "T-002",
        "partially_funded",
        "150000",
        "Reduced: the budget double-counts staff costs.",
    )
    assert post(preparer, f"/staff/runs/{world.run_id}/prepare").status_code == 302
    locked = _override(
        preparer,
        world,
        app,
        "T-004",
        "funded",
        "100000",
        "Late change after submission for approval.",
    )
    assert locked.status_code == 409 and "decisions are locked" in text_of(locked)

    refusals = [
        (preparer, "You prepared this award list, so you cannot approve it"),
        (plain, "You do not have approval rights"),
        (approver, "You made an exception (override) in this award list"),
    ]
    for client, message in refusals:
        board = text_of(client.get(f"/staff/competitions/{world.competition_id}/board"))
        assert message in board and "Approve this award list" not in board
        response = post(client, f"/staff/runs/{world.run_id}/approve")
        assert response.status_code == 403 and message in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(AwardSlate)).status == SlateStatus.PREPARED

    approver2 = login(app, APPROVER2)
    assert "Approve this award list" in text_of(
        approver2.get(f"/staff/competitions/{world.competition_id}/board")
    )
    assert post(approver2, f"/staff/runs/{world.run_id}/approve").status_code == 302
    with app.app_context():
        slate = db.session.scalar(select(AwardSlate))
        assert slate.status == SlateStatus.APPROVED
        assert slate.prepared_by.email == PREPARER and slate.approved_by.email == APPROVER2
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "slate.approve"))
        assert event.before["status"] == "prepared" and event.after["status"] == "approved"
        assert event.after["total_awarded"] == "700000.00" and event.after["overrides"] == 1
    again = post(approver2, f"/staff/runs/{world.run_id}/approve")
    assert again.status_code == 409


def test_withdraw_reopens_the_decisions(app, world):
    preparer = login(app, PREPARER)
    post(preparer, f"/staff/runs/{world.run_id}/prepare")
    assert post(preparer, f"/staff/runs/{world.run_id}/withdraw").status_code == 302
    response = _override(
        preparer,
        world,
        app,
        "T-002",
        "partially_funded",
        "150000",
        "Reduced: the budget double-counts staff costs.",
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AwardSlate)) == 0
        assert (
            db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "slate.withdraw")
            ).before["status"]
            == "prepared"
        )


def test_a_what_if_run_cannot_be_decided_on(app, world):
    from tests.staff_world import rank_now

    run_id = rank_now(app, world.competition_id, {"total_funds": "500000"})
    preparer = login(app, PREPARER)
    response = post(preparer, f"/staff/runs/{run_id}/prepare")
    assert response.status_code == 409 and "what-if run" in text_of(response)


# --------------------------------------------------------------------------- publication


def _approve(app, world, preparer) -> None:
    """Submit for approval (as ``preparer``, already signed in) and approve as APPROVER."""
    post(preparer, f"/staff/runs/{world.run_id}/prepare")
    assert post(login(app, APPROVER), f"/staff/runs/{world.run_id}/approve").status_code == 302


def test_publishing_before_ranking_or_approval_is_refused(app):
    world = build(app, rank=False)
    staff = login(app, PREPARER)
    with app.app_context():
        run = ranking.create_run(db.session.get(Competition, world.competition_id))
        db.session.commit()
        queued = run.id
    response = post(staff, f"/staff/runs/{queued}/publish")
    assert response.status_code == 409 and "queued, not done" in text_of(response)
    from workers.tasks import rank_competition

    rank_competition(queued)
    world.run_id = queued
    response = post(staff, f"/staff/runs/{queued}/publish")
    assert response.status_code == 409 and "no award list submitted" in text_of(response)
    post(staff, f"/staff/runs/{queued}/prepare")
    response = post(staff, f"/staff/runs/{queued}/publish")
    assert response.status_code == 409 and "has not been approved" in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(AwardSlate)).status == SlateStatus.PREPARED
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert app.test_client().get(f"/public/awards/{world.slug}").status_code == 404


def test_publish_notifies_every_applicant_once(any_app):
    app = any_app
    world = build(app)
    staff = login(app, PREPARER)
    assert (
        _override(
            staff,
            world,
            app,
            "T-002",
            "partially_funded",
            "150000",
            "Reduced: the budget double-counts staff costs.",
        ).status_code
        == 302
    )
    assert (
        _override(
            staff,
            world,
            app,
            "T-004",
            "funded",
            "200000",
            "District cap waived by the Commissioner for this school.",
        ).status_code
        == 302
    )
    _approve(app, world, staff)

    first = post(staff, f"/staff/runs/{world.run_id}/publish")
    assert first.status_code == 302
    with app.app_context():
        slate = db.session.scalar(select(AwardSlate))
        assert slate.status == SlateStatus.PUBLISHED
        assert slate.published_by_id == slate.prepared_by_id  # PREPARER published it
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(messages) == 8  # every application of the run
        assert {m.dedupe_key for m in messages} == {
            f"award:{slate.id}:{a}" for a in db.session.scalars(select(Application.id))
        }
        ids = [m.id for m in messages]
        # a retried publish (the same call again) queues nothing new and returns the same mails
        again = publication.publish_run(
            db.session.get(RankingRun, world.run_id),
            actor=slate.approved_by,
            public_url="http://x/",
        )
        db.session.commit()
        assert sorted(again.message_ids) == ids and again.unreachable == []
    assert post(staff, f"/staff/runs/{world.run_id}/publish").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 8
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "slate.publish")
            )
            == 1
        )

    from workers.tasks import send_mail

    with SMTPSink() as sink:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
        for message_id in ids + ids:  # every send task delivered twice (at-least-once)
            send_mail(message_id)
        app.config.update(MAIL_SERVER=None)
    assert len(sink.messages) == 8
    by_to = {m["To"]: m for m in sink.messages}
    t004 = by_to["principal-t-004@example.org"]
    body = t004.get_payload(decode=True).decode()
    assert t004["Subject"] == "School Improvement Grant, test cohort: decision on application T-004"
    assert "Application T-004 (Alpha Three) is funded." in body
    assert "Award: $200,000.00" in body and "District cap waived by the Commissioner" in body
    assert f"/public/awards/{world.slug}" in body
    t006 = by_to["principal-t-006@example.org"].get_payload(decode=True).decode()
    assert "was found ineligible" in t006 and "Reason: Late submission" in t006
    with app.app_context():
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
        assert set(statuses) == {MailStatus.SENT}
        assert set(db.session.scalars(select(OutboxMessage.attempts))) == {1}


def test_the_award_numbers_stay_decimal(app, world):
    staff = login(app, PREPARER)
    _override(
        staff,
        world,
        app,
        "T-002",
        "partially_funded",
        "123456.78",
        "Reduced to the exact approved budget lines.",
    )
    with app.app_context():
        view = boards.board(db.session.get(RankingRun, world.run_id))
        assert view.effective_total == Decimal("673456.78")
        assert view.remaining == Decimal("226543.22")
        assert [r.running_total for r in view.rows if r.running_total is not None][-1] == Decimal(
            "673456.78"
        )


@pytest.mark.worker
def test_publish_through_a_real_worker_sends_each_mail_once(worker_app, tmp_path):
    """PostgreSQL + Redis + a separate `celery worker` process delivering to a real SMTP server:
    publish, publish again, and re-send every message; each applicant gets exactly one mail."""
    import time

    from scoring.services import mail
    from tests.conftest import start_worker_process, stop_worker_process, worker_env
    from workers.tasks import send_mail

    app = worker_app
    world = build(app)
    staff = login(app, PREPARER)
    _approve(app, world, staff)
    with SMTPSink() as sink:
        proc, _log = start_worker_process(
            tmp_path, env=worker_env({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port)})
        )
        try:
            assert post(staff, f"/staff/runs/{world.run_id}/publish").status_code == 302
            assert post(staff, f"/staff/runs/{world.run_id}/publish").status_code == 302

            def all_sent(n):
                with app.app_context():
                    return (
                        db.session.scalar(
                            select(func.count())
                            .select_from(OutboxMessage)
                            .where(OutboxMessage.status == MailStatus.SENT)
                        )
                        == n
                    )

            deadline = time.monotonic() + 60
            while not all_sent(8) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert all_sent(8), "the worker did not deliver the decision mails"
            with app.app_context():
                ids = db.session.scalars(select(OutboxMessage.id)).all()
                sentinel = mail.queue("sentinel@example.org", "Last", "Sent after the retries.")
                db.session.commit()
                sentinel_id = sentinel.id
            for message_id in ids:  # a retried task for every message already sent
                send_mail.delay(message_id)
            send_mail.delay(sentinel_id)  # one worker, one at a time: sent after the retries
            deadline = time.monotonic() + 60
            while not all_sent(9) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert all_sent(9)
        finally:
            stop_worker_process(proc)
    recipients = sorted(m["To"] for m in sink.messages)
    assert len(recipients) == 9 and recipients.count("sentinel@example.org") == 1
    assert len(set(recipients)) == 9  # nobody got a decision twice


@pytest.mark.parametrize("path", ["re-saved by the preparer", "removed", "changed by another"])
def test_anyone_who_ever_made_an_exception_in_the_run_cannot_approve(app, world, path):
    """Four eyes on people (issue 12): the approver's exception, re-saved unchanged by the
    preparer (or removed, or changed by someone else), still bars the approver."""
    preparer, approver = login(app, PREPARER), login(app, APPROVER)
    args = ("T-002", "partially_funded", "150000", "Reduced: the budget double-counts staff.")
    assert _override(approver, world, app, *args).status_code == 302
    if path == "re-saved by the preparer":
        assert _override(preparer, world, app, *args).status_code == 302
    elif path == "removed":
        app_id = _app_id(app, "T-002")
        url = f"/staff/runs/{world.run_id}/overrides/{app_id}/delete"
        assert post(approver, url).status_code == 302
    else:
        changed = ("T-002", "partially_funded", "120000", "Reduced further after a budget call.")
        assert _override(preparer, world, app, *changed).status_code == 302
    assert post(preparer, f"/staff/runs/{world.run_id}/prepare").status_code == 302
    response = post(approver, f"/staff/runs/{world.run_id}/approve")
    assert response.status_code == 403
    assert "You made an exception (override) in this award list" in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(AwardSlate)).status == SlateStatus.PREPARED
    assert post(login(app, APPROVER2), f"/staff/runs/{world.run_id}/approve").status_code == 302


def test_who_prepared_a_withdrawn_list_of_the_run_cannot_approve_the_next(app, world):
    approver = login(app, APPROVER)
    assert post(approver, f"/staff/runs/{world.run_id}/prepare").status_code == 302
    assert post(approver, f"/staff/runs/{world.run_id}/withdraw").status_code == 302
    assert post(login(app, PREPARER), f"/staff/runs/{world.run_id}/prepare").status_code == 302
    response = post(approver, f"/staff/runs/{world.run_id}/approve")
    assert response.status_code == 403 and "You prepared this award list" in text_of(response)
