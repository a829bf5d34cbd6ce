"""Supervised fine-tuning with TRL's SFTTrainer (paper table 1; docs/method.md, "SFT").

Reads the project's trl-sft export (one JSON line per sample: ``messages`` = system, user, assistant,
plus ``task`` / ``case_id`` / provenance) and trains on the assistant's answer only.

Loss masking — a documented choice: TRL 1.16's ``assistant_only_loss`` needs a chat template with
``{% generation %}`` markers, and TRL patches only the templates it ships (qwen2_5, qwen3…); the tiny
offline model's ChatML template is not among them (TRL raises "patching is not supported"). So every
row is turned into TRL's conversational *prompt-completion* form — prompt = every message before the
last assistant turn, completion = that turn — and TRL's ``completion_only_loss`` (on by default for
this form) masks the prompt. For the project's single-turn samples this is exactly assistant-only loss,
with any chat template, and the completion ends with the template's end-of-turn token, so the model
learns to stop. (An earlier assistant turn in a multi-turn row would be context, not target.)

Rows longer than ``max_length`` tokens are dropped, not truncated (truncation would cut the answer
off); their number is logged and returned.

The shared pieces of both trainers (device defaults, LoRA, reading JSONL, the evaluation after
training) live here too; :mod:`training.grpo` imports them.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.domain.vocabulary import INFERENCE_MODES, SCORE_METRICS
from pipeline.errors import InputError

MetricSink = Callable[[dict[str, Any]], None]
ProgressSink = Callable[[int, int], None]
_EVAL_MAX_BYTES = 2 * 1024**3


def _help(text: str) -> dict[str, str]:
    return {"help": text}


# --------------------------------------------------------------------------------------------------
# shared helpers (SFT and GRPO)


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve_bf16(value: bool | None) -> bool:
    """None → bf16 where the GPU supports it, never on CPU."""
    if value is not None:
        return bool(value)
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def resolve_attn(value: str | None) -> str:
    """None → flash_attention_2 on a GPU with flash-attn installed, else sdpa."""
    if value:
        return value
    if cuda_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def resolve_use_cpu(value: bool | None) -> bool:
    return (not cuda_available()) if value is None else bool(value)


def world_size() -> int:
    """Processes of this run (``accelerate launch`` / torchrun set WORLD_SIZE)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file; a bad line is an InputError naming the file and line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    rows: list[dict[str, Any]] = []
    with p.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{p}: invalid JSON at line {line_no}, column {e.colno}: {e.msg}") from None
            if not isinstance(row, dict):
                raise InputError(f"{p}: line {line_no}: expected an object, found {type(row).__name__}")
            rows.append(row)
    if not rows:
        raise InputError(f"{p}: no rows")
    return rows


def lora_config(cfg: Any):  # -> peft.LoraConfig | None
    if not cfg.lora:
        return None
    from peft import LoraConfig

    targets = cfg.lora_target_modules
    if isinstance(targets, str) and targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    return LoraConfig(
        task_type="CAUSAL_LM",
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=targets,
    )


def save_final_model(trainer: Any, cfg: Any) -> Path:
    """Save the trained model (and tokenizer) to ``cfg.output_dir``.

    With LoRA the adapter goes to ``output_dir/adapter`` and the merged full model to ``output_dir``, so
    every engine (transformers, vLLM) loads ``output_dir`` as a plain causal LM.
    """
    out = Path(cfg.output_dir)
    if not cfg.lora:
        trainer.save_model(str(out))
        return out
    adapter_dir = out / "adapter"
    trainer.save_model(str(adapter_dir))
    trainer.accelerator.wait_for_everyone()
    if trainer.accelerator.is_main_process:
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(cfg.model_path, local_files_only=True, dtype="auto")
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
        merged.save_pretrained(str(out), safe_serialization=True)
        trainer.processing_class.save_pretrained(str(out))
    trainer.accelerator.wait_for_everyone()
    return out


