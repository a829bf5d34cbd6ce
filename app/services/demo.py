"""The demo database with every feature's state (docs/data-model.md, "Demo database"): synthetic records and
accounts (pipeline.demo.database), round 1 mined with the baseline coder, rule-generated and filtered variants in
the review queue, a few expert reviews, one label issue an expert flagged, and an export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from app.services.rewrite import filter_params
from db.engine import read_session, write_session
from db.models import Badcase, Review, User, Variant
from pipeline.augment.rewriting import RewriteConfig
from pipeline.demo.database import DemoSummary
from pipeline.demo.database import build_demo as build_base
from pipeline.export.datasets import ExportConfig, ExportResult, export
from pipeline.jobs.runner import RoundLink, run_foreground
from pipeline.mining.kfold import MiningConfig
from pipeline.review.label_issues import flag_label_issue
from pipeline.review.queue import decide
from pipeline.rounds.config import RoundConfig
from pipeline.rounds.driver import sync
from pipeline.rounds.lookup import find_round
from pipeline.rounds.lookup import round_id as find_round_id
from pipeline.settings import Settings

DEMO_VARIANTS = 20
# The baseline codes the synthetic records well (no principal misses); a stricter other-F1 threshold than
# the default 0.5 gives the demo a review queue of a dozen or more badcases.
DEMO_THRESHOLD = 0.9
DEMO_REVIEWED_BADCASES = 3
DEMO_SECOND_EXPERT_BADCASES = 5


@dataclass(frozen=True)
class Demo:
    base: DemoSummary
    mined: dict[str, Any]  #: the kfold job's result
    rewritten: dict[str, Any]  #: the rewrite job's result
    filtered: dict[str, Any]  #: the filter job's result
    reviews: int
    exported: ExportResult

    def lines(self) -> list[str]:
        return [
            *(s.line() for s in self.base.imports),
            f"round {self.mined['round']} mined with the baseline coder: score {self.mined['score']:.2f} "
            f"({self.mined['metric']}), {self.mined['badcases']} badcases",
            f"{self.rewritten['generated']} rule-based variants; {self.filtered['passed']} pass every filter",
            f"{self.reviews} expert reviews; export v{self.exported.version} at {self.exported.path}",
        ]


def build_demo(engine: Engine, settings: Settings, *, force: bool, seed: int = 0) -> Demo:
    base = build_base(engine, force=force, seed=seed)
    # Through the job runner, as a user's steps would go: the Jobs page lists what built the demo.
    mining = MiningConfig(dataset="train", folds=5, seed=seed, threshold=DEMO_THRESHOLD)
    mined = run_foreground(engine, settings, mining, "demo")
    number = mined["round"]
    # The round's config first: the stages below are recorded as the round's own (sync), with these settings.
    with write_session(engine) as s:
        find_round(s, number).config = RoundConfig(
            threshold=DEMO_THRESHOLD, n=DEMO_VARIANTS, seed=seed, policy_model="none"
        ).as_dict()
    rewritten = run_foreground(
        engine,
        settings,
        RewriteConfig(number, DEMO_VARIANTS, seed=seed),
        "demo",
        link=RoundLink(find_round_id(engine, number), "generating"),
    )
    filtered = run_foreground(
        engine, settings, filter_params(number), "demo", link=RoundLink(find_round_id(engine, number), "filtering")
    )
    sync(engine, number)  # round 1 is then in review, as `round start` would have left it
    reviews = _review_a_few(engine)
    _flag_a_label(engine)
    exported = export(engine, ExportConfig(number, "trl-sft", settings.workspace / "exports", task="both"), "demo")
    return Demo(base, mined, rewritten, filtered, reviews, exported)


def _flag_a_label(engine: Engine) -> int | None:
    """The demo expert doubts the gold codes of the likeliest label error no one has reviewed: the record mentions
    a code the model predicted (an "extra" code), so one open label issue waits on the Label issues page."""
    with read_session(engine) as s:
        reviewed = set(s.scalars(select(Review.badcase_id)))
        candidates = [
            b
            for b in s.scalars(select(Badcase).order_by(Badcase.label_error_confidence.desc().nulls_last(), Badcase.id))
            if b.id not in reviewed and b.extra_codes
        ]
        if not candidates:
            return None
        b = candidates[0]
        gold = list(b.record.other_codes or [])
    proposed = [*gold, *(c for c in b.extra_codes if c not in gold and c != b.gold_principal)]
    return flag_label_issue(
        engine, b.id, b.gold_principal, proposed, "expert", "the discharge summary also names the model's extra code"
    )


def _review_a_few(engine: Engine) -> int:
    """The demo expert has picked a best variant for a few badcases, so the queue shows progress."""
    with read_session(engine) as s:
        expert = s.scalar(select(User.id).where(User.name == "expert"))
        second = s.scalar(select(User.id).where(User.name == "expert2"))
        badcases = list(s.scalars(select(Badcase.id).order_by(Badcase.id)))
        ranked = {
            b: list(
                s.scalars(
                    select(Variant.id).where(Variant.badcase_id == b, Variant.passed.is_(True)).order_by(Variant.rank)
                )
            )
            for b in badcases
        }
    assert expert is not None and second is not None
    eligible = [b for b in badcases if len(ranked[b]) >= 2]
    n = 0
    for b in eligible[:DEMO_REVIEWED_BADCASES]:
        decide(engine, expert, ranked[b][1], "approve", score=3, seconds=20.0)
        decide(engine, expert, ranked[b][0], "approve", best=True, score=5, seconds=35.0)
        n += 2
    # A second expert, so the Agreement page has kappa and alpha to show: agrees mostly, not always (one
    # different best pick leaves a tie for an engineer to settle).
    for i, b in enumerate(eligible[:DEMO_SECOND_EXPERT_BADCASES]):
        best, other = (ranked[b][1], ranked[b][0]) if i == 1 else (ranked[b][0], ranked[b][1])
        decide(engine, second, other, "reject" if i % 2 else "approve", score=2 if i % 2 else 3, seconds=25.0 + i)
        decide(engine, second, best, "approve", best=True, score=4 + (i % 2), seconds=40.0 + 2 * i)
        n += 2
    return n
