"""The calibrated GRPOTrainer: the paper's dynamic difficulty calibration wired into TRL.

:mod:`training.calibration` decides *when* calibration is on and *which* groups have zero spread; this
module does the batch surgery on TRL's batch dict (mask, re-pad, replace rows) and holds the trainer
subclass that applies it. :mod:`training.grpo` builds the run around it.

Dynamic difficulty calibration
------------------------------
:class:`CalibratedGRPOTrainer` overrides ``_generate_and_score_completions`` — TRL's hook that turns a
generation batch into the tensors the loss reads (``completion_mask``, ``advantages``,
``num_items_in_batch``…) — and ``_calculate_rewards`` (to keep the gathered rewards). Each generation
step it feeds the batch's mean reward to :class:`training.calibration.RewardStability`; once stable,
every group whose rewards are all equal (zero spread) is discarded:

1. **refill** (when possible): ``refill_max_rounds`` times at most, as many fresh prompts as groups were
   discarded are drawn at random from the training set, generated and scored (one more call of TRL's
   own ``_generate_and_score_completions``), and their informative groups take the discarded groups'
   rows (tensors re-padded to the wider batch). Refilling needs every group on one process
   (the local generation batch a multiple of ``num_generations``), an indexable data set and a text-only
   batch; otherwise it is skipped and the reason is logged once.
2. **mask**: the discarded groups left over get ``completion_mask`` = 0 — the mechanism TRL's own
   ``mask_truncated_completions`` uses — so their tokens leave the loss, and ``num_items_in_batch`` is
   recomputed from the new mask, so they leave the token-level normaliser too.

Per generation step it logs ``calibration/stable``, ``calibration/zero_spread_groups`` (groups of the
batch with zero spread), ``calibration/dropped_groups`` (discarded), ``calibration/refilled_groups``
and ``calibration/masked_groups`` (discarded and not replaced); they reach the metrics JSONL through
:class:`training.trainer_metrics.MetricsCallback`. The trainer's own metrics (``reward``…) describe
the original batch: the refill generation's entries are taken back out.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from training.calibration import RewardStability, zero_spread_groups

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# the calibration hook's tensor work (pure functions, tested on their own)

#: Per-row tensors of TRL's batch dict, with the side and value they are padded with.
_LEFT_PADDED = {"prompt_ids": "pad", "prompt_mask": 0}
_RIGHT_PADDED = {
    "completion_ids": "pad",
    "completion_mask": 0,
    "tool_mask": 1,
    "old_per_token_logps": 0.0,
    "ref_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "importance_sampling_ratio": 1.0,
}
_ROW_ONLY = {"advantages"}
_SCALARS = {"num_items_in_batch"}
REFILLABLE_KEYS = set(_LEFT_PADDED) | set(_RIGHT_PADDED) | _ROW_ONLY | _SCALARS


def rows_of_groups(group_flags: Sequence[bool], group_size: int) -> list[bool]:
    """Group flags → row flags (TRL lays a group's completions out contiguously)."""
    return [flag for flag in group_flags for _ in range(group_size)]


def loss_mask_of(batch: dict[str, Any]):  # -> torch.Tensor
    mask = batch["completion_mask"]
    return mask * batch["tool_mask"] if batch.get("tool_mask") is not None else mask


def mask_rows(batch: dict[str, Any], drop_rows: Sequence[bool], gather: Callable[[Any], Any] = lambda t: t) -> dict:
    """Take rows out of the loss and out of the token-level normaliser.

    ``completion_mask`` of each dropped row becomes 0 (as TRL's ``mask_truncated_completions`` does), its
    advantage 0, and ``num_items_in_batch`` — the dapo loss's denominator, summed over processes with
    ``gather`` — is recomputed from the new mask.
    """
    import torch

    out = dict(batch)
    drop = torch.as_tensor(list(drop_rows), dtype=torch.bool, device=batch["completion_mask"].device)
    if drop.numel() != batch["completion_mask"].shape[0]:
        raise ValueError(f"{drop.numel()} row flags for a batch of {batch['completion_mask'].shape[0]} rows")
    keep = (~drop).to(batch["completion_mask"].dtype).unsqueeze(1)
    out["completion_mask"] = batch["completion_mask"] * keep
    adv = batch["advantages"]
    out["advantages"] = adv * (keep.squeeze(1) if adv.dim() == 1 else keep).to(adv.dtype)
    out["num_items_in_batch"] = gather(loss_mask_of(out).sum()).sum()
    return out


def _pad_to(t, width: int, value: float, left: bool):  # -> torch.Tensor
    import torch.nn.functional as F

    extra = width - t.shape[1]
    if extra <= 0:
        return t
    return F.pad(t, (extra, 0) if left else (0, extra), value=value)


def replace_rows(
    batch: dict[str, Any], extra: dict[str, Any], dst_rows: Sequence[int], src_rows: Sequence[int], pad_token_id: int
) -> dict[str, Any]:
    """``batch`` with rows ``dst_rows`` replaced by rows ``src_rows`` of ``extra`` (another TRL batch dict).

    Prompts are left-padded and completions right-padded to the wider of the two batches first.
    ``num_items_in_batch`` is left for the caller to recompute.
    """
    import torch

    unknown = (set(batch) | set(extra)) - REFILLABLE_KEYS
    if unknown:
        raise ValueError(f"cannot merge batches holding {sorted(unknown)}")
    out = dict(batch)
    dst = torch.as_tensor(list(dst_rows), dtype=torch.long)
    src = torch.as_tensor(list(src_rows), dtype=torch.long)
    for key, a in batch.items():
        if key in _SCALARS or a is None:
            continue
        b = extra.get(key)
        if b is None:
            raise ValueError(f"the refill batch lacks {key!r}")
        if key in _LEFT_PADDED or key in _RIGHT_PADDED:
            left = key in _LEFT_PADDED
            value = (_LEFT_PADDED if left else _RIGHT_PADDED)[key]
            value = pad_token_id if value == "pad" else value
            if a.dim() == 2 and b.dim() == 2 and not (key == "importance_sampling_ratio" and a.shape[1] == 1):
                width = max(a.shape[1], b.shape[1])
                a, b = _pad_to(a, width, value, left), _pad_to(b, width, value, left)
        a = a.clone()
        a[dst.to(a.device)] = b[src.to(b.device)].to(a.dtype)
        out[key] = a
    return out


# --------------------------------------------------------------------------------------------------
# the trainer


def _trl_grpo_trainer():
    from training.trl_cpu import skip_vllm_import_without_cuda

    skip_vllm_import_without_cuda()
    from trl import GRPOTrainer

    return GRPOTrainer


def make_calibrated_trainer_class():
    """Build the GRPOTrainer subclass (TRL is imported only when a trainer is needed)."""
    GRPOTrainer = _trl_grpo_trainer()

    class CalibratedGRPOTrainer(GRPOTrainer):
        """TRL's GRPOTrainer plus the paper's dynamic difficulty calibration (see the module docstring)."""

        def __init__(
            self,
            *args: Any,
            calibration: bool = True,
            calibration_window: int = 5,
            calibration_tolerance: float = 0.02,
            refill: bool = True,
            refill_max_rounds: int = 1,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self.calibration_enabled = calibration
            self.stability = RewardStability(calibration_window, calibration_tolerance)
            self.refill_enabled = refill
            self.refill_max_rounds = refill_max_rounds
            self.calibration_history: list[dict[str, Any]] = []
            self._last_rewards_per_func = None
            self._refill_warned: set[str] = set()
            self._generation_steps = 0

        # TRL calls this once per generation batch, with every process's rewards gathered.
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # noqa: ANN001
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._last_rewards_per_func = rewards_per_func
            return rewards_per_func

        def _total_rewards(self):  # -> torch.Tensor (all processes' rows)
            import torch

            per_func = self._last_rewards_per_func
            weights = self.reward_weights.to(per_func.device).unsqueeze(0)
            total = (per_func * weights).nansum(dim=1)
            total[torch.isnan(per_func).all(dim=1)] = torch.nan
            return total

        def _generate_and_score_completions(self, inputs):  # noqa: ANN001
            output = super()._generate_and_score_completions(inputs)
            if not self.model.training or not self.calibration_enabled:
                return output
            return self.calibrate(output, len(inputs))

        # --- the calibration step

        def calibrate(self, output: dict[str, Any], local_rows: int) -> dict[str, Any]:
            import torch

            g = self.num_generations
            rewards = self._total_rewards()
            mean = float(torch.nanmean(rewards).item()) if rewards.numel() else float("nan")
            stable = self.stability.update(mean)
            zero = zero_spread_groups(rewards, g)
            rank = self.accelerator.process_index
            row_lo = rank * local_rows
            local_zero_rows = rows_of_groups(zero, g)[row_lo : row_lo + local_rows]
            record = {
                "generation_step": self._generation_steps,
                "global_step": self.state.global_step,
                "mean_reward": mean,
                "stable": stable,
                "zero_spread_groups": sum(zero),
                "groups": len(zero),
                "dropped_groups": 0,
                "refilled_groups": 0,
                "masked_groups": 0,
            }
            self._generation_steps += 1
            if stable and any(zero):
                record["dropped_groups"] = sum(zero)
                drop_rows = list(local_zero_rows)
                if self.refill_enabled and self.refill_max_rounds > 0:
                    output, drop_rows, refilled = self._refill(output, drop_rows, local_rows)
                    record["refilled_groups"] = refilled
                output = mask_rows(output, drop_rows, self.accelerator.gather)
                record["masked_groups"] = record["dropped_groups"] - record["refilled_groups"]
            record["loss_tokens"] = int(output["num_items_in_batch"].item())
            metrics = self._metrics["train"]
            metrics["calibration/stable"].append(float(stable))
            for key in ("zero_spread_groups", "dropped_groups", "refilled_groups", "masked_groups"):
                metrics[f"calibration/{key}"].append(float(record[key]))
            self.calibration_history.append(record)
            return output

        def _refill_blocker(self, output: dict[str, Any], local_rows: int) -> str | None:
            if local_rows % self.num_generations:
                return "groups span processes (local generation batch not a multiple of num_generations)"
            if not hasattr(self.train_dataset, "__getitem__") or not hasattr(self.train_dataset, "__len__"):
                return "the training set is not indexable"
            unknown = set(output) - REFILLABLE_KEYS
            if unknown:
                return f"the batch holds {sorted(unknown)} (multimodal or tool rollouts)"
            return None

        def _refill(self, output: dict[str, Any], drop_rows: list[bool], local_rows: int):
            """Replace dropped groups with informative groups from fresh prompts; returns (output, drop_rows, n)."""
            import torch

            blocker = self._refill_blocker(output, local_rows)
            if blocker is not None:
                if blocker not in self._refill_warned:
                    self._refill_warned.add(blocker)
                    log.warning("calibration: no refill: %s; zero-spread groups are only masked", blocker)
                return output, drop_rows, 0
            g = self.num_generations
            refilled_total = 0
            rank = self.accelerator.process_index
            for round_no in range(self.refill_max_rounds):
                dropped_groups = [j for j in range(local_rows // g) if drop_rows[j * g]]
                need = torch.tensor([len(dropped_groups)], device=self.accelerator.device)
                n_draw = int(self.accelerator.gather(need).max().item())  # the same on every process
                if n_draw == 0:
                    break
                rng = random.Random(hash((self.args.seed, rank, self._generation_steps, round_no)))
                indices = [rng.randrange(len(self.train_dataset)) for _ in range(n_draw)]
                rows = [dict(self.train_dataset[i]) for i in indices for _ in range(g)]
                saved = {k: len(v) for k, v in self._metrics["train"].items()}
                extra = _trl_grpo_trainer()._generate_and_score_completions(self, rows)
                # the trainer's metrics describe the original batch: drop what the refill generation added
                for key in list(self._metrics["train"]):
                    if key in saved:
                        del self._metrics["train"][key][saved[key] :]
                    else:
                        del self._metrics["train"][key]
                extra_zero = zero_spread_groups(self._total_rewards(), g)
                mine = extra_zero[rank * n_draw : (rank + 1) * n_draw]
                informative = [j for j, z in enumerate(mine) if not z]
                pairs = list(zip(dropped_groups, informative, strict=False))
                if not pairs:
                    continue
                dst = [d * g + k for d, _ in pairs for k in range(g)]
                src = [s * g + k for _, s in pairs for k in range(g)]
                output = replace_rows(output, extra, dst, src, self._tokenizer.pad_token_id)
                for d, _ in pairs:
                    for k in range(g):
                        drop_rows[d * g + k] = False
                refilled_total += len(pairs)
            counted = torch.tensor([refilled_total], device=self.accelerator.device)
            return output, drop_rows, int(self.accelerator.gather(counted).sum().item())

    return CalibratedGRPOTrainer


__all__ = [
    "REFILLABLE_KEYS",
    "make_calibrated_trainer_class",
    "mask_rows",
    "replace_rows",
    "rows_of_groups",
]
