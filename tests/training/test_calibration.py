"""Dynamic difficulty calibration: zero-spread groups and reward stability."""

from __future__ import annotations

import math

import pytest
import torch

from training.calibration import RewardStability, group_spreads, zero_spread_groups

# 5 groups of 3 completions. Groups 0 and 2 have the same mean (0.5); only group 0 is all-equal.
BATCH = [
    0.5, 0.5, 0.5,  # all equal (principal: all right format, all wrong answer → any constant)
    1.0, 0.1, 0.1,  # informative
    0.0, 0.5, 1.0,  # informative, same mean as group 0
    0.1 + 0.9 * 2 / 3, 0.1 + 0.9 * 2 / 3, 0.1 + 0.9 * 2 / 3,  # all equal at a continuous F1 value
    0.0, 0.0, 1e-9,  # equal within the tolerance
]  # fmt: skip


def test_zero_spread_groups_compare_spread_not_mean() -> None:
    assert zero_spread_groups(BATCH, 3) == [True, False, False, True, True]
    assert zero_spread_groups(torch.tensor(BATCH), 3) == [True, False, False, True, True]
    assert zero_spread_groups(BATCH, 3, tol=0.0) == [True, False, False, True, False]
    assert group_spreads(BATCH, 3)[2] == pytest.approx(1.0)


def test_zero_spread_groups_edge_cases() -> None:
    with pytest.raises(ValueError, match="groups of 4"):
        zero_spread_groups(BATCH, 4)
    with pytest.raises(ValueError):
        zero_spread_groups(BATCH, 0)
    # NaN marks an unscorable completion (TRL): ignored within its group
    assert zero_spread_groups([0.3, math.nan, 0.3, 0.1, 0.9, math.nan], 3) == [True, False]
    assert zero_spread_groups([], 2) == []


def test_reward_stability_follows_a_history() -> None:
    history = [0.50, 0.60, 0.70, 0.71, 0.712, 0.713, 0.714, 0.715, 0.40]
    s = RewardStability(window=5, tolerance=0.02)
    seen = [s.update(r) for r in history]
    # window at update 7: 0.700 … 0.714 moves 0.014 / 0.7098 = 1.97 % < 2 %; at update 6 it moved 16 %
    assert seen == [False, False, False, False, False, False, True, True, True]  # latched after the drop
    assert s.stable and s.updates == 9


def test_reward_stability_without_latch_and_degenerate_windows() -> None:
    s = RewardStability(window=3, tolerance=0.02, latch=False)
    assert [s.update(r) for r in [0.5, 0.5, 0.505, 0.9, 0.9, 0.9]] == [False, False, True, False, False, True]
    zeros = RewardStability(window=2, tolerance=0.02)
    assert [zeros.update(0.0), zeros.update(0.0)] == [False, True]  # an all-zero window is stable
    around_zero = RewardStability(window=2, tolerance=0.02)
    assert [around_zero.update(-0.1), around_zero.update(0.1)] == [False, False]  # mean 0, range 0.2
    one = RewardStability(window=1)
    assert one.update(0.3) is True  # a window of one is stable at once (tests use it)
    nan = RewardStability(window=2)
    assert [nan.update(math.nan), nan.update(0.2), nan.update(0.2)] == [False, False, True]
    with pytest.raises(ValueError):
        RewardStability(window=0)
    with pytest.raises(ValueError):
        RewardStability(tolerance=-1)
