"""Teacher reasoning traces for CoT-distilled SFT: the prompt, the checks on what the teacher wrote, generation
(batched, resumable, one commit per batch) and reading the traces back.

A trace belongs to a stored record, but it explains that record's *content*: the copy of a record in a round's
augmented dataset (same 病案标识, same text and labels, so the same ``content_hash``) shares the traces of the
original. Generating for ``train@r1`` therefore asks the teacher only about the variants a round merged in, and
:func:`load_traces` of ``train@r1`` finds the traces written for ``train``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session, aliased

from db.engine import read_session, write_session
from db.models import Badcase, Dataset, ReasoningTrace, Record
from db.vocabulary import SUBTASKS
from pipeline.audit import audit
from pipeline.domain import label_space
from pipeline.domain.parsers import answer_items, answer_text, items_to_codes, multi_answer_items
from pipeline.domain.prompts import PRINCIPAL_DEFINITIONS, name_to_code
from pipeline.domain.records import TEXT_SECTIONS, record_text
from pipeline.errors import InputError, SraditError
from pipeline.privacy.gate import records_in_flight, screen
from pipeline.protocols import Messages, Progress, Sampling, TextGenerator

#: Bump when the teacher prompt or the checks change: traces are stored (and resumed) per prompt version.
PROMPT_VERSION = "cotd-v2"
#: A trace shorter than this is no reasoning; one longer than MAX_CHARS would crowd out the record in SFT.
MIN_CHARS = 20
MAX_CHARS = 3000
#: A trace argues for the gold codes, weighing a few alternatives; one that names more candidates than this besides
#: the gold lists the label space instead (a teacher that named all 57 used to pass, since it named the gold too).
MAX_ALTERNATIVES = 8
#: Every candidate of both sub-tasks: (code, name).
_ALL_NAMES = {**label_space.OTHER, **label_space.PRINCIPAL}
_CANDIDATE_NAMES = tuple(_ALL_NAMES.items())

_SYSTEM = "你是一名资深心血管内科医生，同时精通中文疾病分类（ICD-10）编码，擅长用严谨的临床推理解释诊断结论。"
_STYLE = (
    "写作要求：\n"
    "- 以独立阅读病历、自行分析的口吻书写，不得提及诊断是事先给出、已知或核定的，不得出现“答案”一类字眼；\n"
    "- 只输出推理正文（纯文本），不要使用<think>、<answer>等标签，不要使用Markdown标题或表格；\n"
    "- 只依据病历中写明的内容，不编造病历中没有的检查结果或数值；\n"
    "- 全文不超过{max_chars}字。"
)


# ---------------------------------------------------------------------------------------------- the prompt


def _principal_part(principal: str) -> tuple[str, str]:
    name = label_space.PRINCIPAL.get(principal, principal)
    lines = "\n".join(
        f"{i}. {n}：{PRINCIPAL_DEFINITIONS.get(code, '')}".rstrip("：")
        for i, (code, n) in enumerate(label_space.PRINCIPAL.items(), 1)
    )
    return f"候选主要诊断（含定义）：\n{lines}", name


def teacher_messages(
    subtask: str, record: Mapping[str, str], principal: str, others: Sequence[str], max_chars: int = MAX_CHARS
) -> Messages:
    """The teacher's prompt: the record, the sub-task's candidates, the gold diagnoses by name, and the request to
    reason from the record's evidence to them (without saying they were given)."""
    if subtask not in SUBTASKS:
        raise InputError(f"sub-task {subtask!r} is not one of {', '.join(SUBTASKS)}")
    other_names = "；".join(label_space.OTHER.get(c, c) for c in others)
    candidates_other = f"候选其他诊断：{'；'.join(label_space.OTHER.values())}"
    candidates_principal, principal_name = _principal_part(principal)
    if subtask == "principal":
        candidates = candidates_principal
        gold = f"本病例经编码专家核定的主要诊断为：{principal_name}。"
        steps = (
            "请写出从病历证据推导出这一主要诊断的临床推理过程：\n"
            "1. 摘引病历中的关键证据（主诉、症状、体征、心电图、心肌损伤标志物、影像、血压、诊疗经过等），"
            "说明它们如何符合该诊断的定义；\n"
            "2. 简要说明为什么不选择其他候选主要诊断；\n"
            f"3. 最后一句写“综合以上，主要诊断为{principal_name}。”，诊断名称与上文完全一致。"
        )
    elif subtask == "other":
        candidates = candidates_other
        gold = f"本病例经编码专家核定的其他诊断为：{other_names}。"
        steps = (
            "请写出从病历证据推导出这些其他诊断的临床推理过程：\n"
            "1. 逐一说明病历中支持每一个诊断的证据（既往史、检查结果、入院诊断、诊疗经过等）；\n"
            "2. 对病历中提到但不应作为其他诊断的候选（已排除、仅为疑似、与主要诊断重复），简要说明理由；\n"
            f"3. 最后一句写“综合以上，其他诊断为{other_names}。”，诊断名称与上文完全一致。"
        )
    else:
        candidates = f"{candidates_principal}\n\n{candidates_other}"
        gold = f"本病例经编码专家核定的主要诊断为：{principal_name}；其他诊断为：{other_names}。"
        steps = (
            "请写出从病历证据推导出上述全部诊断的临床推理过程：\n"
            "1. 先依据关键证据说明主要诊断，并简要说明为什么不选择其他候选主要诊断；\n"
            "2. 再逐一说明支持每一个其他诊断的证据；\n"
            f"3. 最后一句写“综合以上，主要诊断为{principal_name}，其他诊断为{other_names}。”，"
            "诊断名称与上文完全一致。"
        )
    user = (
        f"患者病历如下：\n{record_text(dict(record), TEXT_SECTIONS)}\n\n{candidates}\n\n{gold}\n\n{steps}\n\n"
        f"{_STYLE.format(max_chars=max_chars)}"
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


# ------------------------------------------------------------------------------------ what the teacher wrote

_ANSWER_BLOCK_RE = re.compile(r"<answer>.*?(?:</answer>|$)", re.S | re.I)
_THINK_RE = re.compile(r"<think>(.*?)(?:</think>|$)", re.S | re.I)
_TAG_RE = re.compile(r"</?\s*(?:think|answer)\s*>|<\|[^|<>]*\|>", re.I)
#: Words that give away that the teacher was handed the answer (the student must learn to reason, not to quote).
GIVEN_AWAY = ("答案", "核定", "事先给出", "题目给出", "题目中给出", "已给出", "给定的诊断", "已知诊断为", "已知的诊断")
_NAME_FOLD = str.maketrans({"（": "(", "）": ")", "［": "[", "］": "]", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "Ⅰ": "I"})


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", text.translate(_NAME_FOLD)).upper()


def clean_trace(raw: str) -> str:
    """The reasoning in a teacher's output: answer blocks dropped; the text outside think blocks, or the think
    blocks' content when nothing is outside them; leftover tags and chat tokens removed; blank lines squeezed."""
    text = raw.replace("\r\n", "\n")
    if text.lower().count("</think>") > text.lower().count("<think>"):
        text = "<think>" + text  # a chat template that opened the think block in the prompt
    text = _ANSWER_BLOCK_RE.sub("", text)
    outside = _THINK_RE.sub("", text).strip()
    body = outside if _TAG_RE.sub("", outside).strip() else "\n".join(_THINK_RE.findall(text))
    body = _TAG_RE.sub("", body)
    lines = [line.rstrip() for line in body.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _answer_contradicts(raw: str, subtask: str, principal: str, others: Sequence[str]) -> str | None:
    """When the teacher also wrote an answer block, what in it disagrees with the gold codes (else None)."""
    body = answer_text(raw)
    if body is None or not body.strip():
        return None
    wrapped = f"<answer>{body}</answer>"
    p_map, o_map = name_to_code(label_space.PRINCIPAL), name_to_code(label_space.OTHER)
    if subtask == "multi":
        p_items, o_items = multi_answer_items(wrapped)
        got_p, got_o = items_to_codes(p_items, p_map), items_to_codes(o_items, o_map)
    elif subtask == "principal":
        got_p, got_o = items_to_codes(answer_items(wrapped), p_map), None
    else:
        got_p, got_o = None, items_to_codes(answer_items(wrapped), o_map)
    if got_p is not None and got_p != [principal]:
        return f"its answer names {got_p or 'no known principal'} instead of {principal}"
    if got_o is not None and set(got_o) != set(others):
        return f"its answer names {sorted(got_o)} instead of {sorted(others)}"
    return None


def parse_trace(
    raw: str, subtask: str, principal: str, others: Sequence[str], max_chars: int = MAX_CHARS
) -> tuple[str | None, str | None]:
    """(trace, None) for usable reasoning, else (None, why not). The reason's kind is the part before ':'.

    Refused: empty or shorter than MIN_CHARS; longer than ``max_chars``; an answer block that contradicts the
    gold; reasoning that never names a gold diagnosis (it does not lead to them); one that says it was given
    the answer."""
    contradiction = _answer_contradicts(raw, subtask, principal, others)
    if contradiction:
        return None, f"contradicts the gold: {contradiction}"
    text = clean_trace(raw)
    if not text:
        return None, "empty: no reasoning in the output"
    if len(text) < MIN_CHARS:
        return None, f"too short: {len(text)} characters (at least {MIN_CHARS})"
    if len(text) > max_chars:
        return None, f"too long: {len(text)} characters (at most {max_chars})"
    given = [w for w in GIVEN_AWAY if w in text]
    if given:
        return None, f"gives the answer away: says {'、'.join(given)}"
    folded = _fold(text)
    wanted = []
    if subtask in ("principal", "multi"):
        wanted.append((principal, label_space.PRINCIPAL.get(principal, principal)))
    if subtask in ("other", "multi"):
        wanted += [(c, label_space.OTHER.get(c, c)) for c in others]
    missing = [name for code, name in wanted if _fold(name) not in folded and _fold(code) not in folded]
    if missing:
        return None, f"does not reach the gold: never names {'；'.join(missing)}"
    gold = {principal, *others}
    weighed = sorted({c for c, name in _CANDIDATE_NAMES if c not in gold and _fold(name) in folded})
    if len(weighed) > MAX_ALTERNATIVES:
        return None, (
            f"lists the candidates: names {len(weighed)} that are not gold (an argument weighs at most "
            f"{MAX_ALTERNATIVES}), e.g. {'；'.join(_ALL_NAMES[c] for c in weighed[:3])}"
        )
    return text, None


# ---------------------------------------------------------------------------------------------- generation


@dataclass
class TraceReport:
    teacher: str
    dataset: str
    prompt_version: str = PROMPT_VERSION
    records: int = 0  #: labelled records of the dataset
    generated: int = 0  #: traces stored by this run
    failed: int = 0  #: outputs refused after every attempt (nothing stored)
    skipped: int = 0  #: (record, sub-task) pairs already traced by this teacher and prompt version
    reasons: Counter[str] = field(default_factory=Counter)  #: why outputs were refused, by kind
    problems: list[str] = field(default_factory=list)  #: a few examples, naming their record

    def lines(self) -> list[str]:
        out = [
            f"traces {self.generated} (failed {self.failed})",
            f"  teacher {self.teacher}, prompt {self.prompt_version}, dataset {self.dataset}: {self.records} labelled "
            f"records, {self.skipped} record/sub-task pairs already traced",
        ]
        out += [f"  refused {n}×: {kind}" for kind, n in self.reasons.most_common()]
        out += [f"  ! {p}" for p in self.problems]
        return out


@dataclass(frozen=True)
class _Task:
    record_id: int
    case_id: str
    content_hash: str
    subtask: str
    record: dict[str, str]
    principal: str
    others: tuple[str, ...]


def _dataset(session: Session, dataset: str) -> Dataset:
    ds = session.scalar(select(Dataset).where(Dataset.name == dataset))
    if ds is None:
        names = ", ".join(session.scalars(select(Dataset.name))) or "none"
        raise InputError(f"there is no dataset {dataset!r} (datasets: {names})")
    return ds


def _labelled(session: Session, dataset_id: int) -> list[Record]:
    """Every labelled record of a dataset, originals and merged variants alike (SFT trains on both)."""
    return list(
        session.scalars(
            select(Record)
            .where(Record.dataset_id == dataset_id, Record.principal_code.is_not(None))
            .order_by(Record.id)
        )
    )


def check_subtasks(subtasks: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(s.strip() for s in subtasks if s.strip()))
    wrong = [s for s in chosen if s not in SUBTASKS]
    if wrong or not chosen:
        raise InputError(f"sub-tasks must be some of {', '.join(SUBTASKS)}; got {', '.join(chosen) or 'none'}")
    return chosen


def check_request(engine: Engine, dataset: str, subtasks: Iterable[str]) -> tuple[str, ...]:
    """Refuse a request before any model is loaded: unknown sub-tasks, a missing or unlabelled dataset."""
    chosen = check_subtasks(subtasks)
    with read_session(engine) as s:
        if not _labelled(s, _dataset(s, dataset).id):
            raise InputError(f"dataset {dataset!r} has no labelled records to explain")
    return chosen


def _traced(session: Session, teacher: str, version: str, case_ids: Iterable[str]) -> set[tuple[str, str, str]]:
    """(病案标识, content_hash, sub-task) that already have a trace of this teacher and prompt version."""
    ids = list(set(case_ids))
    found: set[tuple[str, str, str]] = set()
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Record.case_id, Record.content_hash, ReasoningTrace.subtask)
            .join(ReasoningTrace, ReasoningTrace.record_id == Record.id)
            .where(
                ReasoningTrace.teacher == teacher,
                ReasoningTrace.prompt_version == version,
                Record.case_id.in_(ids[start : start + 500]),
            )
        )
        found |= {(c, h, t) for c, h, t in rows}
    return found