def evaluate_model(
    model_dir: str | Path,
    eval_file: str | Path,
    *,
    inference: str = "greedy",
    max_tokens: int = 1500,
    seed: int = 0,
    batch_size: int = 4,
    progress: ProgressSink | None = None,
    metric: str = "f1",
) -> dict[str, Any]:
    """Score a saved model on labelled records (competition JSON / JSONL / CSV / xlsx).

    The paper's two prompts through :class:`training.predictors.LLMPredictor` on a transformers engine,
    greedy or TCECP; returns the competition score ×100, principal accuracy and other-F1.
    """
    from pipeline.domain.metric import score
    from pipeline.domain.records import ID_KEY
    from pipeline.ingest.readers import read_rows
    from pipeline.ingest.submission import read_gold
    from training.engines.transformers_engine import TransformersGenerator
    from training.predictors import LLMPredictor

    if inference not in INFERENCE_MODES:
        raise InputError(f"inference {inference!r} is not one of {', '.join(INFERENCE_MODES)}")
    path = Path(eval_file)
    gold = read_gold(path, _EVAL_MAX_BYTES)
    records: list[dict[str, str]] = []
    for row in read_rows(path, _EVAL_MAX_BYTES):
        rid = str(row.get(ID_KEY, "")).strip()
        if rid in gold:
            records.append({str(k): "" if v is None else str(v) for k, v in row.items()})
    generator = TransformersGenerator(str(model_dir), batch_size=batch_size)
    predictor = LLMPredictor(generator, inference=inference, max_tokens=max_tokens, seed=seed)
    preds = predictor.predict(records, progress=progress)
    labels = {str(r[ID_KEY]).strip(): (p.principal, list(p.others)) for r, p in zip(records, preds, strict=True)}
    report = score(gold, labels, metric)
    return {
        "score": report.score,
        "metric": report.metric,
        "principal_accuracy": report.principal_accuracy,
        "other_f1": report.other_f1,
        "other_recall": report.other_recall,
        "n_eval_records": report.n_records,
        "inference": inference,
    }


def config_dict(cfg: Any) -> dict[str, Any]:
    return {f.name: getattr(cfg, f.name) for f in fields(cfg)}


def check_common(cfg: Any) -> None:
    problems = []
    if not cfg.model_path:
        problems.append("model_path is required")
    elif not Path(cfg.model_path).is_dir():
        problems.append(f"model_path {cfg.model_path!r} is not a folder")
    if not cfg.train_file:
        problems.append("train_file is required")
    elif not Path(cfg.train_file).is_file():
        problems.append(f"train_file {cfg.train_file!r} does not exist")
    if cfg.eval_file and not Path(cfg.eval_file).is_file():
        problems.append(f"eval_file {cfg.eval_file!r} does not exist")
    if cfg.inference not in INFERENCE_MODES:
        problems.append(f"inference {cfg.inference!r} is not one of {', '.join(INFERENCE_MODES)}")
    if cfg.eval_metric not in SCORE_METRICS:
        problems.append(f"eval_metric {cfg.eval_metric!r} is not one of {', '.join(SCORE_METRICS)}")
    if problems:
        raise InputError("invalid training configuration: " + "; ".join(problems), problems)
    if cfg.eval_file and not cfg.allow_in_sample:
        overlap = eval_overlap(cfg.train_file, cfg.eval_file)
        if overlap:
            raise InputError(
                f"eval_file {cfg.eval_file} shares {len(overlap)} records with the training data "
                f"(originals or variants of them: {', '.join(overlap[:5])}{' …' if len(overlap) > 5 else ''}); "
                "a held-out score needs records the model never saw. Set allow_in_sample to score them anyway "
                "(the result is then labelled in-sample)."
            )


def eval_overlap(train_file: str | Path, eval_file: str | Path) -> list[str]:
    """Ids of ``eval_file`` whose record, or a variant of it (``<id>#r<N>v<k>``), is in ``train_file``."""
    from pipeline.domain.records import ID_KEY
    from pipeline.ingest.readers import read_rows

    trained = {str(row.get("case_id", "")).split("#")[0] for row in read_jsonl(train_file)}
    ids = {str(row.get(ID_KEY, "")).strip().split("#")[0] for row in read_rows(Path(eval_file), _EVAL_MAX_BYTES)}
    return sorted(ids & trained - {""})


# --------------------------------------------------------------------------------------------------
# SFT


