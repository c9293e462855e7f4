"""The review area."""
