"""The paper's two sub-task prompts, in the project's own words (docs/method.md, "Sample design").

Models read and answer disease *names*; parsers map names back to codes. Both prompts ask for the
reasoning inside <think>…</think> and the answer inside <answer>…</answer>.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.domain import label_space
from pipeline.domain.records import TEXT_SECTIONS, record_text
from pipeline.protocols import Messages

#: Short clinical definitions of the five principal diagnoses, given to the model in the principal prompt.
PRINCIPAL_DEFINITIONS: dict[str, str] = {
    "I10.x00x032": "收缩压≥180mmHg和/或舒张压≥110mmHg，并伴多项心血管危险因素、靶器官损害或临床并发症。",
    "I20.000": "急性冠脉综合征的一种：静息或轻微活动时出现缺血性胸痛，较稳定型心绞痛更重、更久或更频繁。",
    "I20.800x007": "又称心脏X综合征：有典型心绞痛表现，但冠状动脉造影未见有意义的狭窄。",
    "I21.401": "冠脉部分闭塞所致的急性冠脉综合征：心肌损伤标志物升高，心电图无ST段抬高，可有ST段压低或T波倒置。",
    "I50.900x018": "在慢性心力衰竭基础上症状和体征迅速加重，需要紧急处理。",
}

_FORMAT = "请先在<think></think>中写出推理过程，再在<answer></answer>中给出答案。"

PRINCIPAL_SYSTEM = "你是一名中文疾病分类（ICD-10编码）专家，负责根据出院病历确定主要诊断。"
OTHER_SYSTEM = "你是一名中文疾病分类（ICD-10编码）专家，负责根据出院病历确定全部其他诊断。"


def principal_messages(record: Mapping[str, str], candidates: Mapping[str, str] | None = None) -> Messages:
    """The principal sub-task: exactly one of the five candidate diseases."""
    candidates = candidates or label_space.PRINCIPAL
    lines = "\n".join(
        f"{i}. {name}：{PRINCIPAL_DEFINITIONS.get(code, '')}".rstrip("：")
        for i, (code, name) in enumerate(candidates.items(), 1)
    )
    user = (
        f"患者病历如下：\n{record_text(record, TEXT_SECTIONS)}\n\n"
        f"候选主要诊断（含定义）：\n{lines}\n\n"
        f"请从候选中选出唯一一个主要诊断，答案只写疾病名称。{_FORMAT}"
    )
    return [{"role": "system", "content": PRINCIPAL_SYSTEM}, {"role": "user", "content": user}]


def other_messages(record: Mapping[str, str], candidates: Mapping[str, str] | None = None) -> Messages:
    """The other sub-task: every candidate disease that applies, separated by ；."""
    candidates = candidates or label_space.OTHER
    names = "；".join(candidates.values())
    user = (
        f"患者病历如下：\n{record_text(record, TEXT_SECTIONS)}\n\n"
        f"候选其他诊断：{names}\n\n"
        f"请选出该患者所有符合的其他诊断（可多个，用“；”分隔），答案只写疾病名称。{_FORMAT}"
    )
    return [{"role": "system", "content": OTHER_SYSTEM}, {"role": "user", "content": user}]


def name_to_code(candidates: Mapping[str, str]) -> dict[str, str]:
    return {name: code for code, name in candidates.items()}


MULTI_SYSTEM = "你是一名中文疾病分类（ICD-10编码）专家，负责根据出院病历同时确定主要诊断和其他诊断。"


def multi_messages(record: Mapping[str, str]) -> Messages:
    """The multi-task form: both answers at once (主要诊断 line, then 其他诊断 line)."""
    lines = "\n".join(
        f"{i}. {name}：{PRINCIPAL_DEFINITIONS.get(code, '')}"
        for i, (code, name) in enumerate(label_space.PRINCIPAL.items(), 1)
    )
    user = (
        f"患者病历如下：\n{record_text(record, TEXT_SECTIONS)}\n\n"
        f"候选主要诊断（含定义）：\n{lines}\n\n候选其他诊断：{'；'.join(label_space.OTHER.values())}\n\n"
        f"请在答案中先写“主要诊断：”加唯一一个疾病名称，换行后写“其他诊断：”加所有符合的疾病名称（用“；”分隔）。{_FORMAT}"
    )
    return [{"role": "system", "content": MULTI_SYSTEM}, {"role": "user", "content": user}]


def target_completion(task: str, principal: str, others: list[str], think: str | None = None) -> str:
    """The assistant turn of an SFT sample, in the think/answer form, answering names.

    The think block holds a teacher's reasoning when CoT distillation supplies one, and is empty otherwise:
    a fixed placeholder would teach every model the same made-up sentence.
    """
    p_name = label_space.PRINCIPAL.get(principal, principal)
    o_names = [label_space.OTHER.get(c, c) for c in others]
    if task == "principal":
        body = p_name
    elif task == "other":
        body = "；".join(o_names)
    else:
        body = f"主要诊断：{p_name}\n其他诊断：{'；'.join(o_names)}"
    reasoning = f"\n{think.strip()}\n" if think and think.strip() else "\n"
    return f"<think>{reasoning}</think>\n<answer>{body}</answer>"


def sft_conversation(
    task: str, record: Mapping[str, str], principal: str, others: list[str], think: str | None = None
) -> Messages:
    """A whole SFT sample: the sub-task's prompt and the target answer."""
    answer = target_completion(task, principal, others, think)
    return [*task_messages(task, record), {"role": "assistant", "content": answer}]


def task_messages(task: str, record: Mapping[str, str]) -> Messages:
    if task == "principal":
        return principal_messages(record)
    if task == "other":
        return other_messages(record)
    return multi_messages(record)
