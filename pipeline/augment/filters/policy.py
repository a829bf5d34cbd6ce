"""Policy verification (paper §2.4: the policy model after reasoning): an LLM predictor, with TCECP votes by
default. It is the chain's costliest call, so it judges only the variants every other filter passed."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.augment.filters import Candidate, Verdict
from pipeline.domain.metric import set_f1
from pipeline.protocols import Predictor


class PolicyFilter:
    name = "policy"
    survivors_only = True

    def __init__(
        self, predictor: Predictor, model_name: str, min_other_f1: float = 1.0, inference: str | None = "tcecp"
    ) -> None:
        self.predictor, self.model_name, self.min_other_f1 = predictor, model_name, min_other_f1
        #: how the answers were made, for the reason line (None: a predictions file made elsewhere)
        self.how = f" ({inference.upper() if inference == 'tcecp' else inference})" if inference else ""

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
                f"{self.model_name}{self.how} keeps the labels"
                if ok
                else f"{self.model_name}{self.how}: principal {p.principal or '—'} (gold {c.gold_principal}), "
                f"other F1 {f1:.2f}"
            )
            out.append(Verdict(ok, reason, detail))
        return out
