"""The staff's reviewer panel: roster, assignment, progress, reconciliation, statistics."""

from scoring.panel import roster  # noqa: F401  (registers the roster routes on the blueprint)
from scoring.panel.views import bp

__all__ = ["bp"]
