"""Rewrite generation and filtering with real models: the job handlers behind `sradit rewrite/filter` and the
Generate page."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.engine import read_session
from pipeline.augment.filter_chain import filter_round
from pipeline.augment.filters import Filter
from pipeline.augment.filters.duplicates import DuplicateFilter
from pipeline.augment.filters.facts import FactsFilter
from pipeline.augment.filters.label import LabelConsistencyFilter
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.filters.policy import PolicyFilter
from pipeline.augment.llm_rewriter import LLMRewriter
from pipeline.augment.rewriting import RewriteConfig, RuleRewriter, VariantSource, generate_round
from pipeline.errors import InputError
from pipeline.export.prompts import round_variant_ids
from pipeline.ingest.submission import PredictionsFile
from pipeline.jobs.runner import JobContext
from pipeline.mining.kfold import labelled_records, record_dict, round_dataset
from pipeline.settings import Settings
from training.models.catalog import get_model
from training.models.resolve import predictor_for
from training.predictors import consistency_learner

REWRITE_HANDLER = "app.services.rewrite:rewrite_job"
FILTER_HANDLER = "app.services.rewrite:filter_job"


def variant_source(settings: Settings, cfg: RewriteConfig) -> VariantSource:
    if cfg.generator == "rules":
        return RuleRewriter(settings.workers)
    if cfg.generator == "llm":
        if not cfg.model:
            raise InputError("--generator llm needs --model NAME (an LLM of the models file)")
        spec = get_model(settings.models, cfg.model)
        if spec.kind != "llm":
            raise InputError(f"model {cfg.model!r} is a {spec.kind} model, not an LLM")
        from training.engines import make_generator

        return LLMRewriter(
            make_generator(spec), cfg.model, temperature=cfg.temperature, max_tokens=spec.rewrite_max_tokens
        )
    raise InputError(f"--generator {cfg.generator!r} is not rules or llm")


def rewrite_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    params = dict(params)
    actor = params.pop("actor", "job")
    cfg = RewriteConfig(**params)
    report = generate_round(ctx.engine, cfg, variant_source(ctx.settings, cfg), actor, ctx.progress)
    ctx.metric(generated=report.generated, failed=report.failed)
    return {
        "round": cfg.round_no,
        "generated": report.generated,
        "failed": report.failed,
        "held": report.held,  # badcases left out: their gold codes are flagged as wrong
        "lines": report.lines(),
    }


def rewrite_params(cfg: RewriteConfig, actor: str) -> dict[str, Any]:
    return {**asdict(cfg), "actor": actor}


def _file_predictor(engine: Engine, settings: Settings, round_no: int, path: str) -> PredictionsFile:
    """Predictions made elsewhere for the round's variants: the file must predict every generated variant
    (checked before any filter runs, so a short file writes no verdict at all)."""
    predictions = PredictionsFile(Path(path), settings.max_import_bytes)
    predictions.require(round_variant_ids(engine, round_no), f"variants of round {round_no}")
    return predictions


def _one_source_each(label_model: Any, label_predictions: Any, policy_model: Any, policy_predictions: Any) -> None:
    if label_predictions and label_model:
        raise InputError("give the label filter --label-predictions or --label-model, not both")
    if policy_predictions and policy_model:
        raise InputError("give the policy filter --policy-predictions or --policy-model, not both")


def build_filters(
    engine: Engine,
    settings: Settings,
    round_no: int,
    policy_model: str | None = None,
    *,
    label_model: str | None = None,
    label_predictions: str | None = None,
    policy_predictions: str | None = None,
    inference: str | None = None,
) -> list[Filter]:
    """The chain: label consistency, policy verification (optional), facts, near duplicates, length.

    Label consistency uses, in this order: a predictions file made elsewhere (``label_predictions``, named
    by its file name in the verdicts), a named model (``label_model``: a registered SFT model or ensemble, or
    an LLM of the models file), or the baseline trained on the round's training set. Policy verification
    uses a predictions file (``policy_predictions``) or a model reasoning (``policy_model``, TCECP unless
    ``inference`` says otherwise) and judges only the variants every other filter passed; it is skipped
    without either.
    """
    _one_source_each(label_model, label_predictions, policy_model, policy_predictions)
    # The files first: a short or malformed one is refused before any model is loaded or fitted.
    label_file = _file_predictor(engine, settings, round_no, label_predictions) if label_predictions else None
    policy_file = _file_predictor(engine, settings, round_no, policy_predictions) if policy_predictions else None
    label: LabelConsistencyFilter
    if label_file is not None:
        label = LabelConsistencyFilter(label_file, label_file.name)
    else:
        predictor = predictor_for(engine, settings.models, label_model, inference) if label_model else None
        if predictor is None:  # the baseline: fitted on the round's training set
            with read_session(engine) as s:
                train = [record_dict(r) for r in labelled_records(s, round_dataset(s, round_no).name)]
            predictor = consistency_learner(settings.workers).fit(train)
        label = LabelConsistencyFilter(predictor, label_model or "baseline")
    filters: list[Filter] = [label]
    if policy_file is not None:
        filters.append(PolicyFilter(policy_file, policy_file.name, inference=None))
    elif policy_model:
        policy = predictor_for(engine, settings.models, policy_model, inference=inference or "tcecp")
        if policy is None:
            raise InputError(
                f"the policy model {policy_model!r} is the baseline: policy verification needs a model that "
                "reasons (an LLM of the models file or a registered SFT / GRPO model)"
            )
        filters.append(PolicyFilter(policy, policy_model, inference=inference or "tcecp"))
    filters += [FactsFilter(settings.workers), DuplicateFilter(), LengthFilter()]
    return filters


def filter_params(
    round_no: int,
    actor: str,
    *,
    policy_model: str | None = None,
    label_model: str | None = None,
    label_predictions: Path | str | None = None,
    policy_predictions: Path | str | None = None,
    inference: str | None = None,
) -> dict[str, Any]:
    """The filter job's params (JSON: paths as absolute strings, the same for a worker started elsewhere)."""
    _one_source_each(label_model, label_predictions, policy_model, policy_predictions)

    def path(p: Path | str | None) -> str | None:
        if not p:
            return None
        if not Path(p).is_file():
            raise InputError(f"{p}: no such predictions file")
        return str(Path(p).resolve())

    return {
        "round_no": round_no,
        "policy_model": policy_model,
        "label_model": label_model,
        "label_predictions": path(label_predictions),
        "policy_predictions": path(policy_predictions),
        "inference": inference,
        "actor": actor,
    }


def filter_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    round_no = int(params["round_no"])
    filters = build_filters(
        ctx.engine,
        ctx.settings,
        round_no,
        params.get("policy_model"),
        label_model=params.get("label_model"),
        label_predictions=params.get("label_predictions"),
        policy_predictions=params.get("policy_predictions"),
        inference=params.get("inference"),
    )
    report = filter_round(ctx.engine, round_no, filters, params.get("actor", "job"), ctx.progress)
    ctx.metric(variants=report.variants, passed=report.passed)
    return {"round": round_no, "variants": report.variants, "passed": report.passed, "lines": report.lines()}
