"""Predictors behind ``pipeline.protocols``: the baseline coder, and LLMs through any engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.domain import label_space
from pipeline.domain.parsers import answer_items, answer_text, items_to_codes
from pipeline.domain.prompts import name_to_code, other_messages, principal_messages
from pipeline.protocols import CodePrediction, Learner, Predictor, Progress, Sampling, TextGenerator
from training.baseline import BaselineCoder, BaselineConfig
from training.registry import ModelSpec
from training.tcecp import T_GREEDY, T_SAMPLE, vote_others, vote_principal


class BaselinePredictor:
    def __init__(self, coder: BaselineCoder) -> None:
        self.coder = coder

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        out = [CodePrediction(main, tuple(others)) for main, others in self.coder.predict(records)]
        if progress:
            progress(len(records), len(records))
        return out


class BaselineLearner:
    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> BaselinePredictor:
        return BaselinePredictor(BaselineCoder(self.config).fit(records, progress=progress))


def consistency_learner(workers: int | None = None) -> BaselineLearner:
    """The baseline coder as the label-consistency filter (the paper's SFT-model filter): fitted closely to
    the training set (little regularisation), it reproduces the gold codes of 205 of the 206 real training
    records, so a variant that moves it off them has moved away from its labels. The default coder, built to
    generalise, reproduces only 88 exactly and would reject most faithful variants."""
    return BaselineLearner(BaselineConfig(principal_C=100.0, other_C=100.0, predict_workers=workers))


class LLMPredictor:
    """The paper's two sub-task prompts; greedy decoding or TCECP voting (training.tcecp)."""

    def __init__(
        self,
        generator: TextGenerator,
        *,
        inference: str = "greedy",
        max_tokens: int = 1500,
        seed: int = 0,
        principal_candidates: Mapping[str, str] | None = None,
        other_candidates: Mapping[str, str] | None = None,
    ) -> None:
        self.generator, self.inference, self.max_tokens, self.seed = generator, inference, max_tokens, seed
        self.principal_candidates = dict(principal_candidates or label_space.PRINCIPAL)
        self.other_candidates = dict(other_candidates or label_space.OTHER)
        self._principal_names = name_to_code(self.principal_candidates)
        self._other_names = name_to_code(self.other_candidates)

    def _principal(self, text: str) -> str | None:
        codes = items_to_codes(answer_items(text), self._principal_names)
        return codes[0] if codes else None

    def _others(self, text: str) -> list[str]:
        return items_to_codes(answer_items(text), self._other_names)

    def _sample(self, prompts: list[Any], temperature: float, n: int = 1, seed_offset: int = 0) -> list[list[str]]:
        if not prompts:
            return []
        seed = None if temperature == 0 else self.seed + seed_offset
        return self.generator.generate(prompts, Sampling(temperature, n, self.max_tokens, seed=seed))

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        p_prompts = [principal_messages(r, self.principal_candidates) for r in records]
        o_prompts = [other_messages(r, self.other_candidates) for r in records]
        steps = 2 if self.inference == "greedy" else 5
        p_greedy = [c[0] for c in self._sample(p_prompts, T_GREEDY)]
        if progress:
            progress(1, steps)
        o_greedy = [c[0] for c in self._sample(o_prompts, T_GREEDY)]
        if progress:
            progress(2, steps)
        if self.inference == "greedy":
            return [self._greedy(p, o) for p, o in zip(p_greedy, o_greedy, strict=True)]

        p_sample = [c[0] for c in self._sample(p_prompts, T_SAMPLE, seed_offset=1)]
        if progress:
            progress(3, steps)
        first = [self._principal(t) for t in p_greedy]
        second = [self._principal(t) for t in p_sample]
        disagree = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
        third_texts = self._sample([p_prompts[i] for i in disagree], T_SAMPLE, seed_offset=2)
        third: dict[int, str] = {i: c[0] for i, c in zip(disagree, third_texts, strict=True)}
        if progress:
            progress(4, steps)
        o_samples = self._sample(o_prompts, T_SAMPLE, n=2, seed_offset=3)
        if progress:
            progress(5, steps)

        out = []
        for i in range(len(records)):
            answers = [first[i], second[i], *([self._principal(third[i])] if i in third else [])]
            principal = vote_principal(answers)
            sets = [self._others(o_greedy[i]), *(self._others(t) for t in o_samples[i])]
            others = [c for c in vote_others(sets) if c != principal]
            votes = {"principal": answers, "other": sets}
            parsed = answer_text(p_greedy[i]) is not None and first[i] is not None
            out.append(CodePrediction(principal, tuple(others), _raw(p_greedy[i], o_greedy[i]), parsed, votes))
        return out

    def _greedy(self, p_text: str, o_text: str) -> CodePrediction:
        principal = self._principal(p_text)
        others = tuple(c for c in self._others(o_text) if c != principal)
        parsed = answer_text(p_text) is not None and principal is not None
        return CodePrediction(principal, others, _raw(p_text, o_text), parsed)


def _raw(principal_text: str, other_text: str) -> str:
    return f"[principal]\n{principal_text}\n[other]\n{other_text}"


class FixedLearner:
    """For models that K-fold does not retrain (LLMs): every fold predicts with the same model."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> Predictor:
        return self.predictor


def llm_predictor(spec: ModelSpec, seed: int = 0) -> LLMPredictor:
    from training.engines import make_generator

    return LLMPredictor(make_generator(spec), inference=spec.inference, max_tokens=spec.max_tokens, seed=seed)


def learner_for(spec: ModelSpec) -> Learner:
    if spec.kind == "baseline":
        return BaselineLearner()
    return FixedLearner(llm_predictor(spec))
