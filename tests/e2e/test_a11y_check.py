"""The accessibility check point itself (tests/e2e/a11y.py) can fail: axe-core runs in a page of
the app despite its CSP, at both widths, and a violation fails the test with what and where."""

from __future__ import annotations

import pytest

from tests.e2e import a11y

pytestmark = pytest.mark.e2e


def test_a_violation_fails_the_check_with_what_and_where(live_server, page, monkeypatch):
    monkeypatch.delenv("A11Y_REPORT", raising=False)
    page.goto(live_server + "/login")
    a11y.check_a11y(page, "login")  # the sign-in page as it is passes
    assert page.evaluate("typeof window.axe") == "object"  # axe ran inside the page
    page.evaluate(
        """() => {
        const img = document.createElement('img');
        img.src = '/static/none.png';
        img.id = 'no-alt';
        document.querySelector('main').append(img);
    }"""
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        a11y.check_a11y(page, "login")
    message = str(failed.value)
    assert "image-alt" in message and "#no-alt" in message
    assert "at 1280 px" in message and "at 390 px" in message
    assert page.viewport_size == {"width": 1280, "height": 720}  # put back as it was