@dataclass
class SFTRunConfig:
    """One SFT run. Defaults are the paper's table 1 (LLaMA-Factory, DeepSpeed ZeRO-3, full fine-tuning)."""

    model_path: str = field(default="", metadata=_help("Folder of the base model (and its tokenizer)."))
    train_file: str = field(default="", metadata=_help("trl-sft JSONL export: one `messages` conversation a line."))
    output_dir: str = field(default="var/models/sft", metadata=_help("Where the trained model is saved."))
    tasks: list[str] | None = field(
        default=None,
        metadata=_help(
            "Keep only rows of these tasks (principal / other / multi): sub-task SFT trains one model per "
            "sub-task. None keeps every row."
        ),
    )
    # --- paper, table 1
    batch_size: int = field(
        default=32,
        metadata=_help(
            "Total batch size (paper: 32) = per_device_train_batch_size × gradient accumulation × processes; "
            "the accumulation is derived from it."
        ),
    )
    per_device_train_batch_size: int = field(default=1, metadata=_help("Micro-batch per device."))
    learning_rate: float = field(default=5e-6, metadata=_help("Peak learning rate (paper: 5e-6)."))
    num_train_epochs: float = field(default=6.0, metadata=_help("Epochs (paper: 6)."))
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay (paper: 0.01)."))
    max_length: int = field(
        default=8400, metadata=_help("Longest sample in tokens (paper: 8400); longer rows are dropped.")
    )
    neftune_noise_alpha: float | None = field(
        default=5.0, metadata=_help("NEFTune noise alpha on the embeddings (paper: 5); None turns it off.")
    )
    warmup_ratio: float = field(default=0.1, metadata=_help("Share of the steps spent warming up (paper: 0.1)."))
    lr_scheduler_type: str = field(
        default="cosine", metadata=_help("Learning-rate schedule after warm-up (LLaMA-Factory's default, cosine).")
    )
    bf16: bool | None = field(
        default=None, metadata=_help("bf16 mixed precision; None: on where the GPU supports it, off on CPU.")
    )
    attn_implementation: str | None = field(
        default=None,
        metadata=_help(
            "Attention kernel (paper: FlashAttention 2). None: flash_attention_2 on a GPU with flash-attn "
            "installed, else sdpa."
        ),
    )
    gradient_checkpointing: bool = field(
        default=False, metadata=_help("Recompute activations in the backward pass (needed for 8k tokens on 7B).")
    )
    # --- LoRA (the paper fine-tunes fully)
    lora: bool = field(default=False, metadata=_help("Train a LoRA adapter (peft) instead of every weight."))
    lora_r: int = field(default=16, metadata=_help("LoRA rank."))
    lora_alpha: int = field(default=32, metadata=_help("LoRA alpha."))
    lora_dropout: float = field(default=0.05, metadata=_help("LoRA dropout."))
    lora_target_modules: str | list[str] = field(
        default="all-linear", metadata=_help("Modules that get adapters: 'all-linear' or a comma-separated list.")
    )
    # --- run
    max_steps: int = field(default=-1, metadata=_help("Stop after this many optimizer steps (tests); -1: epochs."))
    seed: int = field(default=0, metadata=_help("Random seed."))
    logging_steps: int = field(default=1, metadata=_help("Log (and write a metrics line) every N steps."))
    save_steps: int = field(default=0, metadata=_help("Checkpoint every N steps; 0: only the final model."))
    metrics_file: str | None = field(default=None, metadata=_help("JSONL file for the training metrics."))
    use_cpu: bool | None = field(default=None, metadata=_help("Train on CPU; None: when no GPU is present."))
    # --- evaluation after training
    eval_file: str | None = field(
        default=None, metadata=_help("Labelled records (competition format) scored after training.")
    )
    inference: str = field(default="greedy", metadata=_help("Evaluation decoding: greedy or tcecp."))
    eval_max_tokens: int = field(default=1500, metadata=_help("Tokens generated per answer in the evaluation."))
    eval_batch_size: int = field(default=4, metadata=_help("Prompts per generation batch in the evaluation."))
    eval_metric: str = field(default="f1", metadata=_help("f1 (the paper's) | recall (the task's formula)."))
    allow_in_sample: bool = field(
        default=False,
        metadata=_help(
            "Evaluate on records the model trained on (or variants of them); the score is then labelled in-sample. "
            "Off: such an eval_file is refused, naming the overlap."
        ),
    )

    def validate(self) -> None:
        check_common(self)
        if self.batch_size % self.per_device_train_batch_size:
            raise InputError(
                f"batch_size {self.batch_size} is not a multiple of per_device_train_batch_size "
                f"{self.per_device_train_batch_size}"
            )


