"""The patient-data gate in front of an external model: nothing that the identifier table finds leaves.

``IdentifierGate`` wraps any ``TextGenerator``; the engine layer puts it in front of every model whose models-file
entry says ``external = true``, so every caller (rewrite, CoT teacher, predict, the filters) goes through it.

- ``redact``: each identifier becomes a placeholder such as 〔身份证号1〕 (numbered per kind within one
  conversation, the same value always the same placeholder) and the reply gets the original back.
- ``refuse``: nothing of the call is sent; the error names the record (病案标识), the field and the kind.

Callers that turn stored records into prompts say which records are in flight (:func:`records_in_flight`), so that
a refusal can name the record; callers that send in several calls and store as they go ask :func:`screen` first,
so that a refusal comes before anything is sent or stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from pipeline.domain.records import ID_KEY, TEXT_SECTIONS
from pipeline.domain.vocabulary import IDENTIFIER_MODES
from pipeline.errors import SraditError
from pipeline.privacy.detector import Hit, detect
from pipeline.protocols import Messages, Sampling, TextGenerator

_IN_FLIGHT: ContextVar[tuple[Mapping[str, str], ...]] = ContextVar("records_in_flight", default=())
# Prompts head each section with its name: "现病史：…" (record_text) or "【现病史】…" (the rewrite prompt).
_NAMES = "|".join(TEXT_SECTIONS)
_SECTION_RE = re.compile(r"(?:^|\n)[ \t]*(?:【(" + _NAMES + r")】|(" + _NAMES + r")：)")


class IdentifierRefused(SraditError):
    """An external model was not called because the text holds a patient identifier."""


@contextmanager
def records_in_flight(records: Iterable[Mapping[str, str]]) -> Iterator[None]:
    """The records (competition-format dicts with 病案标识) whose text the prompts sent meanwhile carry."""
    token = _IN_FLIGHT.set(tuple(records))
    try:
        yield
    finally:
        _IN_FLIGHT.reset(token)


@dataclass(frozen=True)
class Finding:
    """Where an identifier sits: the record (if known), the field, and its kind."""

    case_id: str | None
    field: str
    hit: Hit
    offset: int  #: characters from the start of the field (or message)

    def describe(self) -> str:
        return (
            f"病案标识 {self.case_id or '(not known: the caller named no record)'}, field {self.field}, "
            f"identifier: {self.hit.kind} ({self.hit.label}) at character {self.offset + 1}"
        )


def _locate(message: Mapping[str, str], number: int, hit: Hit) -> Finding:
    """The field the hit is in (the last section heading before it) and the record that field came from."""
    content = message.get("content") or ""
    headings = list(_SECTION_RE.finditer(content))
    before = [h for h in headings if h.end() <= hit.start]
    if not before:
        return Finding(None, f"(message {number}, {message.get('role', '?')}, outside the record)", hit, hit.start)
    heading = before[-1]
    field = heading.group(1) or heading.group(2)
    after = [h for h in headings if h.start() >= heading.end()]
    region = content[heading.end() : after[0].start() if after else len(content)]
    candidates = [r for r in _IN_FLIGHT.get() if hit.value in str(r.get(field) or "")]
    # The record whose field is the text sent wins; two admissions of one patient may share a field's words.
    exact = [r for r in candidates if region.strip().startswith(str(r.get(field)).strip())]
    chosen = (exact or candidates or [{}])[0]
    return Finding(chosen.get(ID_KEY), field, hit, hit.start - heading.end())


#: A field that ends in an identifier's cue (姓名：, 电话, 住院号 …) with nothing after it: the value may open the next
#: field, where no cue stands before it and no pattern may know it. Refuse mode refuses it; redact mode has no value
#: to replace, and relies on the patterns reading a cue's value across the next heading.
_DANGLING_CUE = re.compile(
    r"(?:姓\s*名|联系人|监护人|联系电话|电话|手机号?码?|联系方式|身份证号?码?|证件号码?|住\s*院\s*(?:编\s*)?号|"
    r"病\s*案\s*号码?|病人\s*ID|门诊号|住\s*址|地\s*址|出生日期|出生|DOB|[Tt][Ee][Ll])[ \t]*[:：#]?[ \t]*$"
)


def only_sections(messages: Messages, allowed: Sequence[str]) -> Messages:
    """The conversation with every record section not in ``allowed`` left out, heading and text (a section runs to
    the next heading or to the blank line that ends the record): an external model is sent only what its task
    needs. Text outside the record (instructions, candidates) stays."""
    out: Messages = []
    for message in messages:
        content = message.get("content") or ""
        kept, at = [], 0
        for heading in _SECTION_RE.finditer(content):
            if heading.start() < at:
                continue
            name = heading.group(1) or heading.group(2)
            following = _SECTION_RE.search(content, heading.end())
            blank = content.find("\n\n", heading.end())
            ends = [x for x in (following.start() if following else -1, blank) if x >= 0]
            end = min(ends) if ends else len(content)
            kept.append(content[at : heading.start()])
            if name in allowed:
                kept.append(content[heading.start() : end])
            at = end
        kept.append(content[at:])
        out.append({**message, "content": "".join(kept)})
    return out


def dangling_cues(prompts: Sequence[Messages]) -> list[Finding]:
    """Every field of the prompts whose text ends in an identifier's cue, located (record, field)."""
    found = []
    for messages in prompts:
        for number, message in enumerate(messages, 1):
            content = message.get("content") or ""
            headings = list(_SECTION_RE.finditer(content))
            ends = [h.start() for h in headings[1:]] + [len(content)] if headings else []
            for here, end in zip(headings, ends, strict=True):
                region = content[here.end() : end].rstrip()
                cue = _DANGLING_CUE.search(region)
                if cue is not None:
                    start = here.end() + cue.start()
                    hit = Hit("cue_without_value", "a cue whose value may open the next field", start, start, cue[0])
                    found.append(_locate(message, number, hit))
    return found


