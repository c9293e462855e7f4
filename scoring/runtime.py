"""What services need from the running app, so that no service imports Flask.

The services run inside an application context (a request, a CLI command or a worker task);
these three functions are the only things they read from it: the configuration, the text
templates of the mail bodies, and the id of the current request for the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, g, has_request_context, render_template


def app_config() -> Mapping[str, Any]:
    """The configuration of the running app (``UPLOAD_DIR``, ``MAIL_SERVER``, token lifetimes …)."""
    return current_app.config


def render_text(template: str, **context: Any) -> str:
    """Render a template of ``templates/`` (e.g. ``emails/receipt.txt``) with ``context``."""
    return render_template(template, **context)


def request_id() -> str | None:
    """The id of the request being served (logs and audit events), or None outside a request."""
    return getattr(g, "request_id", None) if has_request_context() else None
