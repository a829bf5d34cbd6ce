"""training/models/weights.py: a model's checksum covers its weight files only, and whether training moved the
weights is read from the tensors. Real safetensors files; nothing mocked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from pipeline.errors import InputError
from tests.helpers import model_folder
from training.models.weights import tensor_changes, weight_files, weights_sha256


def test_files_beside_the_weights_do_not_change_the_checksum(tmp_path: Path) -> None:
    """TRL writes training_args.bin beside the weights: two runs that moved nothing differ only there."""
    parent = Path(model_folder(tmp_path / "parent"))
    child = tmp_path / "child"
    shutil.copytree(parent, child)
    (child / "training_args.bin").write_bytes(b"run 2")
    (child / "optimizer.pt").write_bytes(b"state")
    assert weights_sha256(child) == weights_sha256(parent)
    assert [p.name for p in weight_files(child)] == ["model.safetensors"]


def test_every_weight_file_counts(tmp_path: Path) -> None:
    folder = Path(model_folder(tmp_path / "m"))
    before = weights_sha256(folder)
    save_file({"lora_A": torch.ones(2, 2)}, str(folder / "adapter_model.safetensors"))
    with_adapter = weights_sha256(folder)
    torch.save({"w": torch.ones(2)}, folder / "pytorch_model-00002-of-00002.bin")
    assert len({before, with_adapter, weights_sha256(folder)}) == 3


def test_an_unchanged_copy_is_not_a_trained_model(tmp_path: Path) -> None:
    parent = Path(model_folder(tmp_path / "parent"))
    copy = tmp_path / "copy"
    shutil.copytree(parent, copy)
    (copy / "training_args.bin").write_bytes(b"different")
    same = tensor_changes(parent, copy)
    assert not same.moved and same.summary() == "0 of 2 tensors differ"


def test_one_moved_tensor_is_named(tmp_path: Path) -> None:
    parent = Path(model_folder(tmp_path / "parent"))
    child = Path(model_folder(tmp_path / "child"))
    tensors = load_file(str(child / "model.safetensors"))
    tensors["head.bias"] = tensors["head.bias"] + 1e-6  # the smallest move counts
    save_file(tensors, str(child / "model.safetensors"))
    moved = tensor_changes(parent, child)
    assert moved.moved and moved.changed == ("head.bias",) and moved.unchanged == ("embed.weight",)


def test_a_folder_without_weights_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "training_args.bin").write_bytes(b"x")
    with pytest.raises(InputError, match=r"empty: no weight files \(model\*\.safetensors"):
        weights_sha256(tmp_path / "empty")
