"""Dynamic difficulty calibration (the paper's GRPO; docs/method.md, "GRPO").

Once the batch reward has stabilised (paper: the training F1 moved less than 2 % over 5 epochs), groups
whose completions all earned the same reward are discarded. Such a group already has zero advantage,
so it adds nothing to the policy gradient; but under the token-level loss (eq. 4) its tokens still sit
in the normaliser and dilute the update. Discarding takes them out of it.

Equality is judged on the *spread* of a group's rewards (max − min), never on its mean: the other
sub-task's reward is a continuous F1, so a group can have any mean and still be all-equal.

These are pure functions and one small state class; :mod:`training.grpo_refill` wires them into TRL.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any


def _as_floats(rewards: Sequence[float] | Any) -> list[float]:
    if hasattr(rewards, "detach"):  # a torch tensor
        return [float(x) for x in rewards.detach().flatten().cpu().tolist()]
    return [float(x) for x in rewards]


def group_spreads(rewards: Sequence[float] | Any, group_size: int) -> list[float]:
    """max − min of each consecutive group of ``group_size`` rewards (TRL lays groups out contiguously)."""
    values = _as_floats(rewards)
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1 (got {group_size})")
    if len(values) % group_size:
        raise ValueError(f"{len(values)} rewards do not split into groups of {group_size}")
    spreads = []
    for start in range(0, len(values), group_size):
        group = [v for v in values[start : start + group_size] if v == v]  # NaN (unscorable) rows are ignored
        spreads.append(max(group) - min(group) if group else 0.0)
    return spreads


def zero_spread_groups(rewards: Sequence[float] | Any, group_size: int, tol: float = 1e-6) -> list[bool]:
    """For each group of ``group_size`` consecutive rewards: True when all are equal (spread ≤ ``tol``)."""
    return [s <= tol for s in group_spreads(rewards, group_size)]


class RewardStability:
    """Tells when the batch reward has stabilised.

    ``update(mean_reward)`` records one batch's mean reward and returns whether the reward is stable:
    the last ``window`` values are known and their range (max − min) is below ``tolerance`` relative to
    their mean magnitude (an all-zero window is stable). With ``latch`` (the default) stability, once
    reached, is kept: the paper switches calibration on for the rest of training.
    """

    def __init__(self, window: int = 5, tolerance: float = 0.02, latch: bool = True) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 (got {window})")
        if tolerance < 0:
            raise ValueError(f"tolerance must be ≥ 0 (got {tolerance})")
        self.window, self.tolerance, self.latch = window, tolerance, latch
        self.history: deque[float] = deque(maxlen=window)
        self.stable = False
        self.updates = 0

    def relative_change(self) -> float | None:
        """The range of the window relative to its mean magnitude; None until ``window`` values are known."""
        if len(self.history) < self.window:
            return None
        lo, hi = min(self.history), max(self.history)
        if hi == lo:
            return 0.0
        scale = abs(sum(self.history) / len(self.history))
        return float("inf") if scale == 0 else (hi - lo) / scale

    def update(self, mean_reward: float) -> bool:
        self.updates += 1
        value = float(mean_reward)
        if value == value:  # NaN batches (nothing scorable) are not recorded
            self.history.append(value)
        change = self.relative_change()
        now = change is not None and change < self.tolerance
        self.stable = (self.stable and self.latch) or now
        return self.stable

    def state_dict(self) -> dict[str, Any]:
        return {"history": list(self.history), "stable": self.stable, "updates": self.updates}

    def __repr__(self) -> str:
        return f"RewardStability(window={self.window}, tolerance={self.tolerance}, stable={self.stable})"