def generate_traces(
    engine: Engine,
    generator: TextGenerator,
    teacher_name: str,
    dataset: str,
    subtasks: Iterable[str],
    progress: Progress | None = None,
    batch_size: int = 16,
    *,
    temperature: float = 0.7,
    max_tokens: int = 1500,
    max_attempts: int = 2,
    max_chars: int = MAX_CHARS,
    seed: int = 0,
    actor: str = "job",
) -> TraceReport:
    """Ask the teacher for one trace per labelled record and sub-task of ``dataset``, ``batch_size`` prompts per
    call, re-asking for refused ones (up to ``max_attempts``; once only at temperature 0, where a retry would
    repeat itself). Each batch's traces are committed together; a rerun skips what this teacher already traced
    with this prompt version, so a stopped run continues where it was and nothing is stored twice. Refused
    outputs are counted in the report and never stored."""
    chosen = check_subtasks(subtasks)
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    report = TraceReport(teacher_name, dataset)
    with read_session(engine) as s:
        records = _labelled(s, _dataset(s, dataset).id)
        if not records:
            raise InputError(f"dataset {dataset!r} has no labelled records to explain")
        done = _traced(s, teacher_name, PROMPT_VERSION, (r.case_id for r in records))
        report.records = len(records)
        todo: list[_Task] = []
        for rec in records:
            for subtask in chosen:
                if (rec.case_id, rec.content_hash, subtask) in done:
                    report.skipped += 1
                    continue
                row = {"病案标识": rec.case_id, **rec.sections}
                others = tuple(rec.other_codes or [])
                todo.append(
                    _Task(rec.id, rec.case_id, rec.content_hash, subtask, row, rec.principal_code or "", others)
                )
    attempts = max(1, max_attempts) if temperature > 0 else 1
    batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    finished = 0
    with records_in_flight(t.record for t in todo):
        # An external teacher's gate refuses now, before the first batch is sent and stored, if it would later.
        screen(generator, [teacher_messages(t.subtask, t.record, t.principal, t.others, max_chars) for t in todo])
        for number, batch in enumerate(batches):
            try:
                made = _generate_batch(
                    generator, batch, temperature, max_tokens, attempts, max_chars, seed + number, report
                )
            except SraditError as e:
                # The engine went away: the batches before are committed; say where it stopped.
                report.problems.append(f"stopped at {batch[0].case_id} ({batch[0].subtask}): {e}")
                raise SraditError("\n".join(report.lines())) from e
            report.generated += _store(engine, teacher_name, made)
            finished += len(batch)
            if progress:
                progress(finished, len(todo))
    if progress and not todo:
        progress(1, 1)
    with write_session(engine) as s:
        audit(
            s,
            actor,
            "cotd.generate",
            f"dataset {dataset}",
            teacher=teacher_name,
            prompt_version=PROMPT_VERSION,
            subtasks=list(chosen),
            generated=report.generated,
            failed=report.failed,
            skipped=report.skipped,
        )
    return report


