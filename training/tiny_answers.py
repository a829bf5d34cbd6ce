"""Teaching the tiny offline Qwen2 to answer (`sradit model tiny --answers`), through the project's own SFT path.

No pretrained LLM can be downloaded here, so the LLM paths (K-fold learners, ensembles, filters, TCECP) would
otherwise only ever parse garbage. This fine-tunes the built tiny model with TRL (:func:`training.sft.run_sft`,
``configs/cpu/sft-tiny.yaml``) on both sub-task prompts of synthetic records, answering label-space names in the
think/answer form with an empty think block (no made-up reasoning). The records come from other seeds than
the demo database's (seed 0), so the demo records stay unseen by the base model. The folder is replaced
atomically: trained beside it, then renamed into place.

What it is and is not: the answers parse; whether they are right is measured and printed by
:func:`measure` (held-out principal accuracy against always answering the most common class). A 2-layer model
of width 128 reading ~1,000-token prompts is a stand-in, not a coder: its scores say nothing about real models.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.demo.synthetic import generate_records
from pipeline.domain.records import ID_KEY, MAIN_KEY

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cpu" / "sft-tiny.yaml"
#: Seeds of the teaching records: never 0, the demo database's seed.
TEACHING_SEEDS = (1, 2, 3, 4)
SUBTASKS = ("principal", "other")


def teaching_rows(seeds: Sequence[int] = TEACHING_SEEDS) -> list[dict[str, Any]]:
    """trl-sft rows of both sub-tasks for the labelled synthetic records of ``seeds``."""
    from training.models.learners import sft_training_rows

    records = [r for s in seeds for r in generate_records(60, 0, seed=s) if MAIN_KEY in r]
    for i, r in enumerate(records):  # ids of different seeds may collide; here an id is only provenance
        r[ID_KEY] = f"{r[ID_KEY]}@{i}"
    return [row for t in SUBTASKS for row in sft_training_rows(records, t)]


def teach_answers(
    model_dir: Path,
    *,
    steps: int = 150,
    seeds: Sequence[int] = TEACHING_SEEDS,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the tiny model in ``model_dir`` (in place, atomically); returns steps, seconds and loss."""
    from training.sft import run_sft
    from training.train_entry import load_config

    model_dir = Path(model_dir)
    work = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.teach.", dir=model_dir.parent))
    try:
        train_file = work / "rows.jsonl"
        rows = teaching_rows(seeds)
        train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        cfg = replace(
            load_config("sft", CONFIG),
            model_path=str(model_dir),
            train_file=str(train_file),
            output_dir=str(work / "model"),
            max_steps=steps,
            learning_rate=3e-3,  # from random weights: a high constant rate learns the answer form in ~100 steps
            logging_steps=25,
        )
        log(f"teaching {model_dir} to answer: {len(rows)} rows, {steps} steps")
        start = time.perf_counter()
        result = run_sft(cfg)
        seconds = time.perf_counter() - start
        old = work / "old"
        model_dir.rename(old)
        (work / "model").rename(model_dir)
        (model_dir / "sradit-answers.json").write_text(
            json.dumps({"steps": steps, "seeds": list(seeds), "rows": len(rows)}), encoding="utf-8"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"taught in {seconds:.0f} s, final train loss {result.get('train_loss', float('nan')):.3f}")
    return {"steps": steps, "seconds": round(seconds, 1), "train_loss": result.get("train_loss"), "rows": len(rows)}


def measure(model_dir: Path, records: Sequence[dict[str, str]], max_tokens: int = 96) -> dict[str, Any]:
    """Held-out figures of a taught model: parsed answers, distinct principal answers, principal accuracy and
    the share of the most common gold class (what always answering it would score)."""
    from training.engines.transformers_engine import TransformersGenerator
    from training.predictors import LLMPredictor

    predictor = LLMPredictor(TransformersGenerator(str(model_dir), batch_size=8), max_tokens=max_tokens)
    preds = predictor.predict(records)
    gold = [r[MAIN_KEY] for r in records]
    answers = Counter(p.principal for p in preds if p.principal is not None)
    return {
        "records": len(records),
        "parsed": sum(p.principal is not None for p in preds),
        "distinct_principal": len(answers),
        "principal_accuracy": sum(p.principal == g for p, g in zip(preds, gold, strict=True)) / len(records),
        "majority_share": Counter(gold).most_common(1)[0][1] / len(records),
        "answers": dict(answers),
    }
