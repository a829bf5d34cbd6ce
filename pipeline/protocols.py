"""How models reach the pipeline: small protocols that ``training`` implements and services pass in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: A chat conversation: [{"role": "system" | "user" | "assistant", "content": "..."}].
Messages = list[dict[str, str]]
#: progress(done, total)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CodePrediction:
    """A model's codes for one record, with what it wrote (LLMs) and how the codes were reached."""

    principal: str | None
    others: tuple[str, ...]
    raw: str | None = None
    parsed: bool = True
    votes: dict[str, Any] | None = field(default=None, compare=False)


class Predictor(Protocol):
    """Turns records (competition-format dicts) into codes."""

    def predict(
        self, records: Sequence[Mapping[str, str]], progress: Progress | None = None
    ) -> list[CodePrediction]: ...


class GoldScorer(Protocol):
    """How well each labelled record supports its own gold codes (higher: better), in one model's terms
    (training/gold_scorer.py: the gold answer's mean log-probability per token)."""

    def score(self, records: Sequence[Mapping[str, str]]) -> list[float]: ...


class Learner(Protocol):
    """Makes a predictor from labelled records (K-fold trains one per fold)."""

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> Predictor: ...


@dataclass(frozen=True)
class Sampling:
    """How to sample completions: ``n`` per prompt at ``temperature`` (0 is greedy)."""

    temperature: float = 0.0
    n: int = 1
    max_tokens: int = 1500
    top_p: float = 1.0
    seed: int | None = None


class TextGenerator(Protocol):
    """Turns chat prompts into completions: for each prompt, ``sampling.n`` strings."""

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]: ...
