"""app/services/retrain.py: a GRPO run that learned nothing is not registered as the round's policy — its job fails
saying why — unless the round's config says to keep it, which an open round at its training stage may still set.

Real TRL GRPO of the random tiny Qwen2 with only the paper's rewards: random text earns 0 in every group, so no
group has a reward spread. Real SQLite, the real job runner. The round is put at its training stage by hand, with
its SFT models registered (the stages before it are covered in test_rounds.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select

from app.services.retrain import GRPORetrainParams
from db.engine import make_engine, read_session, write_session
from db.models import Job
from pipeline.database import init_database
from pipeline.demo.synthetic import generate_records
from pipeline.errors import NotLearned
from pipeline.ingest.importer import import_rows
from pipeline.jobs.runner import RoundLink, run_foreground
from pipeline.rounds.config import round_config
from pipeline.rounds.driver import claim, release
from pipeline.rounds.lifecycle import create_round, set_stage
from pipeline.rounds.lookup import get_round
from pipeline.rounds.results import Augmented
from pipeline.settings import Settings
from tests.helpers import ROOT
from training.models import registry

pytestmark = pytest.mark.slow

LEARNER = "tiny-sft"


@pytest.fixture
def at_training(tmp_path: Path, tiny_model: Path) -> tuple[Engine, Settings, Path]:
    """Round 1 of 4 synthetic records at its training stage, its SFT models (the random tiny model) registered."""
    db_url = f"sqlite:///{tmp_path / 'sradit.db'}"
    engine = make_engine(db_url)
    init_database(engine)
    import_rows(engine, generate_records(n_labelled=4, n_unlabelled=0, seed=3), "train", "t", source="synthetic")
    grpo = yaml.safe_load((ROOT / "configs" / "cpu" / "grpo-tiny.yaml").read_text(encoding="utf-8"))
    grpo.update(max_steps=1, max_completion_length=16)
    (tmp_path / "grpo.yaml").write_text(yaml.safe_dump(grpo), encoding="utf-8")
    sft = ROOT / "configs" / "cpu" / "sft-tiny.yaml"
    (tmp_path / "models.toml").write_text(
        f'[models.{LEARNER}]\nkind = "sft"\nbase = "{tiny_model}"\nconfig = "{sft}"\nsubtasks = "pair"\n'
        "max_tokens = 16\n",
        encoding="utf-8",
    )
    settings = Settings(db_url=db_url, data_dir=tmp_path / "var", models=tmp_path / "models.toml")
    cfg = round_config({"learner": LEARNER, "grpo_config": str(tmp_path / "grpo.yaml")})
    with write_session(engine) as s:
        create_round(s, "non-interactive", cfg, "t")
    dataset = get_round(engine, 1).config.dataset
    set_stage(engine, 1, "training", Augmented(dataset=dataset, records=4))
    for subtask in ("principal", "other"):
        reg = registry.Registration(
            f"{LEARNER}-r1-sft-{subtask}", "sft", str(tiny_model), subtask=subtask, round_no=1, dataset=dataset
        )
        registry.register(engine, reg, "t")
    return engine, settings, tmp_path


def _grpo(engine: Engine, settings: Settings) -> dict:
    return run_foreground(engine, settings, GRPORetrainParams(1), "t", kind="train-grpo", link=RoundLink(1, "training"))


def test_a_policy_that_learned_nothing_is_refused_then_kept_when_the_round_says_so(
    at_training: tuple[Engine, Settings, Path],
) -> None:
    engine, settings, tmp = at_training
    with pytest.raises(NotLearned) as refused:
        _grpo(engine, settings)
    message = str(refused.value)
    assert message.startswith(f"round 1: GRPO {LEARNER}-r1-grpo-principal is not registered as the round's policy")
    assert "no learning signal: every group had identical rewards" in message
    assert "keep_unlearned_policy: true" in message
    assert registry.find(engine, f"{LEARNER}-r1-grpo-principal") is None
    with read_session(engine) as s:
        job = s.scalars(select(Job).where(Job.kind == "train-grpo")).one()
        assert job.status == "failed" and job.message == message  # kept: it ran, and says why it ended

    # The open round, at its training stage, still takes the key (it is read when the policy is registered).
    keep = {"learner": LEARNER, "grpo_config": str(tmp / "grpo.yaml"), "keep_unlearned_policy": True}
    release(engine, claim(engine, "non-interactive", keep, "t"))
    assert get_round(engine, 1).config.keep_unlearned_policy is True
    _grpo(engine, settings)
    kept = registry.find(engine, f"{LEARNER}-r1-grpo-principal")
    assert kept is not None and kept.metrics["learned"] is False and kept.metrics["tensors_total"] > 0
    assert (
        kept.metrics["parent_weights_sha256"]
        == registry.find(engine, f"{LEARNER}-r1-sft-principal").metrics["weights_sha256"]
    )