def _generate_batch(
    generator: TextGenerator,
    batch: list[_Task],
    temperature: float,
    max_tokens: int,
    attempts: int,
    max_chars: int,
    seed: int,
    report: TraceReport,
) -> list[tuple[_Task, str]]:
    made: list[tuple[_Task, str]] = []
    pending = list(range(len(batch)))  # positions in the batch still without a usable trace
    last_error: dict[int, str] = {}
    for attempt in range(1, attempts + 1):
        if not pending:
            break
        tasks = [batch[i] for i in pending]
        prompts = [teacher_messages(t.subtask, t.record, t.principal, t.others, max_chars) for t in tasks]
        outputs = generator.generate(prompts, Sampling(temperature, 1, max_tokens, seed=seed * 1000 + attempt))
        retry = []
        for i, task, texts in zip(pending, tasks, outputs, strict=True):
            trace, error = parse_trace(texts[0] if texts else "", task.subtask, task.principal, task.others, max_chars)
            if trace is None:
                last_error[i] = error or "unparseable"
                retry.append(i)
            else:
                made.append((task, trace))
        pending = retry
    for i in pending:
        task, error = batch[i], last_error.get(i, "unparseable")
        report.failed += 1
        report.reasons[error.split(":", 1)[0]] += 1
        if len(report.problems) < 5:
            report.problems.append(f"{task.case_id} ({task.subtask}): {error}")
    return made


