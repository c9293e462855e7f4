"""The apply area."""
