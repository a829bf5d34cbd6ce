"""Rewrite generation and filtering with real models: the job handlers behind `sradit rewrite/filter` and the
Generate page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db.engine import read_session
from pipeline.augment.filter_chain import candidates, filter_round, survivors
from pipeline.augment.filters import Filter
from pipeline.augment.filters.duplicates import DuplicateFilter
from pipeline.augment.filters.facts import FactsFilter
from pipeline.augment.filters.label import GoldSupportFilter, LabelConsistencyFilter
from pipeline.augment.filters.length import LengthFilter
from pipeline.augment.filters.policy import PolicyFilter
from pipeline.augment.llm_rewriter import LLMRewriter
from pipeline.augment.rewriting import RewriteConfig, RuleRewriter, VariantSource, generate_round
from pipeline.domain.vocabulary import INFERENCE_MODES, LABEL_CHECKS
from pipeline.errors import InputError
from pipeline.export.prompts import round_variant_ids
from pipeline.ingest.submission import PredictionsFile
from pipeline.jobs.params import require_one_of
from pipeline.jobs.runner import JobContext
from pipeline.mining.kfold import labelled_records, record_dict, round_dataset
from pipeline.protocols import Predictor
from pipeline.rounds.lookup import round_id
from pipeline.settings import Settings
from training.models.catalog import get_model
from training.models.resolve import gold_scorer_for, predictor_for
from training.predictors import FittedOnFirstUse, consistency_learner


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


def rewrite_job(cfg: RewriteConfig, ctx: JobContext) -> dict[str, Any]:
    report = generate_round(ctx.engine, cfg, variant_source(ctx.settings, cfg), ctx.actor, ctx.progress)
    ctx.metric(generated=report.generated, failed=report.failed)
    return {
        "round": cfg.round_no,
        "generated": report.generated,
        "failed": report.failed,
        "held": report.held,  # badcases left out: their gold codes are flagged as wrong
        "lines": report.lines(),
    }


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
    label_check: str = "predict",
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
    label: LabelConsistencyFilter | GoldSupportFilter
    if label_check == "gold":
        if label_file is not None or not label_model or label_model == "baseline":
            raise InputError(
                "label check gold scores the gold answer with a language model: give --label-model an SFT model, "
                "an ensemble or an LLM (not the baseline, not a predictions file)"
            )
        label = GoldSupportFilter(gold_scorer_for(engine, settings.models, label_model), label_model)
    elif label_file is not None:
        label = LabelConsistencyFilter(label_file, label_file.name)
    else:
        predictor = predictor_for(engine, settings.models, label_model, inference) if label_model else None
        if predictor is None:  # the baseline: fitted on the round's training set, once there is a variant to judge
            predictor = FittedOnFirstUse(lambda: _baseline_label_model(engine, settings, round_no))
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


def _baseline_label_model(engine: Engine, settings: Settings, round_no: int) -> Predictor:
    with read_session(engine) as s:
        train = [record_dict(r) for r in labelled_records(s, round_dataset(s, round_no).name)]
    return consistency_learner(settings.workers).fit(train)


@dataclass(frozen=True)
class FilterParams:
    """The filter job's (see :func:`build_filters`); made by :func:`filter_params`, which checks the files."""

    round_no: int
    policy_model: str | None = None
    label_model: str | None = None
    label_predictions: str | None = None  #: absolute, the same for a worker started elsewhere
    policy_predictions: str | None = None
    inference: str | None = None
    label_check: str = "predict"

    def __post_init__(self) -> None:
        _one_source_each(self.label_model, self.label_predictions, self.policy_model, self.policy_predictions)
        if self.inference is not None:
            require_one_of("inference", self.inference, INFERENCE_MODES)
        require_one_of("label_check", self.label_check, LABEL_CHECKS)


def filter_params(
    round_no: int,
    *,
    policy_model: str | None = None,
    label_model: str | None = None,
    label_predictions: Path | str | None = None,
    policy_predictions: Path | str | None = None,
    inference: str | None = None,
    label_check: str = "predict",
) -> FilterParams:
    """The filter job's params, predictions files checked to exist and made absolute."""
    _one_source_each(label_model, label_predictions, policy_model, policy_predictions)

    def path(p: Path | str | None) -> str | None:
        if not p:
            return None
        if not Path(p).is_file():
            raise InputError(f"{p}: no such predictions file")
        return str(Path(p).resolve())

    return FilterParams(
        round_no,
        policy_model,
        label_model,
        path(label_predictions),
        path(policy_predictions),
        inference,
        label_check,
    )


def filter_job(params: FilterParams, ctx: JobContext) -> dict[str, Any]:
    round_no = params.round_no
    filters = build_filters(
        ctx.engine,
        ctx.settings,
        round_no,
        params.policy_model,
        label_model=params.label_model,
        label_predictions=params.label_predictions,
        policy_predictions=params.policy_predictions,
        inference=params.inference,
        label_check=params.label_check,
    )
    report = filter_round(ctx.engine, round_no, filters, ctx.actor, ctx.progress)
    ctx.metric(variants=report.variants, passed=report.passed)
    empty = [x for x in survivors(ctx.engine, round_no) if not x.passed]
    lines = report.lines()
    if empty:
        lines.append(f"{len(empty)} badcase{'s' if len(empty) > 1 else ''} kept no variant for review:")
        lines += [f"  {x.case_id}: {x.why}" for x in empty[:_NAMED]]
        lines += [f"  … and {len(empty) - _NAMED} more (the Rounds page lists them all)"] if len(empty) > _NAMED else []
    for line in lines[len(report.lines()) :]:
        ctx.log(line)
    return {"round": round_no, "variants": report.variants, "passed": report.passed, "lines": lines}


#: Badcases without a surviving variant named in a filter run's output (all are on the Rounds page).
_NAMED = 10


@dataclass(frozen=True)
class LabelCheckComparison:
    """Both label checks on the same variants of a round, with the same model (nothing stored)."""

    round_no: int
    model: str
    variants: int
    predict: int  #: passed "predict and compare"
    gold: int  #: passed the gold answer's likelihood
    both: int

    def lines(self) -> list[str]:
        agree = self.both + (self.variants - self.predict - self.gold + self.both)
        return [
            f"round {self.round_no}, {self.variants} variants, label model {self.model}:",
            f"  predict (the model predicts the gold codes): {self.predict} pass",
            f"  gold (the gold answer is as likely as on the original): {self.gold} pass",
            f"  both {self.both}; the checks agree on {agree} of {self.variants}",
        ]


def compare_label_checks(engine: Engine, settings: Settings, round_no: int, label_model: str) -> LabelCheckComparison:
    """The paper's label check beside the gold-conditioned one, on every generated variant of the round."""
    predictor = predictor_for(engine, settings.models, label_model)
    if predictor is None:
        raise InputError("compare the label checks with a language model (an SFT model, an ensemble or an LLM)")
    batch = [c for group in candidates(engine, round_id(engine, round_no)).values() for c in group]
    if not batch:
        raise InputError(f"round {round_no} has no generated variant to judge")
    by_predict = [v.passed for v in LabelConsistencyFilter(predictor, label_model).judge(batch)]
    scorer = gold_scorer_for(engine, settings.models, label_model)
    by_gold = [v.passed for v in GoldSupportFilter(scorer, label_model).judge(batch)]
    both = sum(a and b for a, b in zip(by_predict, by_gold, strict=True))
    return LabelCheckComparison(round_no, label_model, len(batch), sum(by_predict), sum(by_gold), both)
