"""Predictors behind ``pipeline.protocols``: the baseline coder, and LLMs through any engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pipeline.domain import label_space
from pipeline.domain.parsers import answer_items, answer_text, items_to_codes, multi_answer_items
from pipeline.domain.prompts import multi_messages, name_to_code, other_messages, principal_messages
from pipeline.errors import InputError
from pipeline.privacy.gate import records_in_flight, screen
from pipeline.protocols import CodePrediction, Learner, Messages, Predictor, Progress, Sampling, TextGenerator
from training.baseline.config import BaselineConfig
from training.models.catalog import ModelSpec
from training.tcecp import T_GREEDY, T_SAMPLE, vote_others, vote_principal

if TYPE_CHECKING:  # scikit-learn's import (about 2 s) is paid by what fits or loads a coder, not by every page
    from training.baseline.coder import BaselineCoder


class BaselinePredictor:
    def __init__(self, coder: BaselineCoder) -> None:
        self.coder = coder

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        """Codes, with the probabilities behind them as ``votes`` (the label-error confidence reads them)."""
        P, others_p = self.coder.predict_proba(records)
        decided = self.coder.decide(P, others_p)
        out = [
            CodePrediction(
                main,
                tuple(others),
                votes={
                    "principal_p": {
                        c: round(float(p), 4) for c, p in zip(self.coder.principal_codes, P[i], strict=True)
                    },
                    "other_p": {
                        c: round(float(p), 4) for c, p in zip(self.coder.other_codes, others_p[i], strict=True)
                    },
                },
            )
            for i, (main, others) in enumerate(decided)
        ]
        if progress:
            progress(len(records), len(records))
        return out


class BaselineLearner:
    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> BaselinePredictor:
        from training.baseline.coder import BaselineCoder

        return BaselinePredictor(BaselineCoder(self.config).fit(records, progress=progress))


def consistency_learner(workers: int | None = None) -> BaselineLearner:
    """The baseline coder as the label-consistency filter (the paper's SFT-model filter): fitted closely to
    the training set (little regularisation), it reproduces the gold codes of 205 of the 206 real training
    records, so a variant that moves it off them has moved away from its labels. The default coder, built to
    generalise, reproduces only 88 exactly and would reject most faithful variants."""
    return BaselineLearner(BaselineConfig(principal_C=100.0, other_C=100.0, predict_workers=workers))


class FittedOnFirstUse:
    """A predictor fitted when it is first asked to predict. The filter job builds its label model before it knows
    whether any variant is left to judge; a run with none (a round without generated variants) then fits nothing
    (a baseline fit is some 20 s of CPU and 520 MB at 2,000 records)."""

    def __init__(self, fit: Callable[[], Predictor]) -> None:
        self._fit = fit
        self._predictor: Predictor | None = None

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        if self._predictor is None:
            self._predictor = self._fit()
        return self._predictor.predict(records, progress)


class LLMPredictor:
    """The paper's two sub-task prompts; greedy decoding or TCECP voting (training.tcecp).

    One model answers both prompts, or a sub-task pair: ``generator`` the principal prompt and
    ``other_generator`` the other prompt.
    """

    def __init__(
        self,
        generator: TextGenerator,
        *,
        other_generator: TextGenerator | None = None,
        inference: str = "greedy",
        max_tokens: int = 1500,
        seed: int = 0,
        principal_candidates: Mapping[str, str] | None = None,
        other_candidates: Mapping[str, str] | None = None,
    ) -> None:
        self.generator, self.inference, self.max_tokens, self.seed = generator, inference, max_tokens, seed
        self.other_generator = other_generator or generator
        self.principal_candidates = dict(principal_candidates or label_space.PRINCIPAL)
        self.other_candidates = dict(other_candidates or label_space.OTHER)
        self._principal_names = name_to_code(self.principal_candidates)
        self._other_names = name_to_code(self.other_candidates)

    def _principal(self, text: str) -> str | None:
        codes = items_to_codes(answer_items(text), self._principal_names)
        return codes[0] if codes else None

    def _others(self, text: str) -> list[str]:
        return items_to_codes(answer_items(text), self._other_names)

    def _sample(
        self, prompts: list[Any], temperature: float, n: int = 1, seed_offset: int = 0, other: bool = False
    ) -> list[list[str]]:
        if not prompts:
            return []
        seed = None if temperature == 0 else self.seed + seed_offset
        generator = self.other_generator if other else self.generator
        return generator.generate(prompts, Sampling(temperature, n, self.max_tokens, seed=seed))

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        p_prompts = [principal_messages(r, self.principal_candidates) for r in records]
        o_prompts = [other_messages(r, self.other_candidates) for r in records]
        # An external model's gate names the record of an identifier it refuses, and refuses before any call.
        with records_in_flight(records):
            screen(self.generator, p_prompts)
            screen(self.other_generator, o_prompts)
            return self._predict(p_prompts, o_prompts, len(records), progress)

    def _predict(
        self, p_prompts: list[Messages], o_prompts: list[Messages], n_records: int, progress: Progress | None
    ) -> list[CodePrediction]:
        steps = 2 if self.inference == "greedy" else 5
        p_greedy = [c[0] for c in self._sample(p_prompts, T_GREEDY)]
        if progress:
            progress(1, steps)
        o_greedy = [c[0] for c in self._sample(o_prompts, T_GREEDY, other=True)]
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
        o_samples = self._sample(o_prompts, T_SAMPLE, n=2, seed_offset=3, other=True)
        if progress:
            progress(5, steps)

        out = []
        for i in range(n_records):
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


class MultiPredictor:
    """A multi-task model: one prompt, both answers in one output (主要诊断 line, then 其他诊断 line).

    TCECP applies per part: the principal of the T=0 answer and a T=0.7 sample, a third sample on
    disagreement; other codes named by at least two of the three answers.
    """

    def __init__(self, generator: TextGenerator, *, inference: str = "greedy", max_tokens: int = 1500, seed: int = 0):
        self.generator, self.inference, self.max_tokens, self.seed = generator, inference, max_tokens, seed
        self._principal_names = name_to_code(label_space.PRINCIPAL)
        self._other_names = name_to_code(label_space.OTHER)

    def _read(self, text: str) -> tuple[str | None, list[str]]:
        p_items, o_items = multi_answer_items(text)
        principal = items_to_codes(p_items, self._principal_names)
        return (principal[0] if len(principal) == 1 else None), items_to_codes(o_items, self._other_names)

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        with records_in_flight(records):
            return self._predict(records, progress)

    def _predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None) -> list[CodePrediction]:
        prompts = [multi_messages(r) for r in records]
        n = 1 if self.inference == "greedy" else 3
        # One request: the greedy answer, then (TCECP) samples from the same prompt.
        greedy = self.generator.generate(prompts, Sampling(0.0, 1, self.max_tokens))
        samples = (
            self.generator.generate(prompts, Sampling(T_SAMPLE, n - 1, self.max_tokens, seed=self.seed))
            if n > 1
            else [[] for _ in prompts]
        )
        out = []
        for g, extra in zip(greedy, samples, strict=True):
            first = self._read(g[0])
            if n == 1:
                parsed = answer_text(g[0]) is not None and first[0] is not None
                others = tuple(c for c in first[1] if c != first[0])
                out.append(CodePrediction(first[0], others, g[0], parsed))
                continue
            reads = [first, *(self._read(t) for t in extra)]
            answers = [r[0] for r in reads[:2]] + ([reads[2][0]] if reads[0][0] != reads[1][0] else [])
            principal = vote_principal(answers)
            others = tuple(c for c in vote_others([r[1] for r in reads]) if c != principal)
            votes = {"principal": answers, "other": [r[1] for r in reads]}
            out.append(CodePrediction(principal, others, g[0], answer_text(g[0]) is not None, votes))
        if progress:
            progress(len(records), len(records))
        return out


def coder_predictor(spec: ModelSpec, folders: Mapping[str, str]) -> Predictor:
    """A trained coder from its folders: a sub-task pair ({"principal", "other"}) or a multi-task model."""
    from training.engines import make_generator

    def generator(folder: str) -> TextGenerator:
        return make_generator(ModelSpec(name=folder, kind="llm", engine=spec.engine, path=folder, options=spec.options))

    return _coder(spec, folders, generator)


def endpoint_coder(spec: ModelSpec, url: str, served: Mapping[str, str], api_key_env: str | None = None) -> Predictor:
    """A trained coder behind an OpenAI-compatible server (one `vllm serve` with a LoRA adapter per fold and
    sub-task, say): ``served`` maps {"principal", "other"} or {"multi"} to the names the server knows them by."""
    from training.engines.openai_engine import OpenAIGenerator

    return _coder(spec, served, lambda name: OpenAIGenerator(url, name, api_key_env=api_key_env))


def _coder(spec: ModelSpec, where: Mapping[str, str], generator: Callable[[str], TextGenerator]) -> Predictor:
    if "multi" in where:
        return MultiPredictor(generator(where["multi"]), inference=spec.inference, max_tokens=spec.max_tokens)
    missing = {"principal", "other"} - set(where)
    if missing:
        raise InputError(f"model {spec.name!r}: a sub-task pair needs a {' and an '.join(sorted(missing))} model")
    return LLMPredictor(
        generator(where["principal"]),
        other_generator=generator(where["other"]),
        inference=spec.inference,
        max_tokens=spec.max_tokens,
    )


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
