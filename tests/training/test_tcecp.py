"""TCECP voting, every branch, with scripted samples (the issue asks for them beside the real engines)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipeline.protocols import Messages, Sampling
from training.predictors import LLMPredictor
from training.tcecp import vote_others, vote_principal

UA, NSTEMI, HF = "I20.000", "I21.401", "I50.900x018"


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([UA, UA], UA),  # agree: no third sample
        ([UA, NSTEMI, NSTEMI], NSTEMI),  # majority of three, with the sample
        ([UA, NSTEMI, UA], UA),  # majority of three, with greedy
        ([UA, NSTEMI, HF], UA),  # all three differ: greedy wins
        ([None, NSTEMI, HF], None),  # unreadable greedy, all differ: greedy (None) still wins
        ([None, NSTEMI, NSTEMI], NSTEMI),
    ],
)
def test_vote_principal(answers: list[str | None], expected: str | None) -> None:
    assert vote_principal(answers) == expected


def test_vote_principal_needs_a_third_when_the_first_two_differ() -> None:
    with pytest.raises(ValueError):
        vote_principal([UA, NSTEMI])


def test_vote_others_keeps_codes_in_two_of_three() -> None:
    assert vote_others([["A", "B", "C"], ["B", "C", "D"], ["C", "E", "E"]]) == ["B", "C"]
    assert vote_others([["A"], [], []]) == []
    assert vote_others([[], [], []]) == []


class Scripted:
    """A text generator that answers from a script keyed by (task, temperature, call number)."""

    def __init__(self, principal: dict[tuple[float, int], str], other: dict[tuple[float, int], list[str]]) -> None:
        self.principal, self.other = principal, other
        self.calls: list[tuple[str, float, int, int]] = []
        self._count: dict[tuple[str, float], int] = {}

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        out = []
        for messages in prompts:
            task = "principal" if "主要诊断" in messages[0]["content"] else "other"
            k = (task, sampling.temperature)
            i = self._count.get(k, 0)
            self._count[k] = i + 1
            self.calls.append((task, sampling.temperature, sampling.n, i))
            if task == "principal":
                out.append([self.principal[(sampling.temperature, i)]] * sampling.n)
            else:
                out.append(self.other[(sampling.temperature, i)][: sampling.n])
        return out


def _ans(text: str) -> str:
    return f"<think>考虑病史</think><answer>{text}</answer>"


RECORD = {"病案标识": "X", "主诉": "胸痛", "入院诊断": "不稳定型心绞痛"}


def test_tcecp_samples_a_third_only_on_disagreement_and_votes() -> None:
    gen = Scripted(
        principal={
            (0.0, 0): _ans("不稳定型心绞痛"),
            (0.7, 0): _ans("急性非ST段抬高型心肌梗死"),
            (0.7, 1): _ans("急性非ST段抬高型心肌梗死"),
        },
        other={
            (0.0, 0): [_ans("高脂血症；2型糖尿病")],
            (0.7, 0): [_ans("高脂血症；心房颤动"), _ans("2型糖尿病；高脂血症；心房颤动")],
        },
    )
    pred = LLMPredictor(gen, inference="tcecp").predict([RECORD])[0]
    assert pred.principal == "I21.401"
    assert pred.votes is not None and pred.votes["principal"] == ["I20.000", "I21.401", "I21.401"]
    assert set(pred.others) == {"E78.500", "E11.900", "I48.x01"}
    principal_calls = [(t, i) for task, t, _n, i in gen.calls if task == "principal"]
    assert principal_calls == [(0.0, 0), (0.7, 0), (0.7, 1)]


def test_tcecp_skips_the_third_sample_when_the_first_two_agree() -> None:
    gen = Scripted(
        principal={(0.0, 0): _ans("不稳定型心绞痛"), (0.7, 0): _ans("不稳定型心绞痛")},
        other={(0.0, 0): [_ans("高脂血症")], (0.7, 0): [_ans("无"), _ans("无")]},
    )
    pred = LLMPredictor(gen, inference="tcecp").predict([RECORD])[0]
    assert pred.principal == "I20.000" and pred.others == ()
    assert sum(1 for task, *_ in gen.calls if task == "principal") == 2


def test_greedy_reads_names_and_records_unparseable_output() -> None:
    gen = Scripted(principal={(0.0, 0): "胡言乱语"}, other={(0.0, 0): ["也是胡言乱语"]})
    pred = LLMPredictor(gen, inference="greedy").predict([RECORD])[0]
    assert pred.principal is None and pred.others == () and pred.parsed is False
    assert "胡言乱语" in (pred.raw or "")
