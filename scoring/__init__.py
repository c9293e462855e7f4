"""The grant-scoring service: app factory and its registration steps."""

from __future__ import annotations

import logging
import os
import sys

from flask import Flask, g, request, session

from config import Config, config_for_environment


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, headers, commands."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(config_class or config_for_environment())
    app.config.from_prefixed_env("SCORING")
    check_required_settings(app)
    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    _postgres_timeouts(app)
    register_extensions(app)
    register_proxy(app)
    from scoring.inputs import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    if serves_pages():
        register_blueprints(app)
        register_errorhandlers(app)
        register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


#: ``flask`` commands that serve no page: the app they load leaves the views out, so that
#: ``flask rank`` starts without importing the web stack (~1 s of imports; bench/README.md).
NO_PAGE_COMMANDS = frozenset({"rank", "explain", "bundle", "ops"})
#: Options of the ``flask`` command itself that take a value.
_FLASK_VALUE_OPTIONS = frozenset({"--app", "-A", "--env-file", "-e"})


def serves_pages(argv: list[str] | None = None) -> bool:
    """False only when this process is ``flask [options] COMMAND`` with a COMMAND of
    ``NO_PAGE_COMMANDS``; a web server, a worker, a test and every other command get the views."""
    argv = sys.argv if argv is None else argv
    if not argv or os.path.basename(argv[0]) not in ("flask", "__main__.py"):
        return True
    if os.path.basename(argv[0]) == "__main__.py" and "flask" not in argv[0].split(os.sep):
        return True
    args = iter(argv[1:])
    for arg in args:
        if arg in _FLASK_VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg not in NO_PAGE_COMMANDS
    return True


def check_required_settings(app: Flask) -> None:
    """Refuse to start when a setting production needs is missing (``REQUIRED_SETTINGS``)."""
    missing = [name for name in app.config.get("REQUIRED_SETTINGS", ()) if not app.config.get(name)]
    if missing:
        raise RuntimeError(
            "Set " + " and ".join(missing) + " in the environment before starting in production."
        )


def register_proxy(app: Flask) -> None:
    """Trust ``X-Forwarded-*`` only from the number of proxies configured (``PROXY_COUNT``)."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_template_helpers(app: Flask) -> None:
    """Register the Jinja filters ``money`` and ``local_dt``."""
    from scoring import formatting

    app.jinja_env.filters["money"] = formatting.money
    app.jinja_env.filters["count"] = formatting.count
    app.jinja_env.filters["local_dt"] = formatting.local_dt
    app.jinja_env.filters["words"] = formatting.words

    def phase(competition):
        """The competition's phase now (``services/competitions/phases.py``), for every page."""
        from scoring import clock
        from scoring.services.competitions.phases import phase_of

        return phase_of(competition, clock.now())

    app.jinja_env.globals["phase"] = phase
    from scoring import clock

    app.jinja_env.globals["clock_now"] = clock.now  # the server clock (settable in tests)
    from scoring.runtime import public_url

    app.jinja_env.globals["public_url"] = public_url  # links in mail: PUBLIC_URL, never the Host


def _ensure_sqlite_folder(uri: str) -> None:
    """SQLite creates its file but not the folder (``instance/`` on a fresh clone)."""
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        os.makedirs(os.path.dirname(uri[len("sqlite:///") :]) or ".", exist_ok=True)


def _postgres_timeouts(app: Flask) -> None:
    """PostgreSQL: give up connecting after ``DB_CONNECT_TIMEOUT`` seconds; in a web request a
    statement is cancelled after ``WEB_STATEMENT_TIMEOUT_MS`` (workers and commands are not)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("connect_timeout", app.config.get("DB_CONNECT_TIMEOUT", 5))
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_begin", _statement_timeout):
        event.listen(Session, "after_begin", _statement_timeout)


def _statement_timeout(session, transaction, connection) -> None:
    """In a web request on PostgreSQL: ``SET LOCAL statement_timeout`` for the transaction."""
    from flask import current_app, has_request_context

    if not has_request_context() or connection.dialect.name != "postgresql":
        return
    timeout_ms = int(current_app.config.get("WEB_STATEMENT_TIMEOUT_MS") or 0)
    if timeout_ms:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout_ms}")


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions of ``scoring.extensions`` to this app."""
    from scoring import models  # noqa: F401  (every table is known before the first query)
    from scoring.extensions import (
        celery_init_app,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    celery_init_app(app)
    from scoring import auth

    auth.init_login(login_manager)


def register_blueprints(app: Flask) -> None:
    """One blueprint per area; each role has its own URL prefix."""
    from scoring.api.views import bp as api_bp
    from scoring.apply.views import bp as apply_bp
    from scoring.auth import bp as auth_bp
    from scoring.main.views import bp as main_bp
    from scoring.public.views import bp as public_bp
    from scoring.review.views import bp as review_bp
    from scoring.staff.views import bp as staff_bp

    for bp in (auth_bp, main_bp, apply_bp, review_bp, staff_bp, public_bp, api_bp):
        app.register_blueprint(bp)
    from scoring.accounts.views import (
        bp as accounts_bp,  # invitations and passwords (issue 4)
    )

    app.register_blueprint(accounts_bp)
    import scoring.accounts.two_factor  # noqa: F401  (its routes join the security blueprint)
    from scoring.accounts.security import bp as security_bp  # sign-in security (issue 12)

    app.register_blueprint(security_bp)
    from scoring.staff.panel import bp as panel_bp  # staff's reviewer panel (issue 5)

    app.register_blueprint(panel_bp)
    from scoring.extensions import csrf

    csrf.exempt(api_bp)  # the JSON API is read-only (GET) and takes no form posts


def register_errorhandlers(app: Flask) -> None:
    """Register the error pages (``scoring.error_pages``)."""
    from scoring.error_pages import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    """Request ids for logs, and security headers on every response (docs/architecture.md S13)."""

    from werkzeug.exceptions import BadRequest, NotFound

    from scoring.inputs import (
        control_character_field,
        refuse_control_characters_in_forms,
        request_ids,
    )

    refuse_control_characters_in_forms()

    def _request_id() -> None:
        # Our own id goes to the audit trail; a client's id is kept for the logs if it is safe.
        g.request_id, g.client_request_id = request_ids(request.headers.get("X-Request-Id"))

    def _refuse_control_characters() -> None:
        field = control_character_field(request.path, request.args)
        if field == "the address":
            raise NotFound()
        if field is not None:
            raise BadRequest(
                f"Remove the invisible control characters (such as NUL) from “{field}” "
                "and try again."
            )

    # First of all before-request hooks, blueprints' included (the session check of scoring/auth.py
    # reads the database): an error page always has its reference, and bad input is refused
    # before any work.
    app.before_request_funcs.setdefault(None, [])[:0] = [_request_id, _refuse_control_characters]

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if getattr(g, "request_id", None):
            h["X-Request-Id"] = g.request_id
        if session.get("_user_id"):
            h["Cache-Control"] = "no-store"  # pages for a signed-in user stay out of caches
        return response

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def register_commands(app: Flask) -> None:
    """Register the ``flask`` command-line commands (``scoring.cli``)."""
    from scoring.cli import register

    register(app)
