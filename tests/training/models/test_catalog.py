"""The models file: learner entries beside external LLMs, and every problem named by its entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import InputError, SraditError
from pipeline.settings import Settings
from tests.helpers import ROOT
from training.models.catalog import load_models


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_base_that_is_no_path_is_a_registered_model_name(tmp_path: Path) -> None:
    (tmp_path / "bases" / "tiny").mkdir(parents=True)
    text = '[models.a]\nkind = "sft"\nbase = "{}"\nconfig = "c.yaml"\n'
    assert load_models(write(tmp_path, text.format("bases/tiny")))["a"].base == str(tmp_path / "bases" / "tiny")
    assert load_models(write(tmp_path, text.format("tiny-sft-r1-fold0-principal")))["a"].base == (
        "tiny-sft-r1-fold0-principal"
    )


def test_a_learner_entry(tmp_path: Path) -> None:
    models = load_models(
        write(
            tmp_path,
            """
[models.qwen-sft]
kind = "sft"
base = "/models/Qwen2.5-7B-Instruct"
config = "configs/sft.yaml"
subtasks = "multi"
vote_share = 0.6
cotd = true
""",
        )
    )
    spec = models["qwen-sft"]
    assert spec.is_learner and spec.engine == "transformers" and spec.subtasks == "multi"
    assert (spec.base, spec.vote_share, spec.cotd) == ("/models/Qwen2.5-7B-Instruct", 0.6, True)
    assert spec.config == str(tmp_path / "configs" / "sft.yaml")  # relative paths are beside the models file
    assert list(models) == ["baseline", "qwen-sft"] and not models["baseline"].is_learner


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('kind = "sft"\nconfig = "c.yaml"', "needs `base`"),
        ('kind = "sft"\nbase = "b"', "needs `config`"),
        ('kind = "sft"\nbase = "b"\nconfig = "c"\nsubtasks = "triple"', "subtasks 'triple' is not pair or multi"),
        ('kind = "sft"\nbase = "b"\nconfig = "c"\nvote_share = 0', "vote_share 0 is not a number in (0, 1]"),
        ('kind = "sft"\nbase = "b"\nconfig = "c"\nengine = "openai"', "engine 'openai' is not transformers, vllm"),
        ('kind = "grpo"', "kind 'grpo' is not one of baseline, llm, sft"),
        ('kind = "llm"\nengine = "vllm"\ncolour = "red"', "unknown fields ['colour']"),
    ],
)
def test_problems_name_the_entry(tmp_path: Path, entry: str, problem: str) -> None:
    with pytest.raises(InputError) as e:
        load_models(write(tmp_path, f"[models.bad]\n{entry}\n"))
    assert any("[models.bad]" in p and problem in p for p in e.value.problems), e.value.problems


def test_the_models_file_checks_the_gate_settings(tmp_path: Path) -> None:
    models = tmp_path / "models.toml"
    models.write_text(
        '[models.a]\nkind = "llm"\nengine = "openai"\nurl = "http://x/v1"\nidentifiers = "redact"\n'
        '[models.b]\nkind = "llm"\nengine = "openai"\nurl = "http://x/v1"\nexternal = true\nidentifiers = "mask"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as refused:
        load_models(models)
    problems = "\n".join(refused.value.problems)
    assert "[models.a] identifiers applies to external models only" in problems
    assert "[models.b] identifiers 'mask' is not redact or refuse" in problems
    with pytest.raises(SraditError, match="SRADIT_EXTERNAL_IDENTIFIERS='mask' is not one of redact, refuse"):
        Settings.from_env({"SRADIT_EXTERNAL_IDENTIFIERS": "mask"})


def test_an_external_model_s_section_allow_list_is_checked(tmp_path: Path) -> None:
    entry = '[models.{}]\nkind = "llm"\nengine = "openai"\nurl = "http://x/v1"\n'
    models = tmp_path / "models.toml"
    models.write_text(
        entry.format("a")
        + 'sections = ["主诉"]\n'
        + entry.format("b")
        + 'external = true\nsections = ["主诉", "姓名"]\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as refused:
        load_models(models)
    problems = "\n".join(refused.value.problems)
    assert "[models.a] sections applies to external models only" in problems
    assert "[models.b] sections: '姓名' is not one of 主诉, 现病史" in problems
    models.write_text(entry.format("c") + 'external = true\nsections = ["主诉", "入院诊断"]\n', encoding="utf-8")
    assert load_models(models)["c"].sections == ("主诉", "入院诊断")


def test_the_example_models_file_loads_and_marks_the_cloud_model_external() -> None:
    models = load_models(ROOT / "configs" / "models.toml")
    assert models["cloud"].external and models["cloud"].identifiers == "redact"
    assert not models["served"].external and models["served"].identifiers is None
    assert models["qwen-sft"].is_learner
