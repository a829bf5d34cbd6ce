"""The paper's rewards as TRL reward callables: hand-computed tables."""

from __future__ import annotations

import pytest

from tests.training.reward_cases import HIERARCHY_CASES, T
from training.rewards import (
    OverlongPenalty,
    completion_text,
    format_reward,
    hierarchical_task_reward,
    multi_reward,
    other_reward,
    overlong_penalty,
    principal_reward,
    task_reward,
)

# (completion, gold principal, expected reward)
PRINCIPAL_CASES = [
    (f"{T}<answer>不稳定型心绞痛</answer>", "I20.000", 1.0),  # well-formed, exact name
    (f"{T}\n<answer>\nI20.000\n</answer>\n", "I20.000", 1.0),  # a code instead of the name, new lines around
    (f"{T}<answer>微血管性心绞痛</answer>", "I20.000", 0.1),  # well-formed, wrong
    ("<answer>不稳定型心绞痛</answer>", "I20.000", 0.9),  # right, but no think block
    (f"{T}<answer>不稳定型心绞痛</answer>多余的话", "I20.000", 0.9),  # text after the answer: not well-formed
    (f"{T}<think>再想</think><answer>不稳定型心绞痛</answer>", "I20.000", 0.9),  # two think blocks
    (f"{T}<answer>不稳定型心绞痛；微血管性心绞痛</answer>", "I20.000", 0.1),  # hedged: two candidates
    (f"{T}<answer>不稳定型心绞痛；I20.000</answer>", "I20.000", 1.0),  # name and code of one disease
    (f"{T}<answer>高血压病3级(极高危)</answer>", "I10.x00x032", 1.0),  # half-width brackets fold
    (f"{T}＜answer＞不稳定型心绞痛＜/answer＞", "I20.000", 0.9),  # full-width tags: read, not well-formed
    (f"{T}<answer>不稳定心绞痛</answer>", "I20.000", 0.1),  # not a candidate name
    (f"{T}<answer></answer>", "I20.000", 0.0),  # empty answer: neither format nor match
    ("", "I20.000", 0.0),
    ("胡乱输出的文字", "I20.000", 0.0),
]

GOLD_OTHERS = ["E78.500", "I25.103"]  # 高脂血症, 冠状动脉粥样硬化性心脏病

# (completion, gold others, expected reward)
OTHER_CASES = [
    (f"{T}<answer>高脂血症；冠状动脉粥样硬化性心脏病</answer>", GOLD_OTHERS, 1.0),
    (f"{T}<answer>冠状动脉粥样硬化性心脏病;高脂血症</answer>", GOLD_OTHERS, 1.0),  # order, half-width ;
    (f"{T}<answer>E78.500；I25.103</answer>", GOLD_OTHERS, 1.0),  # codes
    (f"{T}<answer>1. 高脂血症\n2. 冠状动脉粥样硬化性心脏病</answer>", GOLD_OTHERS, 1.0),  # numbered lines
    (f"{T}<answer>高脂血症</answer>", GOLD_OTHERS, 0.1 + 0.9 * 2 / 3),  # P=1, R=1/2
    (f"{T}<answer>高脂血症、2型糖尿病</answer>", GOLD_OTHERS, 0.1 + 0.9 * 0.5),  # one of two right, 、
    (f"{T}<answer>高脂血症；冠状动脉粥样硬化性心脏病；2型糖尿病</answer>", GOLD_OTHERS, 0.1 + 0.9 * 0.8),
    ("<answer>高脂血症；冠状动脉粥样硬化性心脏病</answer>", GOLD_OTHERS, 0.9),  # no think block
    (f"{T}<answer>无</answer>", [], 1.0),  # two empty sets: F1 = 1
    (f"{T}<answer>高脂血症</answer>", [], 0.1),  # gold empty, prediction not
    (f"{T}<answer>无</answer>", GOLD_OTHERS, 0.1),  # prediction empty, gold not
    ("", GOLD_OTHERS, 0.0),
    (f"{T}<answer>高脂血症；冠状动脉粥样硬化性心脏病</answer>", "E78.500;I25.103", 1.0),  # gold as a string
]


M = "<answer>主要诊断：不稳定型心绞痛\n其他诊断：高脂血症；冠状动脉粥样硬化性心脏病</answer>"
# (multi-task completion, gold principal, gold others, expected reward)
MULTI_CASES = [
    (f"{T}{M}", "I20.000", GOLD_OTHERS, 1.0),
    (f"{T}\n{M}\n", "I20.000", GOLD_OTHERS, 1.0),
    (M, "I20.000", GOLD_OTHERS, 0.9),  # no think block
    (f"{T}{M}", "I21.401", GOLD_OTHERS, 0.1 + 0.9 * 0.5),  # principal wrong, others right
    (
        f"{T}<answer>主要诊断：不稳定型心绞痛\n其他诊断：高脂血症</answer>",
        "I20.000",
        GOLD_OTHERS,
        0.1 + 0.9 * (0.5 + 0.5 * 2 / 3),
    ),
    (f"{T}<answer>其他诊断：高脂血症\n主要诊断：I20.000</answer>", "I20.000", ["E78.500"], 1.0),  # order, a code
    (f"{T}<answer>主要诊断：不稳定型心绞痛；微血管性心绞痛\n其他诊断：无</answer>", "I20.000", [], 0.1 + 0.9 * 0.5),
    (f"{T}<answer>不稳定型心绞痛</answer>", "I20.000", [], 1.0),  # no labels: read as the principal
    (f"{T}<answer>不稳定型心绞痛</answer>", "I20.000", GOLD_OTHERS, 0.1 + 0.9 * 0.5),
    ("", "I20.000", GOLD_OTHERS, 0.0),
]


