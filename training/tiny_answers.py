"""Teaching the tiny offline Qwen2 to answer (`sradit model tiny --answers`), through the project's own SFT path.

No pretrained LLM can be downloaded here, so without this the LLM paths (K-fold learners, ensembles, filters,
TCECP) would only ever parse random text. :func:`teach_answers` fine-tunes a built tiny model with TRL
(:func:`training.sft.run_sft`, ``configs/cpu/sft-tiny.yaml`` plus the overrides below) on both sub-task prompts
of synthetic records (:func:`pipeline.demo.synthetic.generate_records`), answering label-space names in the
think/answer form with an empty think block (no made-up reasoning). The records come from other seeds than
the demo database's (seed 0), so the demo records stay held out. The folder is replaced atomically: trained
into a temporary folder beside it, then renamed into place.

Why these settings (measured on 2 cores; docs/testing.md, "The tiny offline Qwen2"):

- The principal answer is one token of ~15 completion tokens. At batch 4–8 the model learns the answer form
  (~60 steps) and then sits on the loss floor of ignoring the record (log 5 / 15 ≈ 0.107 a token): every
  held-out record gets the same principal. A batch of 16 averages the one informative token over enough
  records for the gradient to point at the record's content; the loss then falls below the floor.
- Two key/value heads instead of one (:data:`ANSWERING_SHAPE`): the same positions must read the recent
  tokens (to write ``<think>…<answer>``) and the whole record (to choose the disease); one shared key/value
  head serves both poorly. Head size stays 64 (vLLM's CPU attention), everything else as the random model.
- Principal rows outnumber other rows 3 : 1: the other answer is long and hard for this model, and its noisy
  gradient would otherwise drown the principal signal (measured: 1 : 1 gives one constant principal answer).
- Other answers list names in label-space order, so a 2-layer model without a sense of position is less
  likely to repeat a name.
- The tokenizer (:mod:`training.tiny_model`) is what makes 160 steps cheap and the recipe hold across seeds:
  trained behind the split transformers loads it with and on the prompts' own wording, a teaching prompt is
  about 550 tokens instead of 950 (a step 0.45 s instead of 0.97 s), and the answer form's tags are one token
  each (split into ``</`` ``think`` ``>``, seed 1 answered ``<think>\n</answer>`` for 56 of 60 records).
  Measured for seeds 0, 1, 2: builds of 76–80 s, held-out principal accuracy 0.80–1.00, every answer parsed
  (bench/bench_tiny_answers.py).

What it is and is not: the answers parse and carry some signal (:func:`measure` reports held-out principal
accuracy against always answering the most common class). A model of width 128 is a stand-in, not a coder:
its scores say nothing about real models.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from db.vocabulary import PAIR_SUBTASKS
from pipeline.demo.synthetic import generate_records
from pipeline.domain.label_space import OTHER
from pipeline.domain.prompts import sft_conversation
from pipeline.domain.records import MAIN_KEY, OTHER_KEY

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cpu" / "sft-tiny.yaml"
#: Seeds of the teaching records: never 0, the demo database's seed (its records stay held out).
TEACHING_SEEDS = (1, 2, 3, 4)
#: One other-task row for every this many records (each record gives a principal row).
OTHER_EVERY = 3
#: build_tiny_model keyword arguments of the model that is taught (see the module docstring).
ANSWERING_SHAPE: dict[str, int] = {"num_key_value_heads": 2}
#: SFT settings of the teaching on top of configs/cpu/sft-tiny.yaml (see the module docstring).
TEACHING: dict[str, Any] = {
    "batch_size": 16,
    "per_device_train_batch_size": 16,
    "learning_rate": 3e-3,
    "lr_scheduler_type": "constant",
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
    "neftune_noise_alpha": None,
    "max_steps": 160,
    "logging_steps": 20,
    "eval_file": None,
    "use_cpu": True,
}
MARKER = "sradit-answers.json"

_OTHER_ORDER = {code: i for i, code in enumerate(OTHER)}


def teaching_rows(seeds: Sequence[int] = TEACHING_SEEDS, other_every: int = OTHER_EVERY) -> list[dict[str, Any]]:
    """trl-sft rows: a principal row for every labelled record of ``seeds``, an other row for every
    ``other_every``-th one; targets are ``<think>\\n</think>\\n<answer>names</answer>``."""
    rows: list[dict[str, Any]] = []
    records = [r for s in seeds for r in generate_records(60, 0, seed=s) if MAIN_KEY in r]
    for i, rec in enumerate(records):
        others = sorted((c for c in rec[OTHER_KEY].split(";") if c), key=lambda c: _OTHER_ORDER.get(c, len(OTHER)))
        tasks = PAIR_SUBTASKS if i % other_every == 0 else ("principal",)
        for task in tasks:
            # think=None: an empty think block (target_completion writes no placeholder reasoning)
            messages = sft_conversation(task, rec, rec[MAIN_KEY], others, None)
            rows.append({"messages": messages, "task": task, "case_id": f"teach{i}"})
    return rows


def teach_answers(
    model_dir: str | Path,
    *,
    steps: int | None = None,
    seeds: Sequence[int] = TEACHING_SEEDS,
    seed: int = 0,
    config: str | Path = CONFIG,
    log: Callable[[str], None] = print,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune the tiny model in ``model_dir`` to answer both prompts (in place, atomically).

    ``steps`` overrides the teaching's 160 optimizer steps. Seeded: the same model, seeds and ``seed`` give the
    same weights on the same machine. Returns ``steps``, ``seconds``, ``final_loss`` (the last logged loss),
    ``train_loss`` (TRL's mean over the run), ``rows`` and ``seeds``; the same summary is written to
    ``model_dir/sradit-answers.json``.
    """
    from training.sft import run_sft
    from training.tiny_model import _move_into_place
    from training.train_entry import load_config

    model_dir = Path(model_dir).expanduser().resolve()
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} holds no model (build it with build_tiny_model first)")
    work = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.teach-", dir=model_dir.parent))
    try:
        rows = teaching_rows(seeds)
        train_file = work / "rows.jsonl"
        train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        values = {**TEACHING, **({"max_steps": steps} if steps else {})}
        cfg = replace(
            load_config("sft", config),
            **values,
            model_path=str(model_dir),
            train_file=str(train_file),
            output_dir=str(work / "model"),
            metrics_file=str(work / "metrics.jsonl"),
            seed=seed,
        )
        log(f"teaching {model_dir} to answer: {len(rows)} rows, {cfg.max_steps} steps of batch {cfg.batch_size}")
        losses: list[float] = []
        start = time.perf_counter()
        result = run_sft(
            cfg, on_metric=lambda m: losses.append(m["loss"]) if "loss" in m else None, on_progress=on_progress
        )
        seconds = time.perf_counter() - start
        out = work / "model"
        (out / "training_args.bin").unlink(missing_ok=True)  # a model folder, not a checkpoint
        # Training leaves the tokenizer as it was, but TRL's save drops the chat template from
        # tokenizer_config.json (transformers 5 keeps it only in chat_template.jinja): keep the built files.
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            if (model_dir / name).is_file():
                shutil.copy2(model_dir / name, out / name)
        summary = {
            "steps": result["global_step"],
            "seconds": round(seconds, 1),
            "final_loss": losses[-1] if losses else None,
            "train_loss": result["train_loss"],
            "rows": len(rows),
            "seeds": list(seeds),
            "seed": seed,
        }
        (out / MARKER).write_text(json.dumps(summary) + "\n", encoding="utf-8")
        _move_into_place(out, model_dir)  # the old folder goes only once the new one is complete
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"taught in {seconds:.0f} s, last logged loss {summary['final_loss']}")
    return summary


