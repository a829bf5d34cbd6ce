"""GRPO with TRL's GRPOTrainer (paper table 2; docs/method.md, "GRPO").

Reads the project's trl-grpo export (``prompt`` = system + user turns, ``task``, gold ``principal`` and
``others``, ``case_id``…) and rewards completions with :mod:`training.rewards`: the task reward
(principal: 0.1 format + 0.9 exact; other: 0.1 format + 0.9 F1) plus the overlong shaping of eq. 3
(both summed with weight 1), plus an optional ``extra_reward`` ("module:function"). ``reward: hierarchical``
gives partial credit by the ICD hierarchy instead of the exact match (off by default).

Mapping of the paper's verl settings (table 2) onto TRL 1.16
-------------------------------------------------------------
- train batch 64 (prompts per rollout) × group size 6 → TRL's generation batch of 384 completions:
  ``steps_per_generation = 64·6 / (micro-batch · processes)``.
- PPO mini-batch 16 (prompts per optimizer step) → ``gradient_accumulation_steps = 16·6 / (micro ·
  processes)``, so one rollout batch gives 4 optimizer steps (TRL then keeps the old log-probs for the
  importance ratio, as verl does).
- micro-batch 2 per GPU → ``per_device_train_batch_size = 2``; 1 PPO epoch → ``num_iterations = 1``.
- token-level loss (eq. 4) → ``loss_type="dapo"`` (TRL 1.16's default): the clipped surrogate summed over
  every completion token of the accumulated batch and divided by that batch's number of active tokens
  (``num_items_in_batch``).
- max prompt 6350 tokens: TRL 1.16 has no ``max_prompt_length`` any more, so longer prompts are dropped
  from the data set before training (verl's ``filter_overlong_prompts``), and counted.
- max response 1500 → ``max_completion_length``. Settings the table does not give follow verl's actor
  defaults: constant learning rate without warm-up, weight decay 0.01, no KL term (``beta = 0``).

Dynamic difficulty calibration
------------------------------
The trainer is :mod:`training.grpo_refill`'s ``CalibratedGRPOTrainer`` (TRL's GRPOTrainer that discards
zero-spread groups once the batch reward is stable, refilling the batch from fresh prompts where it can
and masking the rest); :mod:`training.calibration` decides when and which groups. This module holds the
run configuration and sets the run up: data, rewards, TRL arguments, training, saving, evaluation.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.domain.vocabulary import INFERENCE_MODES
from pipeline.errors import InputError
from training.grpo_refill import make_calibrated_trainer_class
from training.rewards import OverlongPenalty, hierarchical_task_reward, task_reward
from training.sft import (
    MetricSink,
    ProgressSink,
    check_common,
    cuda_available,
    evaluate_after_training,
    lora_config,
    read_jsonl,
    resolve_attn,
    resolve_bf16,
    resolve_use_cpu,
    save_final_model,
    world_size,
)

GRPO_COLUMNS = ("prompt", "task", "principal", "others", "case_id")
#: The outcome rewards a run may choose (its ``reward`` setting); the paper's is the default.
OUTCOME_REWARDS = {"paper": task_reward, "hierarchical": hierarchical_task_reward}


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class GRPORunConfig:
    """One GRPO run. Defaults are the paper's table 2 (verl, FSDP, vLLM rollouts); see the module doc."""

    model_path: str = field(default="", metadata=_help("Folder of the policy to start from (the SFT model)."))
    train_file: str = field(default="", metadata=_help("trl-grpo JSONL export (prompt, task, principal, others)."))
    output_dir: str = field(default="var/models/grpo", metadata=_help("Where the trained model is saved."))
    tasks: list[str] | None = field(
        default=None, metadata=_help("Keep only rows of these tasks (principal / other); None keeps both.")
    )
    # --- paper, table 2
    train_batch_size: int = field(
        default=64, metadata=_help("Prompts per rollout batch (paper: 64); each gets num_generations completions.")
    )
    ppo_mini_batch_size: int = field(
        default=16, metadata=_help("Prompts per optimizer step (paper: 16): gradient accumulation is derived.")
    )
    micro_batch_size: int = field(
        default=2, metadata=_help("Completions per forward/backward pass per device (paper: 2 per GPU).")
    )
    num_iterations: int = field(default=1, metadata=_help("PPO epochs over each rollout batch (paper: 1)."))
    learning_rate: float = field(default=5e-7, metadata=_help("Actor learning rate (paper: 5e-7)."))
    num_generations: int = field(default=6, metadata=_help("Group size: completions per prompt (paper: 6)."))
    max_prompt_length: int = field(
        default=6350, metadata=_help("Longest prompt in tokens (paper: 6350); longer rows are dropped.")
    )
    max_completion_length: int = field(default=1500, metadata=_help("Longest completion in tokens (paper: 1500)."))
    loss_type: str = field(
        default="dapo",
        metadata=_help(
            "TRL loss aggregation. 'dapo' is the token-level loss of eq. 4: summed over all completion tokens "
            "of the accumulated batch, divided by their number."
        ),
    )
    l_max: int = field(default=7000, metadata=_help("Overlong shaping (eq. 3): penalty −1 from L_max tokens on."))
    l_cache: int = field(
        default=6500, metadata=_help("Overlong shaping (eq. 3): the penalty ramps over the last L_cache tokens.")
    )
    calibration: bool = field(default=True, metadata=_help("Dynamic difficulty calibration on or off."))
    calibration_window: int = field(
        default=5, metadata=_help("Generation steps over which the batch reward must be stable (paper: 5).")
    )
    calibration_tolerance: float = field(
        default=0.02, metadata=_help("Relative movement of the batch reward counted as stable (paper: 2 %).")
    )
    refill: bool = field(
        default=True, metadata=_help("Replace discarded zero-spread groups with informative groups from new prompts.")
    )
    refill_max_rounds: int = field(default=1, metadata=_help("Extra generation rounds per step spent on refilling."))
    temperature: float = field(default=1.0, metadata=_help("Sampling temperature of the rollouts (verl's 1.0)."))
    beta: float = field(default=0.0, metadata=_help("KL coefficient against the reference model (0: none)."))
    weight_decay: float = field(default=0.01, metadata=_help("AdamW weight decay (verl actor default 0.01)."))
    lr_scheduler_type: str = field(default="constant", metadata=_help("Learning-rate schedule (verl: constant)."))
    warmup_ratio: float = field(default=0.0, metadata=_help("Share of steps spent warming up (verl: 0)."))
    num_train_epochs: float = field(default=1.0, metadata=_help("Passes over the prompts."))
    reward_weights: list[float] | None = field(
        default=None, metadata=_help("Weights of [task, overlong, extra…] rewards; None: all 1 (a plain sum).")
    )
    # --- engines and precision
    use_vllm: bool | None = field(
        default=None,
        metadata=_help(
            "vLLM rollouts (paper: yes). None: on where a GPU and vllm are present. TRL's weight sync does "
            "not work with CPU vLLM, so True without a GPU is refused."
        ),
    )
    vllm_mode: str = field(default="colocate", metadata=_help("TRL vLLM mode: colocate or server."))
    vllm_gpu_memory_utilization: float = field(default=0.3, metadata=_help("vLLM share of GPU memory (colocate)."))
    vllm_tensor_parallel_size: int = field(default=1, metadata=_help("vLLM tensor parallel size (colocate)."))
    bf16: bool | None = field(default=None, metadata=_help("bf16; None: where the GPU supports it, off on CPU."))
    attn_implementation: str | None = field(
        default=None, metadata=_help("Attention kernel; None: flash_attention_2 on GPU with flash-attn, else sdpa.")
    )
    gradient_checkpointing: bool = field(default=False, metadata=_help("Recompute activations in backward."))
    # --- LoRA (the paper trains every weight)
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
    logging_steps: int = field(default=1, metadata=_help("Log (and write a metrics line) every N optimizer steps."))
    save_steps: int = field(default=0, metadata=_help("Checkpoint every N steps; 0: only the final model."))
    metrics_file: str | None = field(default=None, metadata=_help("JSONL file for the training metrics."))
    use_cpu: bool | None = field(default=None, metadata=_help("Train on CPU; None: when no GPU is present."))
    log_completions: bool = field(default=False, metadata=_help("Print sample completions at each log."))
    reward: str = field(
        default="paper",
        metadata=_help(
            "The outcome reward: 'paper' (exact principal code, set F1 of the other codes) or 'hierarchical' "
            "(partial credit: the same code 1, its category 0.5, its chapter 0.25; training/rewards.py)."
        ),
    )
    extra_reward: str | None = field(
        default=None,
        metadata=_help(
            "An additional reward, 'module:function' (a callable, or a class built without arguments); it gets "
            "the columns prompt, task, principal, others and case_id."
        ),
    )
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

    def batch_plan(self, processes: int | None = None) -> dict[str, int]:
        """TRL batch arguments for this many processes (see the module docstring)."""
        n = processes or world_size()
        g, micro = self.num_generations, self.micro_batch_size
        problems = []
        if self.train_batch_size % self.ppo_mini_batch_size:
            problems.append(
                f"train_batch_size {self.train_batch_size} is not a multiple of ppo_mini_batch_size "
                f"{self.ppo_mini_batch_size}"
            )
        if (self.ppo_mini_batch_size * g) % (micro * n):
            problems.append(
                f"ppo_mini_batch_size × num_generations ({self.ppo_mini_batch_size * g}) is not a "
                f"multiple of micro_batch_size × processes ({micro * n})"
            )
        if problems:
            raise InputError("invalid GRPO batch sizes: " + "; ".join(problems), problems)
        return {
            "per_device_train_batch_size": micro,
            "gradient_accumulation_steps": self.ppo_mini_batch_size * g // (micro * n),
            "steps_per_generation": self.train_batch_size * g // (micro * n),
        }

    def validate(self) -> None:
        check_common(self)
        if self.num_generations < 2:
            raise InputError("num_generations must be at least 2 (GRPO compares completions within a group)")
        if self.inference not in INFERENCE_MODES:
            raise InputError(f"inference {self.inference!r} is not one of {', '.join(INFERENCE_MODES)}")
        if self.reward not in OUTCOME_REWARDS:
            raise InputError(f"reward {self.reward!r} is not one of {', '.join(OUTCOME_REWARDS)}")
        self.batch_plan()


