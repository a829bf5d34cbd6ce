"""The tiny model taught to answer (`sradit model tiny --answers`): it answers held-out demo records in the
think/answer form with label-space names, and the paper's own rewards (not only a test reward) move every
parameter in GRPO on it. Real TRL SFT and GRPO on CPU; the model is built once a session (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pipeline.demo.synthetic import generate_records
from pipeline.domain.label_space import PRINCIPAL
from pipeline.domain.prompts import task_messages
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from training.grpo import GRPORunConfig, run_grpo
from training.rewards import principal_reward
from training.tiny_answers import TEACHING_SEEDS, measure

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def held_out() -> list[dict[str, str]]:
    """The demo database's labelled records (seed 0): never seen in teaching (seeds 1–4)."""
    assert 0 not in TEACHING_SEEDS
    return [r for r in generate_records(60, 5, seed=0) if MAIN_KEY in r]


def test_it_answers_held_out_records_with_label_space_names(
    tiny_answering_model: Path, held_out: list[dict[str, str]]
) -> None:
    figures = measure(tiny_answering_model, held_out)
    print(json.dumps(figures, ensure_ascii=False))  # the measured figures, for the record (pytest -s)
    # Every answer reads as a label-space name. Whether it is the right one is not asserted: the 2-layer model
    # has not yet been seen to beat always answering the most common class (README, "The tiny model").
    assert figures["parsed"] >= 0.9 * len(held_out)
    assert set(figures["answers"]) <= {r[MAIN_KEY] for r in held_out} | set(PRINCIPAL)


def test_the_papers_rewards_move_every_parameter_in_grpo(tiny_answering_model: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    records = generate_records(8, 0, seed=5)
    rows = [
        {
            "prompt": task_messages("principal", r),
            "task": "principal",
            "principal": r[MAIN_KEY],
            "others": [c for c in r[OTHER_KEY].split(";") if c],
            "case_id": r[ID_KEY],
        }
        for r in records
    ]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows), encoding="utf-8")

    # First: at temperature 1.0 a group of 4 answers earns different paper rewards (else nothing can move).
    tok = AutoTokenizer.from_pretrained(tiny_answering_model)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(tiny_answering_model)
    torch.manual_seed(0)
    texts = [tok.apply_chat_template(x["prompt"], tokenize=False, add_generation_prompt=True) for x in rows[:4]]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    out = model.generate(**enc, do_sample=True, temperature=1.0, num_return_sequences=4, max_new_tokens=32)
    completions = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    gold = [x["principal"] for x in rows[:4] for _ in range(4)]
    rewards = principal_reward(completions, principal=gold)
    assert max(rewards) > min(rewards), rewards

    cfg = GRPORunConfig(
        model_path=str(tiny_answering_model),
        train_file=str(train),
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        train_batch_size=4,
        ppo_mini_batch_size=4,
        micro_batch_size=4,
        num_generations=4,
        max_completion_length=32,
        temperature=1.0,
        learning_rate=1e-3,
        calibration=False,
        extra_reward=None,
        use_cpu=True,
    )
    result = run_grpo(cfg)
    assert result["global_step"] == 2
    before = load_file(str(tiny_answering_model / "model.safetensors"))
    after = load_file(str(tmp_path / "out" / "model.safetensors"))
    unchanged = [name for name in before if torch.equal(before[name], after[name])]
    assert unchanged == [], f"parameters not updated by the paper's rewards: {unchanged}"
