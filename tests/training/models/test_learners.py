"""training/models/learners.py: a fold model is trained out of sight and appears under its name only when complete.
Real TRL SFT of the random tiny Qwen2 (interrupted at its first step, as Ctrl-C or a killed job would)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.demo.synthetic import generate_records
from tests.helpers import ROOT
from training.models.catalog import ModelSpec
from training.models.learners import SFTLearner


def _learner(tiny: Path, tmp_path: Path, on_progress=None) -> SFTLearner:  # noqa: ANN001
    config = yaml.safe_load((ROOT / "configs" / "cpu" / "sft-tiny.yaml").read_text(encoding="utf-8"))
    config.update(max_steps=1, batch_size=2, per_device_train_batch_size=2)
    (tmp_path / "sft.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    spec = ModelSpec(name="tiny-sft", kind="sft", base=str(tiny), config=str(tmp_path / "sft.yaml"), subtasks="pair")
    return SFTLearner(
        spec,
        base_path=str(tiny),
        round_no=1,
        models_dir=tmp_path / "models",
        work_dir=tmp_path / "work",
        log=lambda _line: None,
        on_progress=on_progress,
    )


def test_an_interrupted_fold_leaves_no_folder_under_its_name(tiny: Path, tmp_path: Path) -> None:
    def interrupt(_done: int, _total: int) -> None:
        raise KeyboardInterrupt

    records = generate_records(4, 0, seed=1)
    with pytest.raises(KeyboardInterrupt):
        _learner(tiny, tmp_path, interrupt).train_model("tiny-sft-r1-fold0-principal", "principal", records, fold=0)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_finished_fold_is_in_place_with_its_config_naming_that_place(tiny: Path, tmp_path: Path) -> None:
    records = generate_records(4, 0, seed=1)
    (tmp_path / "models" / "tiny-sft-r1-fold0-principal").mkdir(parents=True)  # left by an earlier attempt
    model = _learner(tiny, tmp_path).train_model("tiny-sft-r1-fold0-principal", "principal", records, fold=0)
    out = tmp_path / "models" / "tiny-sft-r1-fold0-principal"
    assert model.path == str(out) and (out / "model.safetensors").is_file()
    assert model.config["output_dir"] == str(out)
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["tiny-sft-r1-fold0-principal"]
