"""A round whose retraining happens elsewhere (round config ``retrain: external``).

Teams that train a 7B coder with LLaMA-Factory and verl on their own cluster still want the loop's bookkeeping:
the round mines, generates, filters, has experts review and merges here, then its training stage waits for an SFT
and a GRPO model trained outside and registered for it (`sradit model register NAME --path DIR --kind sft|grpo
--round N --dataset D`). A model counts for the round only when its lineage says it was trained on what the round
merged (its ``dataset`` is the round's augmented set); one registered for the round on another dataset is named in
what the round waits for, never used. Once both slots are filled the stage is recorded like a trained one and the
round is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.engine import read_session
from db.models import RegisteredModel
from pipeline.rounds.lookup import RoundHandle, get_round
from pipeline.rounds.results import Trained

#: The models an external retraining provides, in the order they are trained.
SLOTS = ("sft", "grpo")


@dataclass(frozen=True)
class ExternalSlots:
    """What an external retraining has provided so far."""

    number: int
    dataset: str | None  #: the round's merged set: what the models must have been trained on
    found: dict[str, list[str]] = field(default_factory=dict)  #: slot → models registered for it
    elsewhere: list[str] = field(default_factory=list)  #: registered for the round on another dataset

    @property
    def complete(self) -> bool:
        return all(self.found.get(slot) for slot in SLOTS)

    def short(self) -> str:
        """For `round status`: ``waits for SFT and GRPO trained elsewhere on train@r1``."""
        missing = [slot.upper() for slot in SLOTS if not self.found.get(slot)]
        return f"waits for {' and '.join(missing)} trained elsewhere on {self.dataset}"

    def waiting(self) -> str:
        """What the round waits for, and how to provide it."""
        line = (
            f"round {self.number} {self.short()}: `sradit model register NAME --path DIR --kind "
            f"{'|'.join(s for s in SLOTS if not self.found.get(s))} --round {self.number} --dataset {self.dataset}`, "
            "then `sradit round start` again"
        )
        if self.elsewhere:
            line += f"; not counted (trained on another dataset): {', '.join(self.elsewhere)}"
        return line


def external_slots(s: Session, r: RoundHandle) -> ExternalSlots:
    dataset = r.results.augmenting.dataset if r.results.augmenting else None
    rows = s.scalars(
        select(RegisteredModel)
        .where(RegisteredModel.round_no == r.number, RegisteredModel.kind.in_(SLOTS))
        .order_by(RegisteredModel.id)
    )
    found: dict[str, list[str]] = {slot: [] for slot in SLOTS}
    elsewhere = []
    for m in rows:
        if m.dataset == dataset:
            found[m.kind].append(m.name)
        else:
            elsewhere.append(f"{m.name} ({m.kind}, dataset {m.dataset or 'not given'})")
    return ExternalSlots(r.number, dataset, found, elsewhere)


def external_trained(s: Session, r: RoundHandle) -> Trained | None:
    """The training stage's result once both slots are filled (None while the round waits)."""
    slots = external_slots(s, r)
    if not slots.complete:
        return None
    return Trained(
        models=tuple(slots.found["sft"] + slots.found["grpo"]),
        measured_with="trained elsewhere",
        sft={"models": slots.found["sft"], "trained": "elsewhere"},
        grpo={"models": slots.found["grpo"], "trained": "elsewhere"},
    )


def waiting_for(engine: Engine, number: int) -> ExternalSlots | None:
    """What round ``number`` waits for when its training happens elsewhere (None: it does not wait for that)."""
    r = get_round(engine, number)
    if r.status != "training" or r.config.retrain != "external":
        return None
    with read_session(engine) as s:
        return external_slots(s, r)