def sft_rows(rows: Sequence[Mapping[str, Any]], tasks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """trl-sft rows → TRL conversational prompt-completion rows (see the module docstring)."""
    out = []
    for i, row in enumerate(rows, 1):
        if tasks and row.get("task") not in tasks:
            continue
        messages = row.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InputError(f"row {i}: `messages` must be a non-empty list of chat turns")
        last = max((j for j, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        if last is None or last == 0:
            raise InputError(f"row {i}: no assistant answer after a prompt in `messages`")
        clean = [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in messages[: last + 1]]
        out.append({"prompt": clean[:last], "completion": [clean[last]], "task": str(row.get("task") or "")})
    return out


def _drop_overlong_sft(rows: list[dict[str, Any]], tokenizer: Any, max_length: int) -> tuple[list[dict], int]:
    kept = []
    for row in rows:
        ids = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=True, return_dict=True)
        if len(ids["input_ids"]) <= max_length:
            kept.append(row)
    return kept, len(rows) - len(kept)


def build_sft_trainer(cfg: SFTRunConfig, callbacks: Sequence[Any] = ()):  # -> trl.SFTTrainer
    """The SFTTrainer for ``cfg``, with its data set loaded and tokenized (no training yet)."""
    cfg.validate()
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from training.trl_cpu import score_labelled_positions_on_cpu

    score_labelled_positions_on_cpu()
    tokenizer = AutoTokenizer.from_pretrained(cfg.model_path, local_files_only=True)
    rows = sft_rows(read_jsonl(cfg.train_file), cfg.tasks)
    rows, dropped = _drop_overlong_sft(rows, tokenizer, cfg.max_length)
    if not rows:
        raise InputError(f"{cfg.train_file}: no usable rows (tasks={cfg.tasks}, {dropped} longer than max_length)")
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])

    per_step = cfg.per_device_train_batch_size * world_size()
    if cfg.batch_size % per_step:
        raise InputError(
            f"batch_size {cfg.batch_size} is not a multiple of per_device_train_batch_size × processes ({per_step})"
        )
    grad_accum = cfg.batch_size // per_step
    bf16 = resolve_bf16(cfg.bf16)
    args = SFTConfig(
        output_dir=cfg.output_dir,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=grad_accum,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        weight_decay=cfg.weight_decay,
        max_length=cfg.max_length,
        neftune_noise_alpha=cfg.neftune_noise_alpha,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio of the total steps
        lr_scheduler_type=cfg.lr_scheduler_type,
        bf16=bf16,
        gradient_checkpointing=cfg.gradient_checkpointing,
        completion_only_loss=True,
        assistant_only_loss=False,
        packing=False,
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if cfg.save_steps > 0 else "no",
        save_steps=cfg.save_steps if cfg.save_steps > 0 else 500,
        seed=cfg.seed,
        report_to=[],
        use_cpu=resolve_use_cpu(cfg.use_cpu),
        model_init_kwargs={
            "dtype": "bfloat16" if bf16 else "float32",
            "attn_implementation": resolve_attn(cfg.attn_implementation),
        },
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=cfg.model_path,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=list(callbacks),
    )
    trainer.sradit_info = {
        "train_rows": len(rows),
        "dropped_overlong_rows": dropped,
        "gradient_accumulation_steps": grad_accum,
    }
    return trainer


def run_sft(
    cfg: SFTRunConfig, on_metric: MetricSink | None = None, on_progress: ProgressSink | None = None
) -> dict[str, Any]:
    """Train with TRL's SFTTrainer, save to ``cfg.output_dir``, evaluate on ``cfg.eval_file`` if set."""
    from training.trainer_metrics import MetricsCallback

    callback = MetricsCallback(cfg.metrics_file, on_metric, on_progress, extra={"kind": "sft"})
    trainer = build_sft_trainer(cfg, callbacks=[callback])
    info = trainer.sradit_info
    if info["dropped_overlong_rows"]:
        callback.emit({"step": 0, "dropped_overlong_rows": info["dropped_overlong_rows"], "rows": info["train_rows"]})
    train_out = trainer.train()
    out_dir = save_final_model(trainer, cfg)
    result: dict[str, Any] = {
        "kind": "sft",
        "output_dir": str(out_dir),
        "global_step": trainer.state.global_step,
        "train_loss": train_out.training_loss,
        **info,
    }
    return evaluate_after_training(cfg, trainer, callback, out_dir, result)


def evaluate_after_training(
    cfg: Any, trainer: Any, callback: Any, out_dir: Path, result: dict[str, Any]
) -> dict[str, Any]:
    """Score the saved model on ``cfg.eval_file`` (main process only), add it to ``result`` and the metrics."""
    if cfg.eval_file and trainer.accelerator.is_main_process:
        scores = evaluate_model(
            out_dir,
            cfg.eval_file,
            inference=cfg.inference,
            max_tokens=cfg.eval_max_tokens,
            seed=cfg.seed,
            batch_size=cfg.eval_batch_size,
            metric=cfg.eval_metric,
        )
        # check_common refused an overlapping eval_file unless allow_in_sample: say which one this is.
        scores["evaluation"] = "in-sample" if eval_overlap(cfg.train_file, cfg.eval_file) else "held-out"
        result.update(scores)
        callback.emit(
            {
                "step": trainer.state.global_step,
                **{f"eval/{k}": scores[k] for k in ("score", "principal_accuracy", "other_f1")},
            }
        )
    return result


__all__ = ["SFTRunConfig", "run_sft", "build_sft_trainer", "sft_rows", "evaluate_model", "evaluate_after_training"]
