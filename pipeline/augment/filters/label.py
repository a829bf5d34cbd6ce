"""Label consistency (paper: the SFT-model filter): a model must predict exactly the gold codes."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.augment.filters import Candidate, Verdict
from pipeline.protocols import Predictor


class LabelConsistencyFilter:
    name = "label"

    def __init__(self, predictor: Predictor, model_name: str = "baseline") -> None:
        self.predictor, self.model_name = predictor, model_name

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        preds = self.predictor.predict([c.as_record() for c in batch])
        out = []
        for c, p in zip(batch, preds, strict=True):
            detail = {"model": self.model_name, "principal": p.principal, "others": sorted(p.others)}
            wrong = []
            if p.principal != c.gold_principal:
                wrong.append(f"principal {p.principal or '—'} instead of {c.gold_principal}")
            missing = sorted(set(c.gold_others) - set(p.others))
            extra = sorted(set(p.others) - set(c.gold_others))
            if missing:
                wrong.append(f"missing {';'.join(missing)}")
            if extra:
                wrong.append(f"extra {';'.join(extra)}")
            reason = (
                f"{self.model_name} predicts the gold codes" if not wrong else f"{self.model_name}: " + ", ".join(wrong)
            )
            out.append(Verdict(not wrong, reason, detail))
        return out
