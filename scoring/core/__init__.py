"""The pure scoring core: no Flask, SQLAlchemy, models, I/O, clock or randomness.

``numbers`` (exact decimals, cents, rounding), ``rubric`` (the review score, docs/ranking.md §3.1),
``ranking`` (the ranking and award rules, a package split by step), ``explain`` (the text of an
explanation), ``assignment`` (the reviewer assignment plan) and ``reliability`` (inter-rater
statistics). ``tests/unit/test_purity.py`` checks every module of this folder.
"""
