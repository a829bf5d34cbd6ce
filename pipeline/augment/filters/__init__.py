"""The filter chain (issue 4): each filter judges a batch of variants and says why.

Every filter runs on every variant, so each variant carries all its verdicts, except a filter marked
``survivors_only = True`` (the policy model): it runs last, on the variants every other filter passed. A
variant passes when every filter that judged it passed it. Filters are plain objects with a ``name`` and
``judge(batch) -> verdicts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.domain.records import TEXT_SECTIONS, record_text


@dataclass(frozen=True)
class Candidate:
    """What a filter reads: one variant, its badcase's original record and gold labels."""

    variant_id: int
    badcase_id: int
    seq: int
    case_id: str
    sections: dict[str, str]
    original: dict[str, str]
    gold_principal: str
    gold_others: tuple[str, ...]
    facts: str | None = None  #: the digest of the variant's facts its generator kept (None: not kept)

    def text(self) -> str:
        return record_text(self.sections, TEXT_SECTIONS)

    def original_text(self) -> str:
        return record_text(self.original, TEXT_SECTIONS)

    def as_record(self) -> dict[str, str]:
        return {"病案标识": f"{self.case_id}#v{self.seq}", **self.sections}


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    detail: dict[str, Any] | None = None


class Filter(Protocol):
    name: str

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]: ...