@pytest.mark.parametrize(("completion", "principal", "others", "expected"), MULTI_CASES)
def test_multi_reward_table(completion: str, principal: str, others: list[str], expected: float) -> None:
    assert multi_reward([completion], principal=[principal], others=[others]) == [pytest.approx(expected)]


@pytest.mark.parametrize(("completion", "gold", "expected"), PRINCIPAL_CASES)
def test_principal_reward_table(completion: str, gold: str, expected: float) -> None:
    assert principal_reward([completion], principal=[gold]) == [pytest.approx(expected)]
    # the same completion in TRL's conversational form
    conv = [{"role": "assistant", "content": completion}]
    assert principal_reward([conv], principal=[gold]) == [pytest.approx(expected)]


@pytest.mark.parametrize(("completion", "gold", "expected"), OTHER_CASES)
def test_other_reward_table(completion: str, gold, expected: float) -> None:  # noqa: ANN001
    assert other_reward([completion], others=[gold]) == [pytest.approx(expected)]


def test_format_reward() -> None:
    texts = [f"{T}<answer>x</answer>", "<answer>x</answer>", f"{T}<answer> </answer>", f"  {T}\n<answer>y</answer>\n"]
    assert format_reward(texts) == [0.1, 0.0, 0.0, 0.1]
    assert format_reward([[{"role": "assistant", "content": texts[0]}]]) == [0.1]


def test_task_reward_dispatches_per_row() -> None:
    completions = [
        f"{T}<answer>不稳定型心绞痛</answer>",
        f"{T}<answer>高脂血症</answer>",
        f"{T}<answer>高脂血症</answer>",
    ]
    rewards = task_reward(
        completions,
        task=["principal", "other", "principal"],
        principal=["I20.000", "I21.401", "I20.000"],
        others=[["E78.500"], GOLD_OTHERS, ["E78.500"]],
        prompts=["p"] * 3,
        completion_ids=[[1]] * 3,  # TRL passes more keyword arguments; they are ignored
        trainer_state=None,
    )
    assert rewards == [pytest.approx(1.0), pytest.approx(0.1 + 0.9 * 2 / 3), pytest.approx(0.1)]
    assert task_reward(completions[:1], task=["multi"], principal=["I20.000"], others=[[]]) == [pytest.approx(1.0)]
    with pytest.raises(ValueError, match="summary"):
        task_reward(completions[:1], task=["summary"], principal=["I20.000"], others=[[]])
    with pytest.raises(ValueError, match="principal"):
        principal_reward(completions[:1])


def test_completion_text_forms() -> None:
    assert completion_text("abc") == "abc"
    assert completion_text([{"role": "assistant", "content": "abc"}]) == "abc"
    assert (
        completion_text(
            [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
        )
        == "ab"
    )
    assert (
        completion_text([{"role": "assistant", "content": "first"}, {"role": "assistant", "content": "last"}]) == "last"
    )
    assert completion_text(None) == ""


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (0, 0.0),
        (499, 0.0),
        (500, 0.0),  # = l_max − l_cache: still free
        (501, -1 / 6500),
        (3750, -0.5),
        (6999, -6499 / 6500),
        (7000, -1.0),  # = l_max
        (7001, -1.0),
        (20000, -1.0),
    ],
)
def test_overlong_penalty_paper_values(length: int, expected: float) -> None:
    assert overlong_penalty(length, l_max=7000, l_cache=6500) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("length", "expected"), [(10, 0.0), (11, -0.1), (15, -0.5), (19, -0.9), (20, -1.0), (25, -1.0)]
)
def test_overlong_penalty_small_window(length: int, expected: float) -> None:
    assert overlong_penalty(length, l_max=20, l_cache=10) == pytest.approx(expected)


def test_overlong_penalty_rejects_bad_lengths() -> None:
    with pytest.raises(ValueError):
        overlong_penalty(1, l_max=10, l_cache=20)
    with pytest.raises(ValueError):
        OverlongPenalty(l_max=10, l_cache=0)


class _CharTokenizer:
    """One token per character (the fallback path when TRL gives no completion_ids)."""

    def __call__(self, texts, add_special_tokens=False):  # noqa: ANN001
        return {"input_ids": [[ord(c) for c in t] for t in texts]}


def test_overlong_penalty_callable_reads_completion_ids() -> None:
    reward = OverlongPenalty(l_max=20, l_cache=10)
    assert reward.__name__ == "overlong_penalty"
    # completion_ids win over the text
    assert reward(["x", "y", "z"], completion_ids=[[0] * 5, [0] * 15, [0] * 30]) == [0.0, -0.5, -1.0]
    tokenized = OverlongPenalty(l_max=20, l_cache=10, tokenizer=_CharTokenizer())
    assert tokenized(["a" * 10, [{"role": "assistant", "content": "b" * 15}]]) == [0.0, -0.5]
    with pytest.raises(ValueError, match="completion_ids"):
        reward(["x"])


def test_names_fit_trl_logging() -> None:
    from trl.trainer.utils import get_callable_name

    names = [
        get_callable_name(f) for f in (format_reward, principal_reward, other_reward, task_reward, OverlongPenalty())
    ]
    assert names == ["format_reward", "principal_reward", "other_reward", "task_reward", "overlong_penalty"]


@pytest.mark.parametrize(("task", "completion", "principal", "others", "paper", "hierarchical"), HIERARCHY_CASES)
def test_the_hierarchical_reward_gives_partial_credit_where_the_papers_gives_none(
    task: str, completion: str, principal: str, others: list[str], paper: float, hierarchical: float
) -> None:
    columns = {"task": [task], "principal": [principal], "others": [others]}
    assert task_reward([completion], **columns) == [pytest.approx(paper)]
    assert hierarchical_task_reward([completion], **columns) == [pytest.approx(hierarchical)]
