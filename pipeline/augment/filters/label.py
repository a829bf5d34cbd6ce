"""Label consistency: does a variant still carry its badcase's gold codes?

Two checks, chosen per round (``label_check``):

- ``predict`` (the paper's SFT-model filter): a model must predict exactly the gold codes. A badcase is a record
  the SFT coder gets wrong, so its variants mostly fail the same coder.
- ``gold`` (shown the gold codes): the model's likelihood of the gold answer on the variant must not fall below
  its likelihood on the original by more than ``tolerance`` (nats per token): the rewrite kept what supported
  the gold codes, right or wrong as the model is about them."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.augment.filters import Candidate, Verdict
from pipeline.domain.records import MAIN_KEY, OTHER_KEY
from pipeline.protocols import GoldScorer, Predictor


class LabelConsistencyFilter:
    name = "label"

    def __init__(self, predictor: Predictor, model_name: str = "baseline") -> None:
        self.predictor, self.model_name = predictor, model_name

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        preds = self.predictor.predict([c.as_record() for c in batch])
        out = []
        for c, p in zip(batch, preds, strict=True):
            detail = {"model": self.model_name, "check": "predict", "principal": p.principal}
            detail["others"] = sorted(p.others)
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


#: How far (mean log-probability per token of the gold answer) a variant may fall below its original.
GOLD_TOLERANCE = 0.05


class GoldSupportFilter:
    """The ``gold`` label check (see the module docstring)."""

    name = "label"

    def __init__(self, scorer: GoldScorer, model_name: str, tolerance: float = GOLD_TOLERANCE) -> None:
        self.scorer, self.model_name, self.tolerance = scorer, model_name, tolerance
        self._originals: dict[int, float] = {}  #: badcase id → its original's score (one per badcase)

    def judge(self, batch: Sequence[Candidate]) -> list[Verdict]:
        new = {c.badcase_id: c for c in batch if c.badcase_id not in self._originals}
        if new:
            scores = self.scorer.score([_gold(c, c.original) for c in new.values()])
            self._originals.update(zip(new, scores, strict=True))
        variants = self.scorer.score([_gold(c, c.sections) for c in batch])
        out = []
        for c, s in zip(batch, variants, strict=True):
            base = self._originals[c.badcase_id]
            ok = s >= base - self.tolerance
            detail = {"model": self.model_name, "check": "gold", "variant": round(s, 4), "original": round(base, 4)}
            how = "keeps" if ok else "weakens"
            reason = f"{self.model_name}: the variant {how} the gold codes' support ({s:.3f} vs {base:.3f} a token)"
            out.append(Verdict(ok, reason, detail))
        return out


def _gold(c: Candidate, sections: dict[str, str]) -> dict[str, str]:
    return {**sections, MAIN_KEY: c.gold_principal, OTHER_KEY: ";".join(c.gold_others)}
