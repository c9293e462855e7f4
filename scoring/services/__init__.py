"""Services: plain functions that own the rules. They flush, never commit; the caller commits."""
