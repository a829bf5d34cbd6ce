"""The GRPO tests' data set and reward (tests/training/test_grpo.py, test_grpo_refill.py): short records of the
trl-grpo export's shape, and an extra reward that varies on random text except on the FLAT prompts, whose groups
then have zero spread for the calibration to find."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from pipeline.demo.synthetic import generate_records
from pipeline.domain.prompts import task_messages
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from training.grpo import GRPORunConfig
from training.rewards import completion_text

EXTRA = "tests.training.grpo_rows:varied_reward"


#: The case_id column of every batch the trainer rewarded (refills included), to count groups independently.
REWARDED: list[list[str]] = []


def varied_reward(completions, case_id, **kwargs):  # noqa: ANN001, ANN201
    """A checksum of the text, scaled to [0, 1): two different completions almost never tie (distinct characters
    per character tied on the shorter prompts of the present tokenizer); constant 0 on FLAT prompts."""
    REWARDED.append(list(case_id))
    out = []
    for completion, cid in zip(completions, case_id, strict=True):
        text = completion_text(completion)
        out.append(0.0 if cid.startswith("FLAT") else zlib.crc32(text.encode("utf-8")) % 997 / 997)
    return out


def grpo_file(path: Path, n_flat: int, n_var: int) -> Path:
    """The trl-grpo export's shape, with short records; the first n_flat rows are FLAT."""
    records = generate_records(n_labelled=n_flat + n_var, n_unlabelled=0, seed=1)
    with path.open("w", encoding="utf-8") as f:
        for i, r in enumerate(records):
            short = {k: (v[:40] if k in TEXT_SECTIONS else v) for k, v in r.items()}
            task = "principal" if i % 2 == 0 else "other"
            row = {
                "prompt": task_messages(task, short),
                "task": task,
                "principal": r[MAIN_KEY],
                "others": [c for c in r[OTHER_KEY].split(";") if c],
                "case_id": ("FLAT" if i < n_flat else "VAR") + r[ID_KEY],
                "origin": "original",
                "round": None,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def small_config(tiny: Path, train_file: Path, out: Path, **kw) -> GRPORunConfig:  # noqa: ANN003
    values = dict(
        model_path=str(tiny),
        train_file=str(train_file),
        output_dir=str(out),
        max_steps=3,
        train_batch_size=2,
        ppo_mini_batch_size=2,
        micro_batch_size=2,
        num_generations=2,
        max_completion_length=12,
        learning_rate=1e-3,
        calibration_window=1,
        extra_reward=EXTRA,
        metrics_file=str(out.parent / "metrics.jsonl"),
    )
    values.update(kw)
    return GRPORunConfig(**values)
