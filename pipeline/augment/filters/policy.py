"""Policy verification (paper: the policy model after reasoning): an LLM predictor with TCECP votes."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.augment.filters import Candidate, Verdict
from pipeline.domain.metric import set_f1
from pipeline.protocols import Predictor


class PolicyFilter:
    name = "policy"

    def __init__(self, predictor: Predictor, model_name: str, min_other_f1: float = 1.0) -> None:
        self.predictor, self.model_name, self.min_other_f1 = predictor, model_name, min_other_f1

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        preds = self.predictor.predict([c.as_record() for c in batch])
        out = []
        for c, p in zip(batch, preds, strict=True):
            f1 = set_f1(c.gold_others, p.others)
            ok = p.principal == c.gold_principal and f1 >= self.min_other_f1
            detail = {
                "model": self.model_name,
                "principal": p.principal,
                "others": sorted(p.others),
                "other_f1": f1,
                "votes": p.votes,
            }
            reason = (
                f"{self.model_name} (TCECP) keeps the labels"
                if ok
                else f"{self.model_name} (TCECP): principal {p.principal or '—'} (gold {c.gold_principal}), "
                f"other F1 {f1:.2f}"
            )
            out.append(Verdict(ok, reason, detail))
        return out
