"""The registry of trained models on a real database: lineage kept, names unique, bad input named."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session, write_session
from db.models import RegisteredModel
from pipeline.errors import InputError
from tests.helpers import model_folder, row_counts
from training.models import registry
from training.models.registry import Registration
from training.models.resolve import _folders, all_models, find_model
from training.models.weights import weights_sha256


def folder(tmp_path: Path, name: str, seed: int = 0) -> str:
    return model_folder(tmp_path / name, seed)


def test_register_and_read_back_with_lineage(engine: Engine, tmp_path: Path) -> None:
    reg = Registration(
        "m-r1-fold0-principal",
        "sft",
        folder(tmp_path, "p"),
        subtask="principal",
        fold=0,
        round_no=1,
        dataset="train",
        parent="/models/base",
        learner="m",
        config={"sft": {"learning_rate": 3e-3}},
        metrics={"held_out_score": 71.5},
    )
    registry.register(engine, reg, "tester")
    entry = find_model(engine, tmp_path / "absent.toml", reg.name)
    assert entry.columns() == [reg.name, "sft", "principal", "fold0", "r1", "train", "/models/base"]
    assert entry.config == {"sft": {"learning_rate": 3e-3}}
    # The base folder does not exist here: the parent is named, with no checksum to record.
    assert entry.metrics == {"held_out_score": 71.5, "weights_sha256": weights_sha256(reg.path or "")}
    assert [e.name for e in all_models(engine, tmp_path / "absent.toml")] == ["baseline", reg.name]


def test_a_pair_member_finds_its_sibling(engine: Engine, tmp_path: Path) -> None:
    p, o = folder(tmp_path, "p"), folder(tmp_path, "o")
    registry.register(engine, Registration("m-fold0-principal", "sft", p, subtask="principal"), "t")
    alone = find_model(engine, tmp_path / "x.toml", "m-fold0-principal")
    assert _folders(engine, alone) == {"principal": p, "other": p}  # no sibling yet: one model answers both
    registry.register(engine, Registration("m-fold0-other", "sft", o, subtask="other"), "t")
    assert _folders(engine, alone) == {"principal": p, "other": o}


@pytest.mark.parametrize(
    ("reg", "message"),
    [
        (Registration("bad name", "sft", None), "use letters, digits"),
        (Registration("m", "lora", None), "kind 'lora' is not one of sft, grpo, ensemble"),
        (Registration("m", "sft", "/nowhere"), "is not a folder"),
        (Registration("m", "ensemble"), "has no members"),
        (Registration("m", "sft", None, subtask="both"), "sub-task 'both'"),
    ],
)
def test_bad_registrations_write_nothing(engine: Engine, reg: Registration, message: str) -> None:
    before = row_counts(engine)
    with pytest.raises(InputError, match=message):
        registry.register(engine, reg, "t")
    assert row_counts(engine) == before


def test_a_folder_without_a_model_is_refused(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no config.json"):
        registry.register(engine, Registration("m", "grpo", str(tmp_path / "empty")), "t")


def test_names_are_unique_and_unknown_names_list_the_known(engine: Engine, tmp_path: Path) -> None:
    registry.register(engine, Registration("m", "grpo", folder(tmp_path, "g")), "t")
    with pytest.raises(InputError, match="already registered"):
        registry.register(engine, Registration("m", "grpo", folder(tmp_path, "h")), "t")
    with pytest.raises(InputError, match="known: baseline, m"):
        find_model(engine, tmp_path / "absent.toml", "nope")


def test_one_name_registered_twice_at_once_is_refused_once(engine: Engine, tmp_path: Path) -> None:
    """The second registration starts while the first has inserted its row and not yet committed: SQLite queues
    it behind BEGIN IMMEDIATE; on PostgreSQL it passes the name check and the unique name refuses it."""
    inserted, outcome = threading.Event(), []

    def second() -> None:
        inserted.wait()
        try:
            registry.register(engine, Registration("m", "grpo", folder(tmp_path, "h")), "t")
            outcome.append("registered")
        except InputError as e:
            outcome.append(str(e))

    other = threading.Thread(target=second)
    other.start()
    with write_session(engine) as s:
        registry.add(s, registry.identify(engine, Registration("m", "grpo", folder(tmp_path, "g"))), "t")
        inserted.set()
        other.join(timeout=0.5)  # the second registration is now waiting on this transaction
    other.join()
    assert outcome == ["a model named 'm' is already registered (`sradit model show m`)"]
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(RegisteredModel)) == 1


def test_the_parent_is_recorded_by_its_weights_not_only_its_name(engine: Engine, tmp_path: Path) -> None:
    base = folder(tmp_path, "base", seed=1)
    registry.register(engine, Registration("m-sft", "sft", folder(tmp_path, "sft", seed=2), parent=base), "t")
    registry.register(engine, Registration("m-grpo", "grpo", folder(tmp_path, "grpo", seed=3), parent="m-sft"), "t")
    sft, grpo = registry.find(engine, "m-sft"), registry.find(engine, "m-grpo")
    assert sft is not None and grpo is not None
    assert sft.metrics["parent_weights_sha256"] == weights_sha256(base)  # a base folder: its own weights
    assert grpo.metrics["parent_weights_sha256"] == sft.metrics["weights_sha256"]  # a registered parent
    assert grpo.metrics["weights_sha256"] != sft.metrics["weights_sha256"]


def test_a_folder_without_weight_files_is_refused(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text("{}", encoding="utf-8")
    before = row_counts(engine)
    with pytest.raises(InputError, match="no weight files"):
        registry.register(engine, Registration("m", "grpo", str(tmp_path / "cfg")), "t")
    assert row_counts(engine) == before


def test_a_registration_without_identify_is_a_programming_error(engine: Engine, tmp_path: Path) -> None:
    with write_session(engine) as s, pytest.raises(ValueError, match="without identify"):
        registry.add(s, Registration("m", "grpo", folder(tmp_path, "g")), "t")
