"""A browser-like HTTP client for the web benchmarks (``load.py``, ``bench_board.py``): cookie
session without redirects on a kept-alive connection, sign-in with the two-factor step, the
first POST form of a page, the links of a page, and waiting for the server under test to start.
Standard library only (plus ``pyotp`` for the code step)."""

from __future__ import annotations

import html.parser
import http.client
import http.cookies
import re
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime


class FormReader(html.parser.HTMLParser):
    """The fields of the first POST form on a page with their current values."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.action: str | None = None
        self._in_form = self._done = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: C901 - one branch per kind of field
        """Collect a field of the form (checked boxes, chosen options, text areas)."""
        a = dict(attrs)
        if self._done:
            return
        if tag == "form" and (a.get("method") or "").lower() == "post" and not self._in_form:
            if "csrf" in (a.get("action") or "") or a.get("action", "").endswith("/logout"):
                return
            self._in_form, self.action = True, a.get("action")
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value") or ("y" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a and not self._select_chosen:
                self.fields.append((self._select, value))
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag):
        """Close a select or a text area, or the form."""
        if not self._in_form:
            return
        if tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self.fields.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._in_form, self._done = False, True

    def handle_data(self, data):
        """Text inside a text area."""
        if self._textarea:
            self._text.append(data)


class Client:
    """A browser-like session on loopback: cookies, no redirects followed, and one kept-alive
    connection (``http.client``; it reconnects by itself when the server closes it, as
    gunicorn's sync workers do after every response). Cheaper per request than ``urllib``'s
    opener, which opens a connection and runs its handler chain every time: the driver shares
    the two cores with the server it measures (bench/README.md, "50 users")."""

    def __init__(self, base: str) -> None:
        self.base = base
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, path: str, data: list[tuple[str, str]] | None = None) -> tuple[int, str]:
        """GET (``data`` None) or POST the form ``data``: (status, body)."""
        headers = {"Accept-Encoding": "identity"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more
            try:
                self.connection.request("POST" if body is not None else "GET", path, body, headers)
                response = self.connection.getresponse()
                page = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or ():
            self._keep(header)
        return response.status, page.decode("utf-8", "replace")

    def _keep(self, header: str) -> None:
        jar = http.cookies.SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)  # the server deleted it
            else:
                self.cookies[name] = morsel.coded_value

    def close(self) -> None:
        """Close the kept-alive connection."""
        self.connection.close()

    def login(self, email: str, password: str, totp_secret: str | None = None) -> None:
        """Sign in through the login form (CSRF token included), then the two-factor code step
        for staff (the demo seeds their keys: ``totp_secret`` in seed-demo's output)."""
        _, page = self.request("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "/login", [("email", email), ("password", password), ("csrf_token", token)]
        )
        if status != 302:
            raise SystemExit(f"login of {email} failed with {status}")
        status, page = self.request("/login/code")
        if status != 200 or not totp_secret:
            return  # no code step for this account
        import pyotp

        totp = pyotp.TOTP(totp_secret)
        step = max(totp.timecode(datetime.now(UTC)), _LAST_STEP.get(totp_secret, -1) + 1)
        while step > totp.timecode(datetime.now(UTC)) + 1:  # a code works once: wait for it
            time.sleep(1)
        _LAST_STEP[totp_secret] = step
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        code = totp.generate_otp(step)
        status, _ = self.request("/login/code", [("code", code), ("csrf_token", token)])
        if status != 302:
            raise SystemExit(f"two-factor step of {email} failed with {status}")


#: The last time step whose code each demo key used (sequential sign-ins of one account).
_LAST_STEP: dict[str, int] = {}


def form_of(page: str) -> FormReader:
    """The first POST form of a page."""
    reader = FormReader()
    reader.feed(page)
    return reader


def links(page: str, pattern: str) -> list[str]:
    """The distinct matches of ``pattern`` in ``page``."""
    return sorted(set(re.findall(pattern, page)))


def wait_until_up(url: str, tries: int = 120) -> None:
    """Wait (up to a minute) until ``url`` answers: the server under test has started."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
