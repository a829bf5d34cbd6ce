"""The trainers' files in the llamafactory and verl exports: the paper's settings, and a reward.py that gives
exactly the project's own rewards, loaded from its file the way verl loads a custom reward function."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from db.engine import make_engine
from pipeline.domain.label_space import OTHER, PRINCIPAL
from pipeline.export.datasets import ExportConfig, export
from tests.demo_cache import copy_demo
from tests.training.reward_cases import HIERARCHY_CASES
from training.rewards import hierarchical_task_reward, task_reward

P_CODE, P_NAME = next(iter(PRINCIPAL.items()))
(O1, N1), (O2, N2), (O3, N3) = list(OTHER.items())[:3]
P2_NAME = list(PRINCIPAL.values())[1]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("trainer_configs")
    url = copy_demo(tmp / "demo.db", tmp / "var")
    engine = make_engine(url)
    return {fmt: export(engine, ExportConfig(1, fmt, tmp / "exports"), "t").path for fmt in ("verl", "llamafactory")}


def _load_like_verl(path: Path) -> ModuleType:
    """verl.utils.import_utils.load_extern_object: spec_from_file_location + exec_module, no package around it."""
    spec = importlib.util.spec_from_file_location("custom_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wrap(answer: str) -> str:
    return f"<think>依据病历</think><answer>{answer}</answer>"


TABLE = [
    # (task, completion, gold principal, gold others)
    ("principal", _wrap(P_NAME), P_CODE, [O1]),  # well-formed, right: 1.0
    ("principal", _wrap(P2_NAME), P_CODE, [O1]),  # well-formed, wrong: 0.1
    ("principal", f"{P_NAME}", P_CODE, [O1]),  # malformed, right name: 0.9
    ("principal", _wrap(f"{P_NAME}；{P2_NAME}"), P_CODE, [O1]),  # hedging between two: 0.1
    ("principal", _wrap(P_CODE), P_CODE, [O1]),  # a code written as such
    ("other", _wrap(f"{N1}；{N2}"), P_CODE, [O1, O2]),  # exact set
    ("other", _wrap(N1), P_CODE, [O1, O2]),  # partial: F1 2/3
    ("other", _wrap(f"{N1}、{N3}"), P_CODE, [O1, O2]),  # one right, one extra
    ("other", _wrap("1. " + N1 + "\n2. " + N2), P_CODE, [O1, O2]),  # numbered lines
    ("other", "<think>x</think>no answer block", P_CODE, [O1]),  # malformed, nothing named
    ("other", _wrap("无"), P_CODE, []),  # nothing to name and nothing named: F1 1
    ("multi", _wrap(f"主要诊断：{P_NAME}\n其他诊断：{N1}；{N2}"), P_CODE, [O1, O2]),
    ("multi", _wrap(f"主要诊断：{P2_NAME}\n其他诊断：{N1}"), P_CODE, [O1, O2]),
]


def test_reward_py_gives_the_projects_own_rewards(exports: dict[str, Path]) -> None:
    reward = _load_like_verl(exports["verl"] / "reward.py")
    for task, completion, principal, others in TABLE:
        ground_truth = f"[{principal}|{';'.join(others)}]"
        got = reward.compute_score(f"sradit/{task}", completion, ground_truth, {"task": task})
        want = task_reward([completion], task=[task], principal=[principal], others=[others])[0]
        assert got == pytest.approx(want), (task, completion, got, want)
    # Anchors, so the comparison cannot pass by both sides being wrong the same way.
    assert reward.compute_score("sradit/principal", _wrap(P_NAME), f"[{P_CODE}|{O1}]") == pytest.approx(1.0)
    assert reward.compute_score("sradit/other", _wrap(N1), f"[{P_CODE}|{O1};{O2}]") == pytest.approx(0.1 + 0.9 * 2 / 3)
    with pytest.raises(ValueError, match="sradit/principal"):
        reward.compute_score("gsm8k", "x", "[A|]")
    source = (exports["verl"] / "reward.py").read_text(encoding="utf-8")
    assert "import pipeline" not in source and "from pipeline" not in source and "from training" not in source


def test_reward_py_gives_the_hierarchical_reward_as_the_project_does(exports: dict[str, Path]) -> None:
    """compute_score_hierarchical against training.rewards on both tables: the paper's cases (where partial credit
    changes nothing but hedges and near misses) and the hierarchy's own, with their hand-computed values."""
    reward = _load_like_verl(exports["verl"] / "reward.py")
    rows = [(t, c, p, o) for t, c, p, o in TABLE] + [(t, c, p, o) for t, c, p, o, _, _ in HIERARCHY_CASES]
    for task, completion, principal, others in rows:
        ground_truth = f"[{principal}|{';'.join(others)}]"
        got = reward.compute_score_hierarchical(f"sradit/{task}", completion, ground_truth, {"task": task})
        want = hierarchical_task_reward([completion], task=[task], principal=[principal], others=[others])[0]
        assert got == pytest.approx(want), (task, completion, got, want)
    for task, completion, principal, others, paper, hierarchical in HIERARCHY_CASES:
        ground_truth = f"[{principal}|{';'.join(others)}]"
        assert reward.compute_score(f"sradit/{task}", completion, ground_truth) == pytest.approx(paper)
        assert reward.compute_score_hierarchical(f"sradit/{task}", completion, ground_truth) == pytest.approx(
            hierarchical
        )
    assert "compute_score_hierarchical" in (exports["verl"] / "verl_grpo.sh").read_text(encoding="utf-8")


def test_verl_script_holds_table_2(exports: dict[str, Path]) -> None:
    script = (exports["verl"] / "verl_grpo.sh").read_text(encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(exports["verl"] / "verl_grpo.sh")]).returncode == 0
    for setting in (
        "algorithm.adv_estimator=grpo",
        "actor_rollout_ref.rollout.n=6",
        "data.train_batch_size=64",
        "actor_rollout_ref.actor.ppo_mini_batch_size=16",
        "actor_rollout_ref.actor.optim.lr=5e-7",
        "data.max_prompt_length=6350",
        "data.max_response_length=1500",
        "actor_rollout_ref.actor.loss_agg_mode=token-mean",
        "algorithm.filter_groups.enable=True",
        f"reward.custom_reward_function.path={exports['verl'] / 'reward.py'}",
        f"data.train_files={exports['verl'] / 'train.parquet'}",
    ):
        assert setting in script, setting


def test_llamafactory_yaml_holds_table_1(exports: dict[str, Path]) -> None:
    folder = exports["llamafactory"]
    cfg = yaml.safe_load((folder / "llamafactory_sft.yaml").read_text(encoding="utf-8"))
    assert cfg["dataset_dir"] == str(folder) and cfg["dataset"] == "sradit_r1_train"
    assert (cfg["finetuning_type"], cfg["learning_rate"], cfg["num_train_epochs"]) == ("full", 5e-6, 6.0)
    assert cfg["per_device_train_batch_size"] * cfg["gradient_accumulation_steps"] * 8 == 32
    assert (cfg["weight_decay"], cfg["cutoff_len"], cfg["neftune_noise_alpha"], cfg["warmup_ratio"]) == (
        0.01,
        8400,
        5,
        0.1,
    )
    assert cfg["flash_attn"] == "fa2" and Path(cfg["deepspeed"]) == folder / "ds_z3_config.json"
    assert (folder / "ds_z3_config.json").is_file()
