"""SRADIT rounds with an LLM learner, end to end on the tiny answering model: round 1 mines out of fold with
K-fold SFT, round 2 mines with round 1's GRPO policy; both filter with real models, retrain SFT then GRPO and
register what they trained. A training stage interrupted mid-run (Ctrl-C, as `run_foreground` sees it) is run
again alone and registers nothing twice. Real TRL training, real SQLite, the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from app.services.round_plan import label_model
from app.services.rounds import start_round
from db.engine import make_engine, read_session
from db.models import Badcase, Job, RegisteredModel, Round, Variant, VariantVerdict
from pipeline.database import init_database
from pipeline.demo.synthetic import generate_records
from pipeline.ingest.importer import import_rows
from pipeline.jobs.runner import RoundLink, run_foreground
from pipeline.rounds.config import read_round_config, round_config
from pipeline.rounds.lookup import get_round
from pipeline.settings import Settings
from tests.helpers import ROOT, Cli
from training.models import registry

pytestmark = pytest.mark.slow
LEARNER = "tiny-sft"


def _config(tmp: Path, kind: str, **values: Any) -> Path:
    config = yaml.safe_load((ROOT / "configs" / "cpu" / f"{kind}-tiny.yaml").read_text(encoding="utf-8"))
    config.update(values)
    path = tmp / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory: pytest.TempPathFactory, tiny_answering_model: Path) -> Iterator[tuple[Cli, Path]]:
    """24 demo-generator records; round 1 (kfold) through the CLI; round 2 (policy) interrupted in GRPO, then
    continued through the CLI."""
    tmp = tmp_path_factory.mktemp("llm_rounds")
    db_url = f"sqlite:///{tmp / 'sradit.db'}"
    engine = make_engine(db_url)
    init_database(engine)
    records = [r for r in generate_records(n_labelled=24, n_unlabelled=0, seed=3)]
    import_rows(engine, records, "train", "test", source="synthetic(seed=3)")
    sft = _config(tmp, "sft", max_steps=1)
    grpo = _config(tmp, "grpo", max_steps=2)
    (tmp / "models.toml").write_text(
        f'[models.{LEARNER}]\nkind = "sft"\nbase = "{tiny_answering_model}"\nconfig = "{sft}"\n'
        f'subtasks = "pair"\nmax_tokens = 96\n[models.{LEARNER}.options]\nbatch_size = 8\n',
        encoding="utf-8",
    )
    # Round 1's label filter is its K-fold SFT ensemble (label_model auto) with the gold-conditioned check: the
    # paper's "predict and compare" rejects nearly every variant of a record the coder got wrong (measured: 0 of 44
    # here), the gold answer's likelihood lets the variants that kept its support through. Round 2 keeps the
    # paper's check, with the baseline fitted on the round's records, so both checks run end to end.
    common = {"learner": LEARNER, "folds": 2, "n": 2, "generator": "rules", "grpo_config": str(grpo)}
    round1 = {"mining": "kfold", "label_model": "auto", "label_check": "gold", **common}
    (tmp / "round1.yaml").write_text(yaml.safe_dump(round1), encoding="utf-8")
    round2 = {"mining": "policy", "label_model": "baseline", **common}
    (tmp / "round2.yaml").write_text(yaml.safe_dump(round2), encoding="utf-8")
    cli = Cli(db_url, tmp)
    cli.env["SRADIT_MODELS"] = str(tmp / "models.toml")
    cli("round", "start", "--config", str(tmp / "round1.yaml"), "--non-interactive")

    # Round 2 up to its GRPO stage, interrupted while the second sub-task trains (the first is registered).
    settings = Settings.from_env({**cli.env})
    interrupted = f"{LEARNER}-r2-grpo-principal"

    def run_stage(kind: str, params: Any, link: RoundLink) -> dict[str, Any]:
        def kill_after_first_model(_done: int, _total: int) -> None:
            if kind == "train-grpo" and registry.find(engine, interrupted) is not None:
                raise KeyboardInterrupt

        return run_foreground(engine, settings, params, "test", kill_after_first_model, kind=kind, link=link)

    with pytest.raises(KeyboardInterrupt):
        start_round(engine, settings, "non-interactive", read_round_config(tmp / "round2.yaml"), "test", run_stage)
    assert get_round(engine, 2).status == "training"
    cli("round", "start", "--non-interactive")  # continues round 2 where it stopped
    engine.dispose()
    yield cli, tmp


def test_two_rounds_end_done_with_registered_sft_and_grpo_models(two_rounds: tuple[Cli, Path]) -> None:
    cli, _tmp = two_rounds
    engine = make_engine(cli.env["SRADIT_DB_URL"])
    with read_session(engine) as s:
        rows = {m.name: m for m in s.scalars(select(RegisteredModel))}
    for n in (1, 2):
        r = get_round(engine, n)
        assert r.status == "done", (n, r.status)
        assert r.results.augmenting and r.results.in_review
        assert r.results.augmenting.added_variants == r.results.in_review.selected
        for stage in ("sft", "grpo"):
            for subtask in ("principal", "other"):
                name = f"{LEARNER}-r{n}-{stage}-{subtask}"
                assert rows[name].kind == stage and rows[name].round_no == n
                assert rows[name].dataset == r.results.augmenting.dataset
        for subtask in ("principal", "other"):
            grpo, sft = rows[f"{LEARNER}-r{n}-grpo-{subtask}"], rows[f"{LEARNER}-r{n}-sft-{subtask}"]
            assert grpo.parent == sft.name
            # GRPO learned: its tensors moved with a reward spread behind them (tests/training/test_grpo.py shows this
            # evidence fail on an unchanged copy and on a run without spread); its parent is the SFT model's weights.
            assert grpo.metrics["learned"] is True and grpo.metrics["tensors_changed"] > 0, grpo.metrics
            assert grpo.metrics["parent_weights_sha256"] == sft.metrics["weights_sha256"]
        assert r.results.training and r.results.training.measured == "in-sample"
    # Round 1 mined out of fold with its fold models; round 2 with round 1's policy.
    r1, r2 = get_round(engine, 1), get_round(engine, 2)
    assert r1.results.augmenting and r1.results.filtering and r2.results.filtering
    assert r1.results.augmenting.added_variants > 0  # round 2 trained on them
    mined = r1.results.models()["mined"]
    assert mined[-1] == f"{LEARNER}-kfold-r1" and len(mined) == 5
    assert r1.results.filtering.policy_models == ()
    # The SFT ensemble judged round 1's variants (gold check) and some reached the experts' side of the loop.
    assert r1.results.filtering.label_models == (f"{LEARNER}-kfold-r1",)
    assert r1.results.filtering.passed and r1.results.in_review and r1.results.in_review.selected > 0
    with read_session(engine) as s:
        label = s.scalars(select(VariantVerdict).where(VariantVerdict.filter == "label")).all()
    assert {v.detail["check"] for v in label} == {"gold", "predict"}  # round 1 gold, round 2 the paper's
    assert "no GRPO policy yet" in r1.results.filtering.policy
    assert r2.results.models()["mined"] == [f"{LEARNER}-r1-grpo-principal"]
    assert r2.results.filtering.policy_models == (f"{LEARNER}-r1-grpo-principal", f"{LEARNER}-r1-grpo-other")
    # Round 2's policy judged exactly the variants every other filter passed, and said what it answered.
    with read_session(engine) as s:
        policy = s.scalars(
            select(VariantVerdict)
            .join(Variant, Variant.id == VariantVerdict.variant_id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Round, Round.id == Badcase.round_id)
            .where(Round.number == 2, VariantVerdict.filter == "policy")
        ).all()
    stages = dict(r2.results.filtering.funnel)
    assert len(policy) == stages["length"] > 0 and stages["policy"] == r2.results.filtering.passed
    assert all(v.detail["model"] == f"{LEARNER}-r1-grpo-principal" and "principal" in v.detail for v in policy)
    # label_model auto: this round's K-fold ensemble, or (policy mining) the SFT coder of the round's dataset.
    auto = {"learner": LEARNER, "label_model": "auto"}
    assert label_model(engine, round_config({**auto, "mining": "kfold"}), 1, "train") == f"{LEARNER}-kfold-r1"
    assert label_model(engine, round_config({**auto, "mining": "policy"}), 2, "train@r1") == (
        f"{LEARNER}-r1-sft-principal"
    )
    engine.dispose()


def test_round_status_names_every_model_of_each_round(two_rounds: tuple[Cli, Path]) -> None:
    cli, tmp = two_rounds
    lines = [line for line in cli("round", "status").output.splitlines() if line.startswith("round ")]
    assert [line.split()[:3] for line in lines] == [["round", "1", "done"], ["round", "2", "done"]]
    assert f"mined {LEARNER}-r1-grpo-principal" in lines[1]
    for stage in ("sft", "grpo"):
        assert f"{LEARNER}-r2-{stage}-principal,{LEARNER}-r2-{stage}-other" in lines[1]
    workspace = Settings.from_env(cli.env).workspace
    report = (workspace / "rounds" / "round-2" / "report.md").read_text(encoding="utf-8")
    assert "variants merged" in report and "in-sample" in report and "| training: grpo |" in report
    # configs/cpu/grpo-tiny.yaml's window of 1: the calibration is stable at once and its work is counted.
    calibration = next(line for line in report.splitlines() if line.startswith("- GRPO calibration"))
    assert "stable window reached by 2 of 2 models" in calibration, calibration


def test_an_interrupted_training_stage_reruns_alone_and_registers_each_model_once(
    two_rounds: tuple[Cli, Path],
) -> None:
    cli, _tmp = two_rounds
    engine = make_engine(cli.env["SRADIT_DB_URL"])
    with read_session(engine) as s:
        jobs = s.scalars(select(Job).where(Job.kind.like("train-%")).order_by(Job.id)).all()
        grpo2 = s.scalars(
            select(RegisteredModel).where(RegisteredModel.round_no == 2, RegisteredModel.kind == "grpo")
        ).all()
    # round 1: sft, grpo; round 2: sft, grpo (cancelled), grpo again; SFT of round 2 was not redone.
    assert [(j.kind, j.status) for j in jobs] == [
        ("train-sft", "succeeded"),
        ("train-grpo", "succeeded"),
        ("train-sft", "succeeded"),
        ("train-grpo", "cancelled"),
        ("train-grpo", "succeeded"),
    ]
    by_name = {m.name: m.job_id for m in grpo2}
    assert len(grpo2) == 2
    assert by_name[f"{LEARNER}-r2-grpo-principal"] == jobs[3].id  # kept from the interrupted job
    assert by_name[f"{LEARNER}-r2-grpo-other"] == jobs[4].id  # trained by the re-run
    engine.dispose()


def test_the_two_label_checks_are_measured_side_by_side(two_rounds: tuple[Cli, Path]) -> None:
    """`sradit rewrites label-checks`: both checks, one model, the same variants; the stored verdicts untouched."""
    cli, _tmp = two_rounds
    engine = make_engine(cli.env["SRADIT_DB_URL"])
    with read_session(engine) as s:
        before = [(v.variant_id, v.filter, v.passed, v.reason) for v in s.scalars(select(VariantVerdict))]
        generated = s.scalar(
            select(func.count())
            .select_from(Variant)
            .join(Badcase)
            .join(Round)
            .where(Round.number == 1, Variant.status == "generated")
        )
    out = cli("rewrites", "label-checks", "--round", "1", "--label-model", f"{LEARNER}-kfold-r1").output
    lines = out[out.index("round 1, ") :].splitlines()  # after transformers' loading bars (on stderr)
    assert lines[0] == f"round 1, {generated} variants, label model {LEARNER}-kfold-r1:"
    predict, gold = (int(line.split(": ")[1].split()[0]) for line in lines[1:3])
    assert 0 <= predict <= generated and 0 < gold <= generated
    with read_session(engine) as s:
        after = [(v.variant_id, v.filter, v.passed, v.reason) for v in s.scalars(select(VariantVerdict))]
    assert sorted(after) == sorted(before)
    engine.dispose()
