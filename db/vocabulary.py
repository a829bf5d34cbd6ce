"""The small vocabularies the database stores, each declared once: the models' CHECK constraints are built from
them (``one_of``) and the pipeline, training and the app import them from here, so a value is never spelled in
two lists. A value added here needs an Alembic migration that widens the column's CHECK
(tests/db/test_migrations.py compares every CHECK of a migrated database with these tuples).

Some of these share words but not meanings: a sub-task (``SUBTASKS``) is what a model answers, a label role
(``LABEL_ROLES``) is where a code sits in the task's label space.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Who a user is: experts review, engineers run the loop, admins manage accounts.
USER_ROLES = ("expert", "engineer", "admin")

#: Where a record comes from: an import, or a rewrite of a parent record merged by a round.
RECORD_ORIGINS = ("original", "variant")
#: A code's place in the task's label space.
LABEL_ROLES = ("principal", "other")

#: A job that has not ended yet: waiting in its lane, or running.
JOB_ACTIVE_STATUSES = ("queued", "running")
JOB_STATUSES = (*JOB_ACTIVE_STATUSES, "succeeded", "failed", "cancelled")
#: cpu: baseline mining, rule rewrites, filters, exports, the demo; gpu: training and LLM generation.
JOB_LANES = ("cpu", "gpu")
#: Where a queued job runs: local (a lane worker on the app's machine) or ray (a Ray job on a cluster).
JOB_BACKENDS = ("local", "ray")

#: The stages a round works through, in order (a job of a round names the stage it ran for).
ROUND_STAGES = ("identifying", "generating", "filtering", "in_review", "augmenting", "training")
#: Where a round stands: at one of its stages, done, or abandoned (set aside unfinished; the next round starts).
ROUND_STATUSES = (*ROUND_STAGES, "done", "abandoned")
#: interactive: experts decide; non-interactive: the filter chain approves (marked in data and reports).
ROUND_MODES = ("interactive", "non-interactive")

#: What a model run's predictions are: out of fold (K-fold mining) or a plain prediction of a dataset.
MODEL_RUN_KINDS = ("kfold", "predict")

#: How a badcase was got wrong (a badcase has one or more).
BADCASE_ERRORS = ("principal_miss", "missing_other", "extra_other")
#: How the pages say them.
BADCASE_ERROR_WORDS = {
    "principal_miss": "wrong principal",
    "missing_other": "missed other codes",
    "extra_other": "extra other codes",
}
#: settle: the experts tied, an engineer decides.
BADCASE_STATUSES = ("open", "in_review", "decided", "settle")

#: What writes a badcase's variants.
VARIANT_GENERATORS = ("rules", "llm")
VARIANT_STATUSES = ("generated", "failed")

REVIEW_DECISIONS = ("approve", "reject", "skip")
#: How a badcase's best variant was chosen; "filter": by the filter chain alone in a non-interactive round.
SELECTION_METHODS = ("majority", "engineer", "filter")

#: Models that exist as trained weights (or as a vote of such models) and are registered with their lineage.
REGISTERED_MODEL_KINDS = ("sft", "grpo", "ensemble")
#: The two sub-tasks of the paper, each with its own prompt (a learner's "pair" trains one model for each).
PAIR_SUBTASKS = ("principal", "other")
#: What a model answers or a reasoning trace explains: one sub-task, or both at once (multi).
SUBTASKS = (*PAIR_SUBTASKS, "multi")

#: An expert's flag that a badcase's gold codes are wrong, until an engineer accepts or dismisses it.
LABEL_ISSUE_STATUSES = ("open", "accepted", "dismissed")


def one_of(column: str, values: Sequence[str], *, nullable: bool = False) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values`` (or NULL, when ``nullable``)."""
    if any("'" in v for v in values):
        raise ValueError(f"a vocabulary value may not hold a quote: {values!r}")
    quoted = ", ".join(f"'{v}'" for v in values)
    listed = f"{column} IN ({quoted})"
    return f"{column} IS NULL OR {listed}" if nullable else listed