# --------------------------------------------------------------------------------------------------
# data, rewards, run


def grpo_rows(rows: Sequence[dict[str, Any]], tasks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """trl-grpo rows → the columns the trainer and the rewards read (see GRPO_COLUMNS)."""
    out = []
    for i, row in enumerate(rows, 1):
        task = row.get("task")
        if tasks and task not in tasks:
            continue
        if task not in ("principal", "other", "multi"):
            raise InputError(f"row {i}: task {task!r} is not principal, other or multi")
        prompt = row.get("prompt")
        if not isinstance(prompt, list) or not prompt:
            raise InputError(f"row {i}: `prompt` must be a non-empty list of chat turns")
        others = row.get("others") or []
        if isinstance(others, str):
            others = [c for c in others.replace("；", ";").split(";") if c.strip()]
        out.append(
            {
                "prompt": [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in prompt],
                "task": task,
                "principal": str(row.get("principal") or ""),
                "others": [str(c).strip() for c in others],
                "case_id": str(row.get("case_id") or f"row{i}"),
            }
        )
    return out


def drop_long_prompts(rows: list[dict[str, Any]], tokenizer: Any, max_prompt_length: int) -> tuple[list[dict], int]:
    kept = []
    for row in rows:
        ids = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True)
        if len(ids["input_ids"]) <= max_prompt_length:
            kept.append(row)
    return kept, len(rows) - len(kept)


