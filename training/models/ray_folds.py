"""K-fold of a learner on a Ray cluster: every fold × sub-task trains at once, each a Ray task with its own GPUs.

A K-fold job sent to the cluster (SRADIT_JOB_BACKEND=ray) asks for nothing itself; it fans its folds out as Ray
tasks, each asking for the learner's ``resources`` (models file; default one GPU), so 5 folds × 2 sub-tasks train
as 10 parallel trainings on 10 GPUs. Then each held-out fold is predicted by a task of its own with that fold's
models. The tasks write into the shared data folder and return what the registry needs; the job registers them
as a K-fold in one process would. Ray is imported only here and only on the cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.mining.kfold import FoldRunner, FoldSplit
from pipeline.protocols import CodePrediction, Progress
from training.models.catalog import ModelSpec
from training.models.learners import FoldModel, SFTLearner, Traces
from training.predictors import coder_predictor


def _train_one(
    spec: ModelSpec,
    base_path: str,
    round_no: int,
    models_dir: str,
    work_dir: str,
    traces: Traces | None,
    fold: int,
    subtask: str,
    records: list[dict[str, str]],
) -> FoldModel:
    """One fold × sub-task's SFT, in a Ray worker (its output goes to the job's log)."""
    from pipeline.domain.model_names import fold_model_name

    folders = {"models_dir": Path(models_dir), "work_dir": Path(work_dir)}
    learner = SFTLearner(spec, base_path=base_path, round_no=round_no, traces=traces, **folders)
    name = fold_model_name(spec.name, round_no, fold, subtask)
    print(f"fold {fold}: SFT of {subtask} on {len(records)} records", flush=True)
    return learner.train_model(name, subtask, records, fold=fold)


def _predict_fold(spec: ModelSpec, folders: Mapping[str, str], held: list[dict[str, str]]) -> list[CodePrediction]:
    """One held-out fold predicted by the models trained without it, in a Ray worker."""
    return list(coder_predictor(spec, folders).predict(held))


def ray_fold_runner(learner: SFTLearner, log: Callable[[str], None] = print) -> FoldRunner:
    """A :data:`pipeline.mining.kfold.FoldRunner` that trains every fold × sub-task of ``learner`` at once as Ray
    tasks, then predicts every held-out fold at once; the models it trained join ``learner.trained``."""
    from pipeline.jobs.resources import LANE_DEFAULTS

    res = learner.spec.resources or LANE_DEFAULTS["gpu"]
    asks: dict[str, Any] = {"num_gpus": res.gpus, "num_cpus": res.cpus}
    if res.memory_gb:
        asks["memory"] = int(res.memory_gb * 2**30)

    def run(splits: list[FoldSplit], progress: Progress | None) -> dict[str, CodePrediction]:
        import ray

        ray.init(ignore_reinit_error=True)  # the cluster this job runs on (Ray sets RAY_ADDRESS for it)
        train = ray.remote(_train_one).options(**asks, max_retries=0)
        predict = ray.remote(_predict_fold).options(**asks, max_retries=0)
        subtasks = learner.spec.trained_subtasks
        shared = (learner.spec, learner.base_path, learner.round_no, str(learner.models_dir), str(learner.work_dir))
        traces = learner.traces if learner.spec.cotd else None
        pending = {
            train.remote(*shared, traces, split.fold, subtask, split.train): (split.fold, subtask)
            for split in splits
            for subtask in subtasks
        }
        total = len(pending) + len(splits)
        log(f"K-fold on the Ray cluster: {len(pending)} trainings at once, each asking {res.as_dict()}")
        trained: dict[tuple[int, str], FoldModel] = {}
        for model in _as_done(ray, list(pending)):
            trained[(model.fold or 0, model.subtask)] = model
            how = "kept (trained before on the same rows and settings)" if model.resumed else "trained"
            log(f"{how} {model.name} ({len(trained)} of {len(pending)})")
            if progress:
                progress(len(trained), total)
        learner.trained.extend(trained[(s.fold, t)] for s in splits for t in subtasks)
        asked = [predict.remote(learner.spec, {t: trained[(s.fold, t)].path for t in subtasks}, s.held) for s in splits]
        predicted: dict[str, CodePrediction] = {}
        for n, (split, preds) in enumerate(zip(splits, ray.get(asked), strict=True), start=1):
            predicted.update(_by_id(split.held, preds))
            if progress:
                progress(len(pending) + n, total)
        return predicted

    return run


def _as_done(ray: Any, refs: list[Any]) -> Iterator[Any]:
    """The tasks' results in the order they finish (a failed task raises its error here, stopping the rest)."""
    waiting = refs
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1)
        yield ray.get(done[0])


def _by_id(held: Sequence[Mapping[str, str]], preds: Sequence[CodePrediction]) -> dict[str, CodePrediction]:
    from pipeline.domain.records import ID_KEY

    return {row[ID_KEY]: pred for row, pred in zip(held, preds, strict=True)}
