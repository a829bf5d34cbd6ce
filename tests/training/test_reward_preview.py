"""training/reward_preview.py as a table: answers of known rewards in, exact zero-spread counts, mean reward and
advice out. The answers come from a scripted generator (what a model would say is not the point here; the round
test in tests/app/services/test_rounds.py previews a real SFT model)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipeline.protocols import Messages, Sampling
from training.reward_preview import RewardPreview, preview_rewards

RIGHT = "<think>\n</think>\n<answer>不稳定型心绞痛</answer>"
WRONG = "<think>\n</think>\n<answer>微血管性心绞痛</answer>"


class Scripted:
    """Answers prompt i with groups[i]; checks it is sampled as GRPO would sample."""

    def __init__(self, groups: list[list[str]]) -> None:
        self.groups = groups
        self.sampling: Sampling | None = None

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        self.sampling = sampling
        return [self.groups[i] for i in range(len(prompts))]


def _rows(n: int) -> list[dict]:
    return [
        {"prompt": [{"role": "user", "content": f"p{i}"}], "task": "principal", "principal": "I20.000", "others": []}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("groups", "zero_spread", "mean", "advice"),
    [
        # The paper's reward: 1.0 for the gold principal, 0.1 for a well-formed wrong answer.
        ([[WRONG, WRONG], [WRONG, WRONG]], 2, 0.1, "GRPO would learn nothing"),
        ([[RIGHT, RIGHT], [RIGHT, RIGHT]], 2, 1.0, "already answers these prompts alike"),
        ([[RIGHT, WRONG], [WRONG, WRONG]], 1, 0.325, "GRPO has a learning signal"),
        ([[RIGHT, WRONG], [WRONG, RIGHT]], 0, 0.55, "GRPO has a learning signal"),
    ],
)
def test_preview_counts_groups_without_spread(
    groups: list[list[str]], zero_spread: int, mean: float, advice: str
) -> None:
    gen = Scripted(groups)
    preview = preview_rewards(gen, _rows(2), num_generations=2, temperature=0.9, max_tokens=48, seed=3)
    assert (preview.groups, preview.zero_spread, preview.mean_reward) == (2, zero_spread, mean)
    assert advice in preview.advice()
    assert gen.sampling == Sampling(temperature=0.9, n=2, max_tokens=48, seed=3)


def test_mostly_flat_groups_are_flagged() -> None:
    preview = RewardPreview(groups=10, num_generations=4, zero_spread=9, mean_reward=0.1)
    assert preview.advice().startswith("90% of 10 groups without a reward spread")
    assert "learn from few groups" in preview.advice() and preview.as_dict()["zero_spread_share"] == 0.9