def _store(engine: Engine, teacher: str, made: list[tuple[_Task, str]]) -> int:
    if not made:
        return 0
    stored = 0
    with write_session(engine) as s:
        # Re-read under the write lock: a concurrent run may have stored some of these meanwhile.
        have = _traced(s, teacher, PROMPT_VERSION, (t.case_id for t, _ in made))
        for task, text in made:
            key = (task.case_id, task.content_hash, task.subtask)
            if key in have:
                continue
            have.add(key)
            s.add(
                ReasoningTrace(
                    record_id=task.record_id,
                    subtask=task.subtask,
                    teacher=teacher,
                    prompt_version=PROMPT_VERSION,
                    text=text,
                )
            )
            stored += 1
    return stored


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class TraceRow:
    """One stored trace, as the Badcases page shows it."""

    case_id: str
    dataset: str
    subtask: str
    teacher: str
    prompt_version: str
    text: str
    created_at: datetime


def load_traces(
    engine: Engine, dataset: str, teacher: str | None = None, prompt_version: str | None = None
) -> dict[tuple[str, str], str]:
    """(病案标识, sub-task) → the newest trace of each labelled record of ``dataset`` (or of an identical record of
    another dataset: same 病案标识 and content), optionally only one teacher's or one prompt version's. This is what
    a CoT-distilling learner's SFT targets think with."""
    owner, target = aliased(Record), aliased(Record)
    with read_session(engine) as s:
        ds = _dataset(s, dataset)
        q = (
            select(target.case_id, ReasoningTrace.subtask, ReasoningTrace.text)
            .join(owner, owner.id == ReasoningTrace.record_id)
            .join(target, and_(target.case_id == owner.case_id, target.content_hash == owner.content_hash))
            .where(target.dataset_id == ds.id, target.principal_code.is_not(None))
            .order_by(ReasoningTrace.created_at, ReasoningTrace.id)
        )
        if teacher is not None:
            q = q.where(ReasoningTrace.teacher == teacher)
        if prompt_version is not None:
            q = q.where(ReasoningTrace.prompt_version == prompt_version)
        # Oldest first, so the newest overwrites.
        return {(case_id, subtask): text for case_id, subtask, text in s.execute(q)}


