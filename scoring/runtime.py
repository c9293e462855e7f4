"""What services need from the running app, so that no service imports Flask.

The services run inside an application context (a request, a CLI command or a worker task);
these functions are the only things they read from it: the configuration, the text templates
of the mail bodies, absolute links for mail, the id of the current request for the audit
trail, and a memo a service may keep for the rest of one request (``request_memo``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    g,
    has_app_context,
    has_request_context,
    render_template,
    request_started,
    request_tearing_down,
)


def app_config() -> Mapping[str, Any]:
    """The configuration of the running app (``UPLOAD_DIR``, ``MAIL_SERVER``, token lifetimes …)."""
    return current_app.config


def render_text(template: str, **context: Any) -> str:
    """Render a template of ``templates/`` (e.g. ``emails/receipt.txt``) with ``context``."""
    return render_template(template, **context)


def request_id() -> str | None:
    """The id of the request being served (logs and audit events), or None outside a request."""
    return getattr(g, "request_id", None) if has_request_context() else None


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute link to ``endpoint`` for a mail or a feed, built from ``PUBLIC_URL``.

    Never from the request: a forged ``Host`` header must not decide where a password-reset
    link points. Works in requests, CLI commands and worker tasks alike.
    """
    base = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


_MEMOS = "_request_memos"


def request_memo(name: str) -> dict:
    """The dict named ``name`` kept for the rest of the request being served; outside a request
    a new empty dict each time, so nothing is remembered in CLI commands and worker tasks."""
    if not has_request_context():
        return {}
    memos = g.get(_MEMOS)
    if memos is None:
        memos = {}
        setattr(g, _MEMOS, memos)
    return memos.setdefault(name, {})


def forget_request_memo(name: str | None = None) -> None:
    """Drop the memo ``name`` (every memo with None)."""
    if not has_app_context():
        return
    memos = g.get(_MEMOS)
    if memos is not None:
        if name is None:
            memos.clear()
        else:
            memos.pop(name, None)


def _forget_all(*_args: Any, **_kwargs: Any) -> None:
    forget_request_memo()


# A request may run inside an app context that outlives it (tests, CLI): start and end clean.
request_started.connect(_forget_all)
request_tearing_down.connect(_forget_all)
