"""Links in mail come from the configured PUBLIC_URL, never from the request's Host header."""

from __future__ import annotations

from scoring.runtime import public_url


def test_public_url_works_outside_a_request_and_keeps_a_path_prefix(app):
    app.config["PUBLIC_URL"] = "https://state.example.gov/grants/"
    with app.app_context():
        link = public_url("public.awards", slug="sig-2017")
    assert link == "https://state.example.gov/grants/public/awards/sig-2017"