def find_identifiers(prompts: Sequence[Messages]) -> list[Finding]:
    """Every identifier in the prompts, each located (record, field)."""
    return [
        _locate(message, number, hit)
        for messages in prompts
        for number, message in enumerate(messages, 1)
        for hit in detect(message.get("content") or "")
    ]


def redact(messages: Messages) -> tuple[Messages, dict[str, str]]:
    """The conversation with each identifier replaced by its placeholder, and placeholder → original.

    A value found once is replaced wherever it occurs in the conversation: a name that follows 姓名： in one
    place is the same name where no cue stands before it."""
    placeholders: dict[str, str] = {}  # value → placeholder
    counts: dict[str, int] = {}
    for message in messages:
        for hit in detect(message.get("content") or ""):
            if hit.value not in placeholders:
                counts[hit.label] = counts.get(hit.label, 0) + 1
                placeholders[hit.value] = f"〔{hit.label}{counts[hit.label]}〕"
    # Longest first, so that a value inside a longer one (a phone number within an address line) cannot split it.
    values = sorted(placeholders, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in values)) if values else None
    out: Messages = [
        {**m, "content": pattern.sub(lambda x: placeholders[x.group(0)], m.get("content") or "")} if pattern else m
        for m in messages
    ]
    return out, {placeholder: value for value, placeholder in placeholders.items()}


def restore(text: str, originals: Mapping[str, str]) -> str:
    for placeholder, value in originals.items():
        text = text.replace(placeholder, value)
    return text


class IdentifierGate:
    """A ``TextGenerator`` that lets no patient identifier through to ``inner`` (see the module's docstring)."""

    def __init__(
        self, inner: TextGenerator, model: str, mode: str, source: str = "", sections: Sequence[str] | None = None
    ) -> None:
        if mode not in IDENTIFIER_MODES:
            raise SraditError(f"{source or 'the identifier mode'} {mode!r} is not one of {', '.join(IDENTIFIER_MODES)}")
        self.inner, self.model, self.mode, self.source = inner, model, mode, source
        #: the record sections this model is sent (None: every one); the others never leave
        self.sections = tuple(sections) if sections is not None else None

    def _allowed(self, prompts: Sequence[Messages]) -> list[Messages]:
        if self.sections is None:
            return list(prompts)
        return [only_sections(messages, self.sections) for messages in prompts]

    def screen(self, prompts: Sequence[Messages]) -> None:
        """In refuse mode, raise for the first identifier in any of the prompts (nothing is sent)."""
        if self.mode != "refuse":
            return
        prompts = self._allowed(prompts)
        findings = find_identifiers(prompts) + dangling_cues(prompts)
        if findings:
            more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
            raise IdentifierRefused(
                f"not sent to the external model {self.model!r}: {findings[0].describe()}{more}. Nothing was sent. "
                f"Remove the identifier from the record, or let the gate replace identifiers with placeholders "
                f'(identifiers = "redact" in the model\'s entry, or SRADIT_EXTERNAL_IDENTIFIERS=redact; now: '
                f"{self.source or 'refuse'})."
            )

    def generate(self, prompts: Sequence[Messages], sampling: Sampling) -> list[list[str]]:
        prompts = self._allowed(prompts)
        if self.mode == "refuse":
            self.screen(prompts)
            return self.inner.generate(prompts, sampling)
        redacted = [redact(messages) for messages in prompts]
        left = find_identifiers([messages for messages, _ in redacted])
        if left:  # a placeholder next to other text made a new match: refuse rather than send it
            raise IdentifierRefused(
                f"not sent to the external model {self.model!r}: after redaction, {left[0].describe()} remained. "
                "Nothing was sent."
            )
        replies = self.inner.generate([messages for messages, _ in redacted], sampling)
        return [
            [restore(text, originals) for text in texts]
            for texts, (_messages, originals) in zip(replies, redacted, strict=True)
        ]


def screen(generator: TextGenerator, prompts: Sequence[Messages]) -> None:
    """Refuse now, before a caller that sends in several calls has sent or stored anything, if the gate would
    refuse any of ``prompts`` later. A generator without a gate, or a gate that redacts, lets everything pass."""
    if isinstance(generator, IdentifierGate):
        generator.screen(prompts)
