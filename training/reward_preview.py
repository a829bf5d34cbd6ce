"""Before a GRPO run: will its groups have a reward spread?

GRPO learns from the spread of rewards within a group of answers to one prompt: a group whose answers all earn
the same reward has no advantage and gives no gradient. A model that answers every prompt the same way (right or
wrong) wastes a whole run — hours on a 7B — and the policy it registers learned nothing. This samples the model
GRPO would start from on a slice of its prompts, exactly as GRPO would (the same group size, temperature and
answer length) and scores the answers with the paper's task reward, so that the share of zero-spread groups and
the mean reward are known in minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.protocols import Sampling, TextGenerator
from training.rewards import task_reward

#: A zero-spread share above this leaves GRPO with little to learn from.
MOSTLY_FLAT = 0.8


@dataclass(frozen=True)
class RewardPreview:
    """The reward spread of ``groups`` sampled groups (``num_generations`` answers each)."""

    groups: int
    num_generations: int
    zero_spread: int  #: groups whose answers all earned one reward
    mean_reward: float

    @property
    def zero_spread_share(self) -> float:
        return self.zero_spread / self.groups if self.groups else 1.0

    def advice(self) -> str:
        share = self.zero_spread_share
        head = f"{share:.0%} of {self.groups} groups without a reward spread, mean reward {self.mean_reward:.2f}"
        if share >= 0.999:
            return (
                f"{head}: GRPO would learn nothing (every group earns one reward). Raise the temperature or "
                "num_generations, or train SFT further first"
                if self.mean_reward < 0.5
                else f"{head}: the model already answers these prompts alike; GRPO has nothing to correct here"
            )
        if share > MOSTLY_FLAT:
            return f"{head}: GRPO will learn from few groups; a higher temperature widens the spread"
        return f"{head}: GRPO has a learning signal"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "zero_spread_share": round(self.zero_spread_share, 3), "advice": self.advice()}


def preview_rewards(
    generator: TextGenerator,
    rows: Sequence[Mapping[str, Any]],
    *,
    num_generations: int,
    temperature: float,
    max_tokens: int,
    seed: int = 0,
) -> RewardPreview:
    """Sample ``num_generations`` answers to each trl-grpo row's prompt and score them with the task reward."""
    if not rows:
        return RewardPreview(0, num_generations, 0, 0.0)
    sampling = Sampling(temperature=temperature, n=num_generations, max_tokens=max_tokens, seed=seed)
    groups = generator.generate([r["prompt"] for r in rows], sampling)
    flat, total, count = 0, 0.0, 0
    for row, answers in zip(rows, groups, strict=True):
        rewards = task_reward(
            list(answers),
            task=[row["task"]] * len(answers),
            principal=[row["principal"]] * len(answers),
            others=[row["others"]] * len(answers),
        )
        flat += max(rewards) - min(rewards) < 1e-9
        total += sum(rewards)
        count += len(rewards)
    return RewardPreview(len(rows), num_generations, flat, round(total / count, 4) if count else 0.0)
