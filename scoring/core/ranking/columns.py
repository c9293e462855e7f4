"""The columnar state of one ranking run, shared by every step, and its status codes.

Each step fills its columns in canonical application order (sorted by ref): ``inputs``
(applications, reviews), ``scores`` (review scores, normalisation, aggregation), ``ordering``
(status before funding, rank, tie flags), ``funding`` (fund-down) and, on first use,
``explanations`` (rounded copies for the explanation). ``document`` reads them.
"""

from __future__ import annotations

from bisect import bisect_left

__all__ = ["FLAGS", "STATUSES", "Columns", "index_of"]

STATUSES = (
    "funded",
    "partially_funded",
    "waitlisted",
    "below_threshold",
    "incomplete",
    "ineligible",
)
FUNDED, PARTIAL, WAITLISTED, BELOW, INCOMPLETE, INELIGIBLE = range(6)
FLAGS = ("discrepancy", "tie")  # fixed order in the document
NO_REASON, FUNDS, DISTRICT_CAP = 0, 1, 2
REASONS = (None, "funds", "district_cap")  # by reason code


class Columns:
    """Everything the run computed, in canonical application order (sorted by ref)."""

    __slots__ = (
        "rubric",
        "policy",
        "refs",
        "schools",
        "districts",
        "requested",
        "request",
        "tiers",
        "eligible",
        "reasons",
        "submitted",
        "extra",
        "prio_keys",
        "prio_points",
        "pp",
        "pp_nano",
        "names",
        "rev_app",
        "rev_code",
        "starts",
        "counts",
        "raw",
        "norm",
        "sect_points",
        "sect_pct",
        "raw_sorted",
        "base",
        "sections",
        "final_nano",
        "final6",
        "sect6",
        "n_v",
        "mu_v",
        "sigma_v",
        "applied_v",
        "mu",
        "sigma",
        "status",
        "reason_code",
        "rank",
        "discrepancy",
        "tie",
        "decided",
        "labels",
        "rank_order",
        "fund_order",
        "position",
        "rem_before",
        "rem_after",
        "by_position",
        "doc_order",
        "district_code",
        "stop",
        "explain",
    )


def index_of(c: Columns, ref: str) -> int:
    """The canonical index of application ``ref``; raise ``KeyError``."""
    i = bisect_left(c.refs, ref)
    if i == len(c.refs) or c.refs[i] != ref:
        raise KeyError(ref)
    return i
