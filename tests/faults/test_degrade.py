"""Degrade, don't fall over: the health check, error pages without the database, and the
command line waiting through a database blip (issue 11)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.apply_helpers import login
from tests.faults.helpers import staff_user

pytestmark = pytest.mark.worker


def test_health_says_what_is_down_with_a_status_a_balancer_uses(
    fault_app, private_pg, private_redis
):
    client = fault_app.test_client()
    up = client.get("/api/health")
    assert up.status_code == 200 and up.get_json()["status"] == "ok"
    private_redis.stop()
    try:
        down = client.get("/api/health")
        assert down.status_code == 503
        assert down.get_json()["broker"].startswith("unreachable")
        assert down.get_json()["database"] == "ok"
    finally:
        private_redis.start()
    private_pg.stop()
    try:
        down = client.get("/api/health")
        assert down.status_code == 503 and down.get_json()["database"].startswith("unreachable")
    finally:
        private_pg.start()
    assert client.get("/api/health").status_code == 200


def test_a_signed_in_page_with_the_database_down_is_a_static_page_with_the_reference(
    fault_app, private_pg
):
    email = staff_user(fault_app)
    client = fault_app.test_client()
    login(client, email)
    private_pg.stop()
    try:
        response = client.get("/staff/", headers={"X-Request-Id": "ref-4242"})
    finally:
        private_pg.start()
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    # the reference is the service's own request id (a client's X-Request-Id is never trusted)
    reference = response.headers["X-Request-Id"]
    assert reference != "ref-4242"
    assert f"Reference: {reference}" in text and "Traceback" not in text
    assert client.get("/staff/").status_code == 200  # and back once the database is


def test_flask_rank_waits_through_a_database_blip(fault_app, private_pg, workers):
    workers.start(SCORING_TEST_RANK_DELAY="3")
    runner = fault_app.test_cli_runner()
    result = {}

    def rank() -> None:
        result["r"] = runner.invoke(args=["rank", "sig-test", "--timeout", "120"])

    thread = threading.Thread(target=rank)
    thread.start()
    time.sleep(1.5)  # the run is queued or computing
    private_pg.stop()
    time.sleep(3)
    private_pg.start()
    thread.join(150)
    outcome = result["r"]
    assert outcome.exit_code == 0, (outcome.output, outcome.stderr)
    assert "awarded 900,000.00" in outcome.stdout
    assert "The database is not reachable" in outcome.stderr
