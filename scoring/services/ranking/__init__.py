"""Ranking runs: queue one, compute it from the database (idempotent), store every result.

``create_run`` queues a run; ``workers.tasks.rank_competition(run_id)`` calls ``execute_run``,
which reads the committed data with a few narrow, set-based queries, ranks it with the pure
core (``scoring.core.ranking.rank_columns``) and writes every application's result in the
caller's transaction. Services flush, never commit: the task (or CLI) commits once.

Modules:

* ``runs``: ``policy_for``, ``create_run``, ``execute_run`` (idempotent), ``mark_failed``;
  ``keep_documents``/``take_document`` hand a run's document to a caller in the same process;
* ``lifecycle``: join or queue (``start_or_join``), the lease (``start_run``, ``heartbeat``),
  requeueing runs whose lease lapsed (``requeue_lapsed``);
* ``inputs``: what a run reads (submitted applications, counted reviews, confirmed
  priorities), ``read_inputs``;
* ``results``: writing a run's rows, and reading them back (``result_document_for_run``,
  ``latest_done_run``, ``explanation_text``/``explanation_for``);
* ``board``: a run's results with the decisions that count (the staff board);
* ``what_if``: rank in-process with changed knobs and compare with the official run.
"""

from scoring.services.ranking.inputs import PACKED_QUERY_BYTES, InputsError, read_inputs
from scoring.services.ranking.results import (
    explanation_for,
    explanation_text,
    latest_done_run,
    result_document_for_run,
)
from scoring.services.ranking.runs import (
    RUN_LOCK_CLASS,
    TEST_DELAY_ENV,
    create_run,
    execute_run,
    keep_documents,
    mark_failed,
    policy_for,
    take_document,
)

__all__ = [
    "PACKED_QUERY_BYTES",
    "RUN_LOCK_CLASS",
    "TEST_DELAY_ENV",
    "InputsError",
    "create_run",
    "execute_run",
    "explanation_for",
    "explanation_text",
    "keep_documents",
    "latest_done_run",
    "mark_failed",
    "policy_for",
    "read_inputs",
    "result_document_for_run",
    "take_document",
]
