"""Rewrite generation and filtering with real models: the job handlers behind `sradit rewrite/filter` and the
Generate page."""

from __future__ import annotations

from dataclasses import asdict
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
from pipeline.jobs.runner import JobContext
from pipeline.mining.kfold import labelled_records, record_dict, round_dataset
from pipeline.settings import Settings
from training.predictors import LLMPredictor, consistency_learner
from training.registry import get_model

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

        return LLMRewriter(make_generator(spec), cfg.model, temperature=cfg.temperature)
    raise InputError(f"--generator {cfg.generator!r} is not rules or llm")


def rewrite_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    params = dict(params)
    actor = params.pop("actor", "job")
    cfg = RewriteConfig(**params)
    report = generate_round(ctx.engine, cfg, variant_source(ctx.settings, cfg), actor, ctx.progress)
    ctx.metric(generated=report.generated, failed=report.failed)
    return {"round": cfg.round_no, "generated": report.generated, "failed": report.failed, "lines": report.lines()}


def rewrite_params(cfg: RewriteConfig, actor: str) -> dict[str, Any]:
    return {**asdict(cfg), "actor": actor}


def build_filters(engine: Engine, settings: Settings, round_no: int, policy_model: str | None = None) -> list[Filter]:
    """The chain: label consistency (the baseline trained on the current training set), policy (optional),
    facts, near duplicates, length."""
    with read_session(engine) as s:
        train = [record_dict(r) for r in labelled_records(s, round_dataset(s, round_no).name)]
    filters: list[Filter] = [LabelConsistencyFilter(consistency_learner(settings.workers).fit(train), "baseline")]
    if policy_model:
        from training.engines import make_generator

        spec = get_model(settings.models, policy_model)
        if spec.kind != "llm":
            raise InputError(f"the policy model {policy_model!r} must be an LLM")
        predictor = LLMPredictor(make_generator(spec), inference="tcecp", max_tokens=spec.max_tokens)
        filters.append(PolicyFilter(predictor, policy_model))
    filters += [FactsFilter(settings.workers), DuplicateFilter(), LengthFilter()]
    return filters


def filter_job(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    round_no, policy = int(params["round_no"]), params.get("policy_model")
    filters = build_filters(ctx.engine, ctx.settings, round_no, policy)
    report = filter_round(ctx.engine, round_no, filters, params.get("actor", "job"), ctx.progress)
    ctx.metric(variants=report.variants, passed=report.passed)
    return {"round": round_no, "variants": report.variants, "passed": report.passed, "lines": report.lines()}