def build_answering_model(
    out_dir: str | Path, *, seed: int = 0, steps: int | None = None, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """``sradit model tiny --out DIR --answers``: build the tiny model in its answering shape, then teach it."""
    from training.tiny_model import build_tiny_model

    path = build_tiny_model(out_dir, seed=seed, **ANSWERING_SHAPE)
    return {"path": str(path), **teach_answers(path, steps=steps, seed=seed, log=log)}


def measure(model_dir: str | Path, records: Sequence[Mapping[str, str]], max_tokens: int = 96) -> dict[str, Any]:
    """Held-out figures of a taught model (greedy, both prompts): parsed answers, distinct principal answers,
    principal accuracy and the share of the most common gold class (what always answering it would score)."""
    from pipeline.domain.metric import set_f1
    from training.engines.transformers_engine import TransformersGenerator
    from training.predictors import LLMPredictor

    predictor = LLMPredictor(TransformersGenerator(str(model_dir), batch_size=8), max_tokens=max_tokens)
    preds = predictor.predict(list(records))
    gold = [r[MAIN_KEY] for r in records]
    answers = Counter(p.principal for p in preds if p.principal is not None)
    pairs = zip(records, preds, strict=True)
    f1 = [set_f1([c for c in r[OTHER_KEY].split(";") if c], list(p.others)) for r, p in pairs]
    return {
        "records": len(records),
        "parsed": sum(p.principal is not None for p in preds),
        "others_parsed": sum(bool(p.others) for p in preds),
        "distinct_principal": len(answers),
        "principal_accuracy": sum(p.principal == g for p, g in zip(preds, gold, strict=True)) / len(records),
        "majority_share": Counter(gold).most_common(1)[0][1] / len(records),
        "other_f1": sum(f1) / len(f1),
        "answers": dict(answers),
    }
