"""Exports read back with the libraries their consumers use, column by column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Record, Variant
from pipeline.errors import InputError
from pipeline.export.datasets import ExportConfig, export, verify, zip_folder
from pipeline.ingest.importer import import_file

N_ORIGINALS = 206


def test_trl_sft_both_tasks_with_provenance(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    r = export(engine, ExportConfig(1, "trl-sft", tmp_path), "t")
    assert r.row_counts == {
        "train": 2 * (N_ORIGINALS + 2),
        "train_original_records": N_ORIGINALS,
        "train_variant_records": 2,
    }
    ds = load_dataset("json", data_files=str(r.path / "train.jsonl"), split="train")
    assert {"messages", "task", "case_id", "origin", "source_badcase", "round", "generator", "expert_score"} <= set(
        ds.column_names
    )
    variants = ds.filter(lambda row: row["origin"] == "variant")
    assert len(variants) == 4 and set(variants["round"]) == {1} and set(variants["generator"]) == {"test"}
    assert sorted(set(variants["expert_score"])) == [4.0, 5.0]
    row = ds[0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert row["messages"][2]["content"].startswith("<think>") and "<answer>" in row["messages"][2]["content"]
    assert set(ds["task"]) == {"principal", "other"}


def test_same_state_same_bytes_and_versions(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    a = export(engine, ExportConfig(1, "trl-grpo", tmp_path), "t")
    b = export(engine, ExportConfig(1, "trl-grpo", tmp_path), "t")
    assert (a.version, b.version) == (1, 2)
    assert a.checksum == b.checksum
    assert (a.path / "train.jsonl").read_bytes() == (b.path / "train.jsonl").read_bytes()
    ds = load_dataset("json", data_files=str(a.path / "train.jsonl"), split="train")
    assert {"prompt", "task", "principal", "others"} <= set(ds.column_names)
    assert all(isinstance(o, list) for o in ds["others"]) and [m["role"] for m in ds[0]["prompt"]] == ["system", "user"]


def test_selection_options(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    approved = export(engine, ExportConfig(1, "competition", tmp_path, selection="approved", task="principal"), "t")
    assert approved.row_counts["train_variant_records"] == 3
    high = export(engine, ExportConfig(1, "competition", tmp_path, selection="approved", min_score=4), "t")
    assert high.row_counts["train_variant_records"] == 2


def test_kfold_split_keeps_variants_out_of_their_records_eval_fold(
    engine: Engine, reviewed: dict, tmp_path: Path
) -> None:
    with read_session(engine) as s:
        from db.models import Badcase

        parent_folds = {
            v_id: fold
            for v_id, fold in s.execute(
                select(Variant.id, Record.fold)
                .join(Badcase, Badcase.id == Variant.badcase_id)
                .join(Record, Record.id == Badcase.record_id)
            ).all()
        }
    fold = parent_folds[min(reviewed["best"])]  # type: ignore[arg-type]
    r = export(engine, ExportConfig(1, "competition", tmp_path, fold=fold), "t")
    train = json.loads((r.path / "train.json").read_text(encoding="utf-8"))
    evaluation = json.loads((r.path / "eval.json").read_text(encoding="utf-8"))
    eval_ids = {row["病案标识"] for row in evaluation}
    assert all(row["provenance"]["origin"] == "original" for row in evaluation)
    for row in train:
        assert row["provenance"]["case_id"] not in eval_ids
    assert r.row_counts["train_variant_records"] == 1 and r.row_counts["eval"] == len(eval_ids) > 0


def test_verl_parquet_columns(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    r = export(engine, ExportConfig(1, "verl", tmp_path, task="other"), "t")
    table = pq.read_table(r.path / "train.parquet")
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    rows = table.to_pylist()
    assert len(rows) == N_ORIGINALS + 2
    assert rows[0]["reward_model"]["style"] == "rule" and rows[0]["reward_model"]["ground_truth"].startswith("[I")
    assert rows[0]["ability"] == "icd_coding" and rows[0]["data_source"] == "sradit/other"
    assert {r["extra_info"]["origin"] for r in rows} == {"original", "variant"}


def test_llamafactory_sharegpt_and_dataset_info(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    r = export(engine, ExportConfig(1, "llamafactory", tmp_path, task="multi"), "t")
    info = json.loads((r.path / "dataset_info.json").read_text(encoding="utf-8"))
    entry = info["sradit_r1_train"]
    assert entry["formatting"] == "sharegpt" and (r.path / entry["file_name"]).is_file()
    rows = json.loads((r.path / entry["file_name"]).read_text(encoding="utf-8"))
    assert len(rows) == N_ORIGINALS + 2
    assert [t["from"] for t in rows[0]["conversations"]] == ["human", "gpt"]
    assert "主要诊断：" in rows[0]["conversations"][1]["value"]


def test_competition_export_imports_back(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    r = export(engine, ExportConfig(1, "competition", tmp_path), "t")
    summary = import_file(engine, r.path / "train.json", "augmented", "t", 2**30)
    assert summary.inserted == N_ORIGINALS + 2


def test_bad_options_are_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no round 4"):
        export(engine, ExportConfig(4, "trl-sft", tmp_path), "t")
    with pytest.raises(InputError, match="format 'csv'"):
        export(engine, ExportConfig(1, "csv", tmp_path), "t")


def test_the_folder_verifies_with_sha256sum(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    import subprocess

    r = export(engine, ExportConfig(1, "trl-sft", tmp_path), "t")
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=r.path, capture_output=True, text=True)
    assert done.returncode == 0 and "train.jsonl: OK" in done.stdout, done.stdout + done.stderr
    (r.path / "train.jsonl").write_text("tampered\n", encoding="utf-8")
    assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=r.path, capture_output=True).returncode


def test_a_changed_export_is_never_served_nor_trained(engine: Engine, reviewed: dict, tmp_path: Path) -> None:
    """SHA256SUMS verified before a download and before a training reads the export, naming the file that changed
    (a tampered train.jsonl was zipped and trained on)."""
    import shutil

    from app.services.training import TrainRequest, preview
    from pipeline.settings import Settings

    r = export(engine, ExportConfig(1, "trl-sft", tmp_path), "t")
    verify(r.path, r.checksum)
    assert zip_folder(r.path, r.checksum)  # untouched: served
    kept = tmp_path / "kept"
    shutil.copytree(r.path, kept)
    changes = {
        "train.jsonl": lambda: (r.path / "train.jsonl").write_text("tampered\n", encoding="utf-8"),
        "extra.jsonl": lambda: (r.path / "extra.jsonl").write_text("{}\n", encoding="utf-8"),
        "SHA256SUMS": lambda: (r.path / "SHA256SUMS").write_text("", encoding="utf-8"),
    }
    for name, change in changes.items():
        change()
        with pytest.raises(InputError, match=rf"{re.escape(str(r.path / name))} .*export again"):
            zip_folder(r.path, r.checksum)
        shutil.rmtree(r.path)
        shutil.copytree(kept, r.path)
    (r.path / "train.jsonl").unlink()
    with pytest.raises(InputError, match="train.jsonl is missing"):
        verify(r.path, r.checksum)
    (r.path / "train.jsonl").write_text("tampered\n", encoding="utf-8")
    settings = Settings(db_url=str(engine.url), data_dir=tmp_path / "var")
    model = tmp_path / "model"
    model.mkdir()
    with pytest.raises(InputError, match="train.jsonl does not match SHA256SUMS"):
        preview(engine, settings, TrainRequest("sft", r.export_id, str(model)))


def test_a_folder_swapped_for_a_link_after_its_check_is_refused_at_use(
    engine: Engine, reviewed: dict, tmp_path: Path
) -> None:
    """A page's folder is confined when typed; a symbolic link put in its place before the export writes must not
    take the files out of the data folder: confinement is checked again where and as the export writes."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    (root / "exports").mkdir(parents=True)
    outside.mkdir()
    cfg = ExportConfig(1, "trl-sft", root / "exports", confined_to=root)  # checked: inside
    (root / "exports").rmdir()
    (root / "exports").symlink_to(outside)  # swapped after the check
    with pytest.raises(InputError, match=r"now leads to .*outside.*nothing was exported"):
        export(engine, cfg, "t")
    assert not any(outside.iterdir())
    assert export(engine, ExportConfig(1, "trl-sft", root / "kept", confined_to=root), "t").path.parent == (
        root / "kept"
    )


def test_a_simultaneous_export_of_the_same_version_is_refused_cleanly(
    engine: Engine, reviewed: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process renames its folder into place between this export's version scan and its rename."""
    from pipeline.export import datasets

    real = datasets._write_sha256sums

    def racing(folder: Path) -> str:
        checksum = real(folder)
        other = folder.parent / folder.name.split(".")[1]  # ".round1-trl-sft-v1.xxxx" → "round1-trl-sft-v1"
        other.mkdir()
        (other / "train.jsonl").write_text("{}\n", encoding="utf-8")
        return checksum

    monkeypatch.setattr(datasets, "_write_sha256sums", racing)
    out = tmp_path / "exports"
    with pytest.raises(InputError, match="another export of round 1 as trl-sft took version 1 at the same time"):
        export(engine, ExportConfig(1, "trl-sft", out), "t")
    assert [p.name for p in out.iterdir()] == ["round1-trl-sft-v1"]  # no temporary folder left
    monkeypatch.undo()
    assert export(engine, ExportConfig(1, "trl-sft", out), "t").version == 2