def traces_of_record(engine: Engine, case_id: str, content_hash: str | None = None) -> list[TraceRow]:
    """Every stored trace of the records with this 病案标识 (only those with this content, when given), newest first."""
    with read_session(engine) as s:
        q = (
            select(ReasoningTrace, Record.case_id, Dataset.name)
            .join(Record, Record.id == ReasoningTrace.record_id)
            .join(Dataset, Dataset.id == Record.dataset_id)
            .where(Record.case_id == case_id)
            .order_by(ReasoningTrace.created_at.desc(), ReasoningTrace.id.desc())
        )
        if content_hash is not None:
            q = q.where(Record.content_hash == content_hash)
        return [
            TraceRow(cid, ds, t.subtask, t.teacher, t.prompt_version, t.text, t.created_at)
            for t, cid, ds in s.execute(q)
        ]


def traces_of_badcase(engine: Engine, badcase_id: int) -> list[TraceRow]:
    """The traces that explain a badcase's record (its own, and those of identical copies), newest first."""
    with read_session(engine) as s:
        found = s.execute(
            select(Record.case_id, Record.content_hash)
            .join(Badcase, Badcase.record_id == Record.id)
            .where(Badcase.id == badcase_id)
        ).first()
    if found is None:
        return []
    return traces_of_record(engine, found[0], found[1])