def load_reward(spec: str) -> Callable[..., list[float]]:
    """``"module:function"`` → the callable (a class is instantiated without arguments)."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise InputError(f"extra_reward {spec!r} must be 'module:function'")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise InputError(f"extra_reward {spec!r} cannot be loaded: {e}") from None
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise InputError(f"extra_reward {spec!r} is not callable")
    return obj


def reward_functions(cfg: GRPORunConfig) -> list[Callable[..., list[float]]]:
    funcs: list[Callable[..., list[float]]] = [OUTCOME_REWARDS[cfg.reward], OverlongPenalty(cfg.l_max, cfg.l_cache)]
    if cfg.extra_reward:
        funcs.append(load_reward(cfg.extra_reward))
    return funcs


def resolve_use_vllm(value: bool | None) -> bool:
    if value is None:
        return cuda_available() and importlib.util.find_spec("vllm") is not None
    if value and not cuda_available():
        raise InputError("use_vllm needs a GPU: TRL's weight sync does not work with CPU vLLM (docs/vllm-cpu.md)")
    return bool(value)


def build_trainer(cfg: GRPORunConfig, callbacks: Sequence[Any] = ()):  # -> CalibratedGRPOTrainer
    """The calibrated trainer for ``cfg``, with its data set loaded (no training yet)."""
    cfg.validate()
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig

    from training.trl_cpu import score_labelled_positions_on_cpu

    score_labelled_positions_on_cpu()
    tokenizer = AutoTokenizer.from_pretrained(cfg.model_path, local_files_only=True, padding_side="left")
    rows = grpo_rows(read_jsonl(cfg.train_file), cfg.tasks)
    rows, dropped = drop_long_prompts(rows, tokenizer, cfg.max_prompt_length)
    if not rows:
        raise InputError(f"{cfg.train_file}: no usable rows (tasks={cfg.tasks}, {dropped} prompts too long)")
    dataset = Dataset.from_list(rows)
    plan = cfg.batch_plan()
    bf16 = resolve_bf16(cfg.bf16)
    use_vllm = resolve_use_vllm(cfg.use_vllm)
    funcs = reward_functions(cfg)
    args = GRPOConfig(
        output_dir=cfg.output_dir,
        **plan,
        num_generations=cfg.num_generations,
        num_iterations=cfg.num_iterations,
        max_completion_length=cfg.max_completion_length,
        learning_rate=cfg.learning_rate,
        loss_type=cfg.loss_type,
        temperature=cfg.temperature,
        beta=cfg.beta,
        weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        reward_weights=cfg.reward_weights,
        use_vllm=use_vllm,
        vllm_mode=cfg.vllm_mode,
        vllm_gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
        vllm_tensor_parallel_size=cfg.vllm_tensor_parallel_size,
        bf16=bf16,
        gradient_checkpointing=cfg.gradient_checkpointing,
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if cfg.save_steps > 0 else "no",
        save_steps=cfg.save_steps if cfg.save_steps > 0 else 500,
        seed=cfg.seed,
        report_to=[],
        use_cpu=resolve_use_cpu(cfg.use_cpu),
        log_completions=cfg.log_completions,
        model_init_kwargs={
            "dtype": "bfloat16" if bf16 else "float32",
            "attn_implementation": resolve_attn(cfg.attn_implementation),
        },
        disable_tqdm=True,
    )
    trainer_cls = make_calibrated_trainer_class()
    trainer = trainer_cls(
        model=cfg.model_path,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora_config(cfg),
        callbacks=list(callbacks),
        calibration=cfg.calibration,
        calibration_window=cfg.calibration_window,
        calibration_tolerance=cfg.calibration_tolerance,
        refill=cfg.refill,
        refill_max_rounds=cfg.refill_max_rounds,
    )
    trainer.sradit_info = {"train_rows": len(rows), "dropped_long_prompts": dropped, **plan, "use_vllm": use_vllm}
    return trainer


def run_grpo(
    cfg: GRPORunConfig, on_metric: MetricSink | None = None, on_progress: ProgressSink | None = None
) -> dict[str, Any]:
    """Train with the calibrated GRPOTrainer, save to ``cfg.output_dir``, evaluate on ``cfg.eval_file`` if set."""
    from training.trainer_metrics import MetricsCallback

    callback = MetricsCallback(cfg.metrics_file, on_metric, on_progress, extra={"kind": "grpo"})
    trainer = build_trainer(cfg, callbacks=[callback])
    info = trainer.sradit_info
    if info["dropped_long_prompts"]:
        callback.emit({"step": 0, "dropped_long_prompts": info["dropped_long_prompts"], "rows": info["train_rows"]})
    train_out = trainer.train()
    out_dir = save_final_model(trainer, cfg)
    history = trainer.calibration_history
    result: dict[str, Any] = {
        "kind": "grpo",
        "output_dir": str(out_dir),
        "global_step": trainer.state.global_step,
        "train_loss": train_out.training_loss,
        **info,
        "calibration_stable": trainer.stability.stable,
        "dropped_groups": sum(r["dropped_groups"] for r in history),
        "refilled_groups": sum(r["refilled_groups"] for r in history),
        "masked_groups": sum(r["masked_groups"] for r in history),
    }
    if trainer.accelerator.is_main_process:
        result.update(learning_evidence(cfg.model_path, out_dir, trainer.state.log_history))
    return evaluate_after_training(cfg, trainer, callback, out_dir, result)


def learning_evidence(parent: str | Path, out: str | Path, log_history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Did the run learn? Not when TRL's own signal says no update had a direction — every step's groups all had
    zero reward spread (``frac_reward_zero_std`` 1: no advantage) and every ``grad_norm`` was 0 — nor when the
    weights of ``out`` equal ``parent``'s, tensor by tensor (never judged from checksums of files). Weight decay
    alone moves weights without any signal, hence both.

    ``learned`` is None when neither can be told (no logged step, no tensor name in common)."""
    from training.models.weights import tensor_changes

    changes = tensor_changes(parent, out)
    steps = [line for line in log_history if "frac_reward_zero_std" in line]
    zero_std = sum(float(x["frac_reward_zero_std"]) for x in steps) / len(steps) if steps else None
    grad = max((float(x.get("grad_norm") or 0.0) for x in steps), default=None)
    no_signal = zero_std is not None and zero_std >= 0.999 and not grad
    if no_signal or (changes.total and not changes.moved):
        learned: bool | None = False
    else:
        learned = True if changes.total else None
    evidence: dict[str, Any] = {
        "learned": learned,
        "tensors_changed": len(changes.changed),
        "tensors_total": changes.total,
        "frac_reward_zero_std": round(zero_std, 3) if zero_std is not None else None,
        "max_grad_norm": grad,
    }
    if learned is False:
        why = "every group had identical rewards" if no_signal else "its updates left every weight as it was"
        shown = "n/a" if zero_std is None else f"{zero_std:.2f}"
        evidence["no_learning"] = (
            f"no learning signal: {why} (frac_reward_zero_std {shown}, largest grad_norm {grad}; "
            f"{changes.summary()} from its parent)"
        )
    return evidence


__all__ = [
    "GRPORunConfig",
    "run_grpo",
    "build_trainer",
    "grpo_rows",
    "reward_functions",
]
