"""The LLM rewrite generator: a prompt for a label-preserving paraphrase, parsed back into sections,
with rejection sampling of malformed outputs up to a budget."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pipeline.augment.rewriting import GeneratedVariant, VariantRequest
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.privacy.gate import screen
from pipeline.protocols import Messages, Sampling, TextGenerator

REWRITE_PROMPT_VERSION = "rewrite-v1"

_SYSTEM = "你是一名资深临床医生和病案编码员，擅长在不改变任何医学事实的前提下改写中文出院病历。"
_RULES = (
    "请将下面的病历改写为语义完全相同、措辞不同的一份新病历。要求：\n"
    "1. 保留全部诊断，不增加、不删除、不改变任何诊断及其分级；\n"
    "2. 保留每一个数字及其单位（血压、心率、LVEF、化验值、日期、病程等），数值不得改变；\n"
    "3. 保留所有否定表述（否认…、无…、未见…）及左右侧别；\n"
    "4. 十一个部分全部保留，每部分以【部分名】开头，顺序不变，不得输出其他内容。"
)
_HEADING_RE = re.compile(r"【\s*(" + "|".join(TEXT_SECTIONS) + r")\s*】")


def rewrite_messages(sections: Mapping[str, str]) -> Messages:
    body = "\n".join(f"【{name}】{sections.get(name, '')}" for name in TEXT_SECTIONS)
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": f"{_RULES}\n\n{body}"}]


def parse_rewrite(text: str) -> tuple[dict[str, str] | None, str | None]:
    """(sections, None) for a well-formed rewrite, else (None, what is wrong)."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S)
    parts = _HEADING_RE.split(text)
    found: dict[str, str] = {}
    for name, content in zip(parts[1::2], parts[2::2], strict=False):
        if name in found:
            return None, f"section {name} appears twice"
        found[name] = content.strip()
    missing = [n for n in TEXT_SECTIONS if not found.get(n)]
    if missing:
        return None, f"missing or empty sections: {', '.join(missing)}"
    return found, None


class LLMRewriter:
    """Samples the missing variants in one batched call, re-asks for the malformed ones up to ``max_attempts``."""

    generator_name = "llm"
    prompt_version = REWRITE_PROMPT_VERSION

    def __init__(
        self,
        generator: TextGenerator,
        model: str,
        *,
        temperature: float = 0.9,
        max_tokens: int = 6000,
        max_attempts: int = 3,
    ) -> None:
        self.generator, self.model = generator, model
        self.temperature, self.max_tokens, self.max_attempts = temperature, max_tokens, max_attempts

    def screen(self, requests: Sequence[VariantRequest]) -> None:
        """Refuse the whole round now if an external model's gate would refuse one of its records later."""
        screen(self.generator, [rewrite_messages(r.sections) for r in requests])

    def variants(self, sections: Mapping[str, str], start: int, n: int, seed: int) -> list[GeneratedVariant]:
        """Variants number ``start`` … ``start + n - 1`` of this record."""
        prompt = rewrite_messages(sections)
        done: list[GeneratedVariant] = []
        pending = n
        last_error = "no output"
        for attempt in range(1, self.max_attempts + 1):
            if pending == 0:
                break
            sampling = Sampling(self.temperature, pending, self.max_tokens, seed=seed + 1000 * attempt + start)
            for text in self.generator.generate([prompt], sampling)[0]:
                parsed, error = parse_rewrite(text)
                if parsed is None:
                    last_error = error or "malformed"
                    continue
                done.append(GeneratedVariant(parsed, (), None, attempt, sampling.seed, self.temperature))
                pending -= 1
        failed = [
            GeneratedVariant(
                None,
                (),
                f"no well-formed rewrite after {self.max_attempts} attempts: {last_error}",
                self.max_attempts,
                seed,
                self.temperature,
            )
            for _ in range(pending)
        ]
        return done + failed
