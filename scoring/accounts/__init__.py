"""Accounts: invitations, choosing a password from an emailed link, forgotten passwords."""

from scoring.accounts.views import bp

__all__ = ["bp"]
