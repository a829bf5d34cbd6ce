"""The gate around a generator: placeholders numbered per kind and conversation and put back in the reply, repeats
of a found value replaced too, refusals that name the record, the field and the kind. The generator behind the
gate here is a recording stand-in (the end-to-end runs against a real HTTP server are in
tests/training/engines/test_external_gate.py)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pipeline.domain.prompts import principal_messages
from pipeline.errors import SraditError
from pipeline.privacy.gate import (
    IdentifierGate,
    IdentifierRefused,
    dangling_cues,
    records_in_flight,
    redact,
    restore,
    screen,
)
from pipeline.protocols import Messages, Sampling


class Echo:
    """Answers each prompt with its last message, and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[Messages] = []

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        self.sent += list(prompts)
        return [[p[-1]["content"]] * sampling.n for p in prompts]


TEXT = "患者张伟，男，60岁，电话13912345678，家属：李娜签字。张伟诉胸痛，李娜电话13912345678"


def test_placeholders_are_numbered_per_kind_and_the_same_value_keeps_its_own() -> None:
    messages = [
        {"role": "system", "content": "x"},
        {"role": "user", "content": TEXT},
    ]
    redacted, originals = redact(messages)
    assert redacted[1]["content"] == (
        "患者〔姓名1〕，男，60岁，电话〔电话1〕，家属：〔姓名2〕签字。〔姓名1〕诉胸痛，〔姓名2〕电话〔电话1〕"
    )
    assert originals == {"〔姓名1〕": "张伟", "〔电话1〕": "13912345678", "〔姓名2〕": "李娜"}
    assert restore(redacted[1]["content"], originals) == messages[1]["content"]
    assert redacted[0] == messages[0]


def test_redact_mode_sends_placeholders_and_returns_the_originals() -> None:
    inner = Echo()
    gate = IdentifierGate(inner, "remote", "redact")
    prompt = [{"role": "user", "content": "住院号：00123456，出生日期：1964年5月12日"}]
    out = gate.generate([prompt, [{"role": "user", "content": "无"}]], Sampling(n=2))
    assert inner.sent[0][0]["content"] == "住院号：〔病案号1〕，出生日期：〔出生日期1〕"
    assert out == [[prompt[0]["content"]] * 2, ["无", "无"]]


def test_refusal_names_the_admission_whose_field_was_sent() -> None:
    # Two admissions of one patient share their 既往史 word for word but for the phone number in the second.
    first = {"病案标识": "ZY010000000001", "既往史": "高血压10年。", "现病史": "胸痛"}
    second = {"病案标识": "ZY020000000001", "既往史": "高血压10年。电话13912345678", "现病史": "胸闷"}
    inner = Echo()
    gate = IdentifierGate(inner, "remote", "refuse", "SRADIT_EXTERNAL_IDENTIFIERS=refuse")
    with records_in_flight([first, second]), pytest.raises(IdentifierRefused) as refused:
        gate.generate([principal_messages(first), principal_messages(second)], Sampling())
    message = str(refused.value)
    assert "病案标识 ZY020000000001, field 既往史, identifier: phone (电话) at character 10" in message
    assert "13912345678" not in message and "now: SRADIT_EXTERNAL_IDENTIFIERS=refuse" in message
    assert inner.sent == []


def test_an_identifier_outside_any_record_is_named_by_its_message() -> None:
    gate = IdentifierGate(Echo(), "remote", "refuse")
    with pytest.raises(IdentifierRefused, match=r"not known.*field \(message 1, system, outside the record\)"):
        screen(gate, [[{"role": "system", "content": "回电13912345678"}, {"role": "user", "content": "主诉：胸痛"}]])
    screen(IdentifierGate(Echo(), "remote", "redact"), [[{"role": "user", "content": "13912345678"}]])  # passes
    screen(Echo(), [[{"role": "user", "content": "13912345678"}]])  # no gate: nothing to screen


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(SraditError, match="'mask' is not one of redact, refuse"):
        IdentifierGate(Echo(), "remote", "mask")


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("主诉：胸痛三天。联系电话：\n现病史：一三八零零零零零零零零，胸痛。", [("主诉", "联系电话：")]),
        (
            "主诉：胸痛。患者姓名\n现病史：如前。\n既往史：体健。家属身份证号 ：",
            [("主诉", "姓名"), ("既往史", "身份证号 ：")],
        ),
        ("【主诉】胸痛，住 院 号#\n【现病史】ZY-2024", [("主诉", "住 院 号#")]),
        ("主诉：胸痛，电话随访。\n现病史：出生于本市，门诊号已登记。", []),  # cues inside a field, values or not
        ("胸痛。联系电话：", []),  # outside any field: the identifier patterns' business
    ],
)
def test_a_field_that_ends_in_a_cue_is_found(content: str, found: list[tuple[str, str]]) -> None:
    assert [(f.field, f.hit.value) for f in dangling_cues([[{"role": "user", "content": content}]])] == found


def test_refuse_mode_refuses_a_field_that_ends_in_a_cue() -> None:
    """Its value may open the next field in a form no pattern knows (Chinese numerals here): refused, nothing sent."""
    record = {"病案标识": "ZY010000000009", "主诉": "胸痛三天。联系电话：", "现病史": "一三八零零零零零零零零，胸痛。"}
    prompt = [{"role": "user", "content": f"主诉：{record['主诉']}\n现病史：{record['现病史']}"}]
    inner = Echo()
    with records_in_flight([record]), pytest.raises(IdentifierRefused) as refused:
        IdentifierGate(inner, "remote", "refuse").generate([prompt], Sampling())
    assert "病案标识 ZY010000000009, field 主诉, identifier: cue_without_value" in str(refused.value)
    assert inner.sent == []
    IdentifierGate(inner, "remote", "redact").generate([prompt], Sampling())  # redact: no value to replace
    assert inner.sent == [prompt]


def test_an_allow_list_sends_only_the_sections_a_task_needs() -> None:
    """Sections left out never leave, so an identifier in them neither reaches the model nor refuses the call; the
    instructions after the record stay."""
    from pipeline.demo.synthetic import generate_records
    from pipeline.domain.prompts import task_messages

    record = {**generate_records(1, 0, seed=1)[0], "个人史": "生于本市。联系电话13912345678。"}
    inner = Echo()
    gate = IdentifierGate(inner, "remote", "refuse", sections=("主诉", "入院诊断"))
    gate.generate([task_messages("principal", record)], Sampling())
    sent = inner.sent[0][1]["content"]
    assert f"主诉：{record['主诉']}\n入院诊断：{record['入院诊断']}\n\n候选主要诊断" in sent
    assert "13912345678" not in sent and "现病史" not in sent and "个人史" not in sent
    with pytest.raises(IdentifierRefused):  # without the allow-list the phone number refuses the call
        IdentifierGate(inner, "remote", "refuse").generate([task_messages("principal", record)], Sampling())
