"""``flask --app scoring bundle import PATH`` and ``bundle export SLUG [-o FILE]``: competition
bundles (JSON), all or nothing; the format is in ``docs/bundle.md``."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from scoring.cli.common import UserError, competition_by_slug, database_errors
from scoring.extensions import db


class _Decimals(dict):
    """``parse_float`` for one document: each distinct number text becomes one ``Decimal``
    (7.5M scores hold a handful of distinct values; equal values then share one object)."""

    def __missing__(self, text: str) -> Decimal:
        value = self[text] = Decimal(text)
        return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _read_json(path: str) -> tuple[dict, str]:
    """The parsed bundle (floats read as exact Decimals) and the file's sha256."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(
            raw.decode("utf-8"),
            parse_float=_Decimals().__getitem__,
            parse_constant=_reject_constant,
        )
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON: {exc}") from None
    return data, hashlib.sha256(raw).hexdigest()


@click.group("bundle")
def bundle_cli() -> None:
    """Import and export competition bundles (JSON)."""


@bundle_cli.command("import")
@click.argument("path")
@with_appcontext
@database_errors
def import_command(path: str) -> None:
    """Import the bundle at PATH, all or nothing."""
    from scoring.services import bundles

    data, digest = _read_json(path)
    try:
        counts = bundles.import_bundle(data, source=f"{Path(path).name} sha256={digest}")
        db.session.commit()
    except bundles.BundleError as exc:
        db.session.rollback()
        more = len(exc.errors) - 1
        suffix = f" (and {more}{'+' if exc.truncated else ''} more problem(s))" if more else ""
        raise UserError(f"{path}: refused: {exc}{suffix}") from None
    except IntegrityError as exc:
        db.session.rollback()
        raise UserError(
            f"{path}: refused by the database: {str(exc.orig).splitlines()[0]}"
        ) from None
    click.echo(json.dumps(counts))


@bundle_cli.command("export")
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    "path",
    type=click.Path(dir_okay=False),
    help="Write the bundle to this file instead of standard output.",
)
@with_appcontext
@database_errors
def export_command(slug: str, path: str | None) -> None:
    """Export competition SLUG as a bundle."""
    from scoring.services import bundles

    document = bundles.export_bundle(competition_by_slug(slug))
    db.session.commit()  # the audit event of the export
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if path is None:
        click.echo(body, nl=False)
        return
    try:
        Path(path).write_text(body, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
