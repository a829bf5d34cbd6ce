"""Teacher reasoning traces on a real database: stored per record and sub-task, resumable, refused outputs counted
and never stored, read back newest first, and used as the think block of CoT-distilled SFT rows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from db.engine import read_session
from db.models import ReasoningTrace, Record
from pipeline.distill.traces import (
    MAX_CHARS,
    PROMPT_VERSION,
    clean_trace,
    generate_traces,
    load_traces,
    parse_trace,
    teacher_messages,
    traces_of_record,
)
from pipeline.domain import label_space
from pipeline.errors import InputError
from pipeline.ingest.importer import import_rows
from pipeline.mining.kfold import record_dict
from pipeline.protocols import Messages, Sampling
from training.models.learners import sft_training_rows

N_RECORDS = 5


class StandInTeacher:
    """Stands in for a teacher LLM, which cannot run here: it reads the gold diagnoses off the prompt and writes a
    canned reasoning that reaches them, tagged with ``tag`` so that tests can tell teachers apart. Prompts for which
    ``garbage(prompt)`` holds get an unusable output instead. Every call is recorded."""

    def __init__(self, tag: str, garbage: Callable[[str], bool] = lambda _p: False) -> None:
        self.tag, self.garbage = tag, garbage
        self.calls: list[tuple[int, Sampling]] = []

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        self.calls.append((len(prompts), sampling))
        out = []
        for messages in prompts:
            user = messages[-1]["content"]
            if self.garbage(user):
                out.append(["<think>嗯</think><answer>"])  # too short, and an empty answer
                continue
            principal = re.search(r"核定的主要诊断为：(.+?)[；。]", user)
            others = re.search(r"其他诊断为：(.+?)。", user)
            parts = [f"主要诊断为{principal.group(1)}"] if principal else []
            parts += [f"其他诊断为{others.group(1)}"] if others else []
            text = f"[{self.tag}] 患者的症状、体征与检查结果均支持以下判断。\n综合以上，{'，'.join(parts)}。"
            out.append([f"<think>{text}</think>"])
        return out


@pytest.fixture
def records(engine: Engine, shared_data: Path) -> list[dict[str, Any]]:
    rows = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))[:N_RECORDS]
    import_rows(engine, rows, "train", "test", source="test")
    return rows


def _stored(engine: Engine) -> list[ReasoningTrace]:
    with read_session(engine) as s:
        return list(s.scalars(select(ReasoningTrace).order_by(ReasoningTrace.id)))


def test_one_trace_per_record_and_subtask_and_a_rerun_generates_nothing(
    engine: Engine, records: list[dict[str, Any]]
) -> None:
    teacher = StandInTeacher("A")
    progress: list[tuple[int, int]] = []
    report = generate_traces(
        engine, teacher, "teacher-a", "train", ["principal", "other"], lambda d, t: progress.append((d, t)), 4
    )
    assert (report.generated, report.failed, report.skipped) == (2 * N_RECORDS, 0, 0)
    assert report.lines()[0] == f"traces {2 * N_RECORDS} (failed 0)"
    assert [n for n, _ in teacher.calls] == [4, 4, 2]  # batched
    assert progress[-1] == (2 * N_RECORDS, 2 * N_RECORDS)

    stored = _stored(engine)
    assert len(stored) == 2 * N_RECORDS
    assert {(t.teacher, t.prompt_version) for t in stored} == {("teacher-a", PROMPT_VERSION)}
    with read_session(engine) as s:
        by_id = {r.id: r for r in s.scalars(select(Record))}
    assert {(by_id[t.record_id].case_id, t.subtask) for t in stored} == {
        (r["病案标识"], sub) for r in records for sub in ("principal", "other")
    }
    for t in stored:
        rec = by_id[t.record_id]
        assert "<think>" not in t.text and t.text.startswith("[A]")
        if t.subtask == "principal":
            assert label_space.PRINCIPAL[rec.principal_code] in t.text
        else:
            assert all(label_space.OTHER[c] in t.text for c in rec.other_codes or [])

    again = StandInTeacher("A")
    rerun = generate_traces(engine, again, "teacher-a", "train", ["principal", "other"], None, 4)
    assert (rerun.generated, rerun.failed, rerun.skipped) == (0, 0, 2 * N_RECORDS)
    assert again.calls == [] and len(_stored(engine)) == 2 * N_RECORDS


def test_unusable_outputs_are_counted_retried_and_never_stored(engine: Engine, records: list[dict[str, Any]]) -> None:
    bad_complaint = records[0]["主诉"]
    teacher = StandInTeacher("A", garbage=lambda prompt: bad_complaint in prompt)
    report = generate_traces(engine, teacher, "teacher-a", "train", ["principal", "other"], None, 16, max_attempts=3)
    assert (report.generated, report.failed) == (2 * N_RECORDS - 2, 2)
    assert [n for n, _ in teacher.calls] == [2 * N_RECORDS, 2, 2]  # the two refused ones were asked for again
    assert len({s.seed for _, s in teacher.calls}) == 3  # each retry samples anew
    assert report.reasons == {"too short": 2}
    assert any(records[0]["病案标识"] in p for p in report.problems)
    assert any("refused 2×" in line for line in report.lines())
    with read_session(engine) as s:
        first = s.scalar(select(Record.id).where(Record.case_id == records[0]["病案标识"]))
    assert all(t.record_id != first for t in _stored(engine))

    # A rerun with a teacher that answers asks only about the refused pair.
    fixed = StandInTeacher("A")
    rerun = generate_traces(engine, fixed, "teacher-a", "train", ["principal", "other"], None, 16)
    assert (rerun.generated, rerun.skipped) == (2, 2 * N_RECORDS - 2)
    assert [n for n, _ in fixed.calls] == [2]


def test_greedy_teachers_are_asked_once(engine: Engine, records: list[dict[str, Any]]) -> None:
    teacher = StandInTeacher("A", garbage=lambda _p: True)
    report = generate_traces(engine, teacher, "t", "train", ["principal"], None, 16, temperature=0.0, max_attempts=3)
    assert report.failed == N_RECORDS and len(teacher.calls) == 1 and _stored(engine) == []


def test_load_traces_newest_first_by_teacher_and_shared_by_identical_copies(
    engine: Engine, records: list[dict[str, Any]]
) -> None:
    generate_traces(engine, StandInTeacher("A"), "teacher-a", "train", ["principal", "other"], None)
    generate_traces(engine, StandInTeacher("B"), "teacher-b", "train", ["principal"], None)
    case = records[0]["病案标识"]

    newest = load_traces(engine, "train")
    assert len(newest) == 2 * N_RECORDS
    assert newest[(case, "principal")].startswith("[B]") and newest[(case, "other")].startswith("[A]")
    only_a = load_traces(engine, "train", teacher="teacher-a")
    assert all(text.startswith("[A]") for text in only_a.values()) and len(only_a) == 2 * N_RECORDS
    assert load_traces(engine, "train", teacher="nobody") == {}
    with pytest.raises(InputError, match="no dataset 'nope'"):
        load_traces(engine, "nope")

    shown = traces_of_record(engine, case)
    assert [(t.teacher, t.subtask) for t in shown][0] == ("teacher-b", "principal")
    assert [t.created_at for t in shown] == sorted((t.created_at for t in shown), reverse=True)
    assert {t.dataset for t in shown} == {"train"}

    # The same records in another dataset (a round's augmented copy): they share the traces, and a run there
    # asks the teacher about nothing it has already explained.
    import_rows(engine, records, "train@r1", "test", source="test")
    assert load_traces(engine, "train@r1") == newest
    teacher = StandInTeacher("A")
    again = generate_traces(engine, teacher, "teacher-a", "train@r1", ["principal", "other"], None)
    assert (again.generated, again.skipped) == (0, 2 * N_RECORDS) and teacher.calls == []


def test_cotd_sft_rows_think_with_the_trace_and_plain_rows_think_nothing(
    engine: Engine, records: list[dict[str, Any]]
) -> None:
    generate_traces(engine, StandInTeacher("A"), "teacher-a", "train", ["principal"], None)
    traces = load_traces(engine, "train")
    with read_session(engine) as s:
        rows = [record_dict(r) for r in s.scalars(select(Record).order_by(Record.id))]
    cotd = sft_training_rows(rows, "principal", traces)
    plain = sft_training_rows(rows, "principal")
    for row, rec in zip(cotd, rows, strict=True):
        answer = row["messages"][-1]["content"]
        think = re.fullmatch(r"<think>\n(.*)\n</think>\n<answer>(.*)</answer>", answer, re.S)
        assert think is not None, answer
        assert think.group(1) == traces[(rec["病案标识"], "principal")]
        assert think.group(2) == label_space.PRINCIPAL[rec["主要诊断编码"]]
    for row in plain:
        assert row["messages"][-1]["content"].startswith("<think>\n</think>\n<answer>")
    # The other sub-task has no trace here: its rows think nothing even with traces given.
    assert all(
        r["messages"][-1]["content"].startswith("<think>\n</think>") for r in sft_training_rows(rows, "other", traces)
    )


def test_refused_requests_write_nothing(engine: Engine, records: list[dict[str, Any]]) -> None:
    teacher = StandInTeacher("A")
    with pytest.raises(InputError, match="sub-tasks must be"):
        generate_traces(engine, teacher, "t", "train", ["principal", "diagnosis"], None)
    with pytest.raises(InputError, match="no dataset"):
        generate_traces(engine, teacher, "t", "nope", ["principal"], None)
    assert teacher.calls == []
    with read_session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReasoningTrace)) == 0


GOLD_P, GOLD_O = "I20.000", ("I25.103", "E78.500")
EVERY_CANDIDATE = "、".join({**label_space.OTHER, **label_space.PRINCIPAL}.values())
REASONING = "患者静息时胸痛加重，肌钙蛋白阴性，心电图ST段压低，符合不稳定型心绞痛的定义。"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("", "empty"),
        ("<think></think><answer>不稳定型心绞痛</answer>", "empty"),
        ("不稳定型心绞痛", "too short"),
        (REASONING * 200, "too long"),
        (f"<think>{REASONING}</think><answer>急性非ST段抬高型心肌梗死</answer>", "contradicts the gold"),
        ("患者胸痛，心电图ST段压低，肌钙蛋白升高，考虑急性冠脉综合征，需进一步评估。", "does not reach the gold"),
        (f"根据给出的答案，{REASONING}", "gives the answer away"),
        # A teacher that lists every candidate names the gold too: a list, not an argument for it.
        (REASONING + "鉴别：" + EVERY_CANDIDATE, "lists the candidates"),
    ],
)
def test_refused_principal_traces(raw: str, kind: str) -> None:
    trace, error = parse_trace(raw, "principal", GOLD_P, GOLD_O)
    assert trace is None and error is not None and error.split(":")[0] == kind, error


def test_accepted_traces_are_cleaned() -> None:
    conclusion = "综合以上，主要诊断为不稳定型心绞痛。"
    wrapped = f"<think>\n{REASONING}\n\n\n\n{conclusion}</think>\n<answer>不稳定型心绞痛</answer><|im_end|>"
    trace, error = parse_trace(wrapped, "principal", GOLD_P, GOLD_O)
    assert error is None and trace == f"{REASONING}\n\n{conclusion}"
    # A template that opened the think block in the prompt: only its closing tag is in the output.
    assert clean_trace(f"{REASONING}</think>") == REASONING
    # Visible text after a private think block is the reasoning that was asked for.
    assert clean_trace(f"<think>草稿</think>{REASONING}") == REASONING
    others = "冠状动脉粥样硬化性心脏病、高脂血症均有病历证据支持：既往冠脉造影示狭窄，血脂升高。"
    assert parse_trace(others, "other", GOLD_P, GOLD_O) == (others, None)
    missing = parse_trace(others, "other", GOLD_P, (*GOLD_O, "I48.x01"))[1]
    assert missing is not None and missing.startswith("does not reach the gold: never names 心房颤动")
    # Names are matched with brackets and roman numerals folded.
    assert parse_trace("心功能Ⅲ级（NYHA分级）：活动后气促，夜间不能平卧。", "other", GOLD_P, ("I50.900x008",))[0]


def test_the_teacher_prompt_names_the_gold_and_candidates_but_asks_not_to_say_so() -> None:
    rec = {"病案标识": "ZY010000000001", "主诉": "胸痛3天", "入院诊断": "冠心病"}
    principal = teacher_messages("principal", rec, GOLD_P, GOLD_O)[-1]["content"]
    assert "胸痛3天" in principal and "主要诊断为：不稳定型心绞痛" in principal
    assert all(name in principal for name in label_space.PRINCIPAL.values())
    assert "不要使用<think>" in principal and str(MAX_CHARS) in principal
    other = teacher_messages("other", rec, GOLD_P, GOLD_O)[-1]["content"]
    assert "其他诊断为：冠状动脉粥样硬化性心脏病；高脂血症" in other and "脂肪肝" in other
    multi = teacher_messages("multi", rec, GOLD_P, GOLD_O)[-1]["content"]
    assert "主要诊断为：不稳定型心绞痛；其他诊断为：" in multi
    with pytest.raises(InputError):
        teacher_messages("diagnosis", rec, GOLD_P, GOLD_O)
