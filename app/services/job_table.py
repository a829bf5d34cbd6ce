"""The one table of the app's jobs (``Settings.job_table`` points here; see :mod:`pipeline.jobs.table`).

To declare a job: write its parameters as a frozen dataclass with typed fields and its handler ``fn(params, ctx)``
beside the work it does, add a row here (a new, stable name; ``gpu=True`` if it always needs the gpu lane), and
give tests/app/services/test_job_table.py an example of its parameters. Submit it with
``app.services.jobs.submit(engine, settings, params, actor)`` (the UI) or ``pipeline.jobs.runner.run_foreground``
(the CLI): the table finds the job by its parameters' class.

Strings, not imports: workers and pages import this table, and only the handler of the job they run or submit.
"""

from __future__ import annotations

from pipeline.jobs.table import JobTable, JobType

JOBS = JobTable(
    (
        JobType("kfold", "app.services.mining:kfold_job", "pipeline.mining.kfold:MiningConfig"),
        JobType("predict", "app.services.mining:predict_job", "app.services.mining:PredictParams"),
        JobType("rewrite", "app.services.rewrite:rewrite_job", "pipeline.augment.rewriting:RewriteConfig"),
        JobType("filter", "app.services.rewrite:filter_job", "app.services.rewrite:FilterParams"),
        JobType("retrain", "app.services.retrain:baseline_job", "app.services.retrain:BaselineRetrainParams"),
        JobType("retrain-sft", "app.services.retrain:sft_job", "app.services.retrain:SFTRetrainParams", gpu=True),
        JobType("retrain-grpo", "app.services.retrain:grpo_job", "app.services.retrain:GRPORetrainParams", gpu=True),
        JobType("round", "app.services.rounds:round_job", "app.services.rounds:RoundParams"),
        JobType("train", "app.services.training:train_job", "app.services.training:TrainParams", gpu=True),
        JobType("tiny", "app.services.training:tiny_job", "app.services.training:TinyParams", gpu=True),
        JobType("cotd", "app.services.distill:cotd_job", "app.services.distill:CotdParams", gpu=True),
        JobType(
            "framework-train",
            "app.services.framework_training:framework_train_job",
            "app.services.framework_training:FrameworkTrainParams",
            gpu=True,
        ),
    ),
    # Rows queued before jobs had names hold these handler strings; they stay here, whatever moves later.
    old_handlers={
        "app.services.mining:kfold_job": "kfold",
        "app.services.mining:predict_job": "predict",
        "app.services.rewrite:rewrite_job": "rewrite",
        "app.services.rewrite:filter_job": "filter",
        "app.services.retrain:baseline_job": "retrain",
        "app.services.retrain:sft_job": "retrain-sft",
        "app.services.retrain:grpo_job": "retrain-grpo",
        "app.services.rounds:round_job": "round",
        "app.services.training:train_job": "train",
        "app.services.training:tiny_job": "tiny",
        "app.services.distill:cotd_job": "cotd",
    },
)
