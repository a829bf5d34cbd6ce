"""K-fold SFT with a learner, end to end on the tiny answering model: the CLI trains a model per fold and
sub-task, mines out of fold, registers the fold models and their ensemble with lineage, and the ensemble
predicts by vote. Real TRL training, real SQLite, the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Badcase, Record, RegisteredModel, Round
from pipeline.demo.database import build_demo
from pipeline.domain.label_space import PRINCIPAL
from pipeline.domain.parsers import parse_submission
from tests.helpers import ROOT, Cli

pytestmark = pytest.mark.slow
LEARNER = "tiny-sft"
ENSEMBLE = f"{LEARNER}-kfold-r1"


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory, tiny_answering_model: Path) -> Iterator[tuple[Cli, Path, str]]:
    """The demo records, a pair learner on the answering model, and `sradit kfold --model tiny-sft --folds 2`."""
    tmp = tmp_path_factory.mktemp("learner")
    db_url = f"sqlite:///{tmp / 'sradit.db'}"
    engine = make_engine(db_url)
    build_demo(engine, force=False)
    engine.dispose()
    config = yaml.safe_load((ROOT / "configs" / "cpu" / "sft-tiny.yaml").read_text(encoding="utf-8"))
    config["max_steps"] = 1  # the base already answers: a step shows the path, not a better model
    (tmp / "sft.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (tmp / "models.toml").write_text(
        f"""[models.{LEARNER}]
kind = "sft"
base = "{tiny_answering_model}"
config = "{tmp / "sft.yaml"}"
subtasks = "pair"
max_tokens = 96
[models.{LEARNER}.options]
batch_size = 8
""",
        encoding="utf-8",
    )
    cli = Cli(db_url, tmp)
    cli.env["SRADIT_MODELS"] = str(tmp / "models.toml")
    out = cli("kfold", "--model", LEARNER, "--folds", "2").output
    yield cli, tmp, out


def test_kfold_prints_the_ensemble_and_mines_out_of_fold(mined: tuple[Cli, Path, str]) -> None:
    cli, tmp, out = mined
    assert f"ensemble {ENSEMBLE}" in out.splitlines()
    engine = make_engine(cli.env["SRADIT_DB_URL"])
    with read_session(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == 1))
        assert rnd is not None and s.scalar(select(Badcase).where(Badcase.round_id == rnd.id)) is not None
        folds = {r.case_id: r.fold for r in s.scalars(select(Record).where(Record.principal_code.is_not(None)))}
        rows = {m.name: m for m in s.scalars(select(RegisteredModel))}
    # Out of fold: no fold model saw a record of the fold it predicted.
    for k in (0, 1):
        for subtask in ("principal", "other"):
            model = rows[f"{LEARNER}-r1-fold{k}-{subtask}"]
            train_file = Path(model.config["sft"]["train_file"])
            seen = {json.loads(line)["case_id"] for line in train_file.read_text(encoding="utf-8").splitlines()}
            assert seen and all(folds[c] != k for c in seen)
            assert len(seen) == sum(1 for f in folds.values() if f != k)
    engine.dispose()


def test_the_registry_holds_four_fold_models_and_their_ensemble_with_lineage(mined: tuple[Cli, Path, str]) -> None:
    cli, _tmp, _out = mined
    lines = cli("model", "list").output.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "SUBTASK", "FOLD", "ROUND", "DATASET", "PARENT"]
    table = {cells[0]: cells for cells in (line.split() for line in lines[1:])}
    assert table["baseline"][1:] == ["baseline", "-", "-", "-", "-", "-"]
    assert table[LEARNER][1:3] == ["learner", "pair"]
    for k in (0, 1):
        for subtask in ("principal", "other"):
            row = table[f"{LEARNER}-r1-fold{k}-{subtask}"]
            assert row[1:6] == ["sft", subtask, f"fold{k}", "r1", "train"]
            assert Path(row[6]).name == Path(table[LEARNER][6]).name  # parent: the learner's base
    assert table[ENSEMBLE][1:6] == ["ensemble", "-", "-", "r1", "train"]
    show = cli("model", "show", ENSEMBLE).output
    assert "members   2" in show and "fold0" in show and "fold1" in show
    assert "other codes: named by at least 50% of the folds" in show


def test_the_ensemble_predicts_the_test_records(mined: tuple[Cli, Path, str]) -> None:
    cli, tmp, _out = mined
    out = tmp / "submission.json"
    cli("predict", "--model", ENSEMBLE, "--dataset", "test", "--out", str(out))
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert len(rows) == 5
    parsed = [parse_submission(r["预测结果"]) for r in rows]
    assert all(p is not None for p in parsed), rows
    assert sum(p.main in PRINCIPAL for p in parsed if p is not None) >= 4, rows


def test_a_second_mining_of_the_same_round_is_refused_before_training(mined: tuple[Cli, Path, str]) -> None:
    cli, _tmp, _out = mined
    result = cli("kfold", "--model", LEARNER, "--folds", "2", "--round", "1", ok=False)
    assert result.exit_code == 1 and "round 1 has already been mined" in result.output


def test_register_a_folder_trained_elsewhere(mined: tuple[Cli, Path, str], tiny_answering_model: Path) -> None:
    cli, tmp, _out = mined
    cli(
        "model",
        "register",
        "lf-sft",
        "--path",
        str(tiny_answering_model),
        "--kind",
        "sft",
        "--round",
        "1",
        "--dataset",
        "train",
    )
    row = [line.split() for line in cli("model", "list").output.splitlines() if line.startswith("lf-sft ")][0]
    assert row[1:6] == ["sft", "-", "-", "r1", "train"]
    # Lineage names what exists: a round, and a dataset version or a written export.
    args = ("model", "register", "lf-x", "--path", str(tiny_answering_model), "--kind", "sft")
    no_round = cli(*args, "--round", "9", ok=False)
    assert no_round.exit_code == 1 and "--round 9: there is no round 9 (rounds: 1)" in no_round.output
    no_data = cli(*args, "--dataset", "round1-llamafactory-v1", ok=False)
    assert no_data.exit_code == 1 and "--dataset 'round1-llamafactory-v1': no dataset version" in no_data.output
    again = cli("model", "register", "lf-sft", "--path", str(tiny_answering_model), "--kind", "sft", ok=False)
    assert again.exit_code == 1 and "already registered" in again.output
    missing = cli("model", "register", "x", "--path", str(tmp / "nope"), "--kind", "grpo", ok=False)
    assert missing.exit_code == 1 and "is not a folder" in missing.output
    clash = cli("model", "register", LEARNER, "--path", str(tiny_answering_model), "--kind", "sft", ok=False)
    assert clash.exit_code == 1 and "models file" in clash.output
    learner = cli("predict", "--model", LEARNER, "--dataset", "test", "--out", str(tmp / "x.json"), ok=False)
    assert learner.exit_code == 1 and "is a learner" in learner.output
