"""The shape of an EMR record in the competition's own format."""

from __future__ import annotations

ID_KEY = "病案标识"
MAIN_KEY = "主要诊断编码"
OTHER_KEY = "其他诊断编码"

#: The eleven text sections, in the order the competition files use (the twelfth is 病案标识).
TEXT_SECTIONS: tuple[str, ...] = (
    "主诉",
    "现病史",
    "既往史",
    "个人史",
    "婚姻史",
    "家族史",
    "入院情况",
    "入院诊断",
    "诊疗经过",
    "出院情况",
    "出院医嘱",
)


def record_text(sections: dict[str, str], keys: tuple[str, ...] = TEXT_SECTIONS) -> str:
    """The record as one text, each section headed by its name (what models read)."""
    return "\n".join(f"{k}：{sections.get(k, '')}" for k in keys)
