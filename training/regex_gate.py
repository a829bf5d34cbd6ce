"""A cheap test that a regular expression cannot match a text, from the literal pieces every match contains.

The baseline coder runs some eighty synonym patterns over each part of a record, and nine times in ten a
pattern matches nothing; scanning to find that out was the costliest step of the label-consistency filter.
Python's ``re`` has no prefilter of its own for patterns that open with an alternation or an optional
group, so this one is derived from the parsed pattern: for ``冠心病|CHD`` every match contains "冠心病" or
"CHD", and a text holding neither is skipped. The test is only ever "cannot match" or "may match", so
skipping never changes a result; a pattern it does not understand is always scanned.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

#: Alternatives kept per pattern; past this the requirement is dropped (never wrong, only less selective).
_MAX_ALTERNATIVES = 32

#: Disjunctive normal form: the pattern may match only if, for some alternative, all its pieces occur.
Requirement = list[frozenset[str]]
_NOTHING: Requirement = [frozenset()]  # one alternative that requires nothing: always scan


def _pieceable(ch: str, ignore_case: bool) -> bool:
    """Whether a literal character can go into a piece. Under IGNORECASE pieces are looked up in the
    case-folded text: right for characters without case and for ASCII letters, whose every re.I
    equivalent folds to the same letter (K → k, ſ → s) — except i, which re.I also equates with İ and ı."""
    if not ignore_case:
        return True
    if ch.isascii() and ch.isalpha():
        return ch not in "iI"
    return ch.lower() == ch == ch.upper() == ch.casefold()


def _and(a: Requirement, b: Requirement) -> Requirement:
    out = list(dict.fromkeys(x | y for x in a for y in b))
    return out if len(out) <= _MAX_ALTERNATIVES else _NOTHING


def _sequence(items: list[tuple[object, object]], ignore_case: bool) -> Requirement:
    req: Requirement = _NOTHING
    run: list[str] = []

    def close() -> None:
        nonlocal req
        if run:
            piece = "".join(run)
            req = _and(req, [frozenset({piece.casefold() if ignore_case else piece})])
            run.clear()

    for op, av in items:
        if op is sre_c.LITERAL and _pieceable(chr(av), ignore_case):  # type: ignore[arg-type]
            run.append(chr(av))  # type: ignore[arg-type]
            continue
        close()
        if op is sre_c.SUBPATTERN:
            if av[1] or av[2]:  # type: ignore[index]  # local flags such as (?i:…): not worth the care
                return _NOTHING
            req = _and(req, _sequence(list(av[-1]), ignore_case))  # type: ignore[index]
        elif op is sre_c.BRANCH:
            alternatives: Requirement = []
            for branch in av[1]:  # type: ignore[index]
                alternatives += _sequence(list(branch), ignore_case)
            req = _and(req, list(dict.fromkeys(alternatives)) if frozenset() not in alternatives else _NOTHING)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT) and av[0] >= 1:  # type: ignore[index]
            req = _and(req, _sequence(list(av[2]), ignore_case))  # type: ignore[index]
        # Anything else (classes, any, optional parts, look-arounds, anchors) requires no piece.
    close()
    return req


def requirement(pattern: re.Pattern[str]) -> Requirement:
    """What every match of ``pattern`` contains, as alternatives of pieces (case-folded under
    IGNORECASE); ``[frozenset()]`` (always scan) when unknown."""
    try:
        return _sequence(list(sre_parse.parse(pattern.pattern, pattern.flags)), bool(pattern.flags & re.I))
    except Exception:  # noqa: BLE001 - an unexpected parse tree only costs the prefilter
        return _NOTHING


#: The character classes a pattern may name, as expressions that test one character (others: assumed to accept it).
_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: r"\d",
    sre_c.CATEGORY_NOT_DIGIT: r"\D",
    sre_c.CATEGORY_SPACE: r"\s",
    sre_c.CATEGORY_NOT_SPACE: r"\S",
    sre_c.CATEGORY_WORD: r"\w",
    sre_c.CATEGORY_NOT_WORD: r"\W",
}


def never_reaches(pattern: re.Pattern[str], chars: str) -> bool:
    """Whether no match of ``pattern`` contains any of ``chars`` and no look-around or anchor sees one. Then a text
    cut right after such a character matches piece by piece exactly as it does whole: a look-behind that would
    look across the cut fails there as it fails at a text's start, a look-ahead likewise at its end, and no match
    spans the cut. A construct this does not know counts as reaching (the answer is then False)."""
    try:
        return _never(list(sre_parse.parse(pattern.pattern, pattern.flags)), chars, pattern.flags)
    except Exception:  # noqa: BLE001 - an unexpected parse tree: not known to be safe
        return False


def _never(items: list[tuple[object, object]], chars: str, flags: int) -> bool:
    for op, av in items:
        if op in (sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN):
            if any(_accepts(op, av, ch, flags) for ch in chars):
                return False
        elif op is sre_c.SUBPATTERN:
            if av[1] or av[2] or not _never(list(av[3]), chars, flags):  # type: ignore[index]
                return False
        elif op is sre_c.BRANCH:
            if not all(_never(list(branch), chars, flags) for branch in av[1]):  # type: ignore[index]
                return False
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            if not _never(list(av[2]), chars, flags):  # type: ignore[index]
                return False
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            if not _never(list(av[1]), chars, flags):  # type: ignore[index]
                return False
        elif op is sre_c.ATOMIC_GROUP:
            if not _never(list(av), chars, flags):  # type: ignore[call-overload]
                return False
        else:  # anchors, back-references, conditionals: they may depend on what lies across a cut
            return False
    return True


def _accepts(op: object, av: object, ch: str, flags: int) -> bool:
    """Whether the one-character item ``(op, av)`` can match ``ch``."""
    forms = {ch, ch.lower(), ch.upper()} if flags & re.I else {ch}
    if op is sre_c.LITERAL:
        return chr(av) in forms  # type: ignore[arg-type]
    if op is sre_c.NOT_LITERAL:
        return chr(av) not in forms or len(forms) > 1  # type: ignore[arg-type]
    if op is sre_c.ANY:
        return ch != "\n" or bool(flags & re.S)
    negate = hit = False
    for item, value in av:  # type: ignore[attr-defined]
        if item is sre_c.NEGATE:
            negate = True
        elif item is sre_c.LITERAL:
            hit |= chr(value) in forms
        elif item is sre_c.RANGE:
            hit |= any(value[0] <= ord(f) <= value[1] for f in forms)
        elif item is sre_c.CATEGORY and value in _CATEGORIES:
            hit |= any(re.fullmatch(_CATEGORIES[value], f) for f in forms)
        else:
            return True
    return hit != negate


#: Where a text is cut for the cache below: after each clause (。 ; , : or a line break). A rewrite moves and rewords
#: clauses, so most of a variant's clauses are its original's, or a sibling's, word for word.
_CUT_CHARS = "。;；,:\n"
_CUT = re.compile(f"(?<=[{_CUT_CHARS}])")


class GatedPatterns:
    """Compiled patterns with their prefilters.

    The pieces present in a text are found clause by clause, each clause's cached: a piece holds no cut character,
    so it occurs in the text exactly when it occurs in one of its clauses. They are kept as a bit mask (a bit per
    piece), and the patterns that may match cached by mask: the variants of one record mostly hold the same pieces."""

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        self.patterns = patterns
        # A piece is tagged by where it is looked up: the text as it is, or case-folded (IGNORECASE).
        alternatives = [
            [frozenset((bool(p.flags & re.I), piece) for piece in alt) for alt in requirement(p)] for p in patterns
        ]
        pieces = sorted({piece for alts in alternatives for alt in alts for piece in alt})
        self._cut = not any(ch in piece for _fold, piece in pieces for ch in _CUT_CHARS)
        bit = {tagged: 1 << k for k, tagged in enumerate(pieces)}
        self._alternatives = [[sum(bit[piece] for piece in alt) for alt in alts] for alts in alternatives]
        # By first character: a clause is searched for the pieces that start with one of its characters only.
        self._by_first: dict[tuple[bool, str], list[tuple[str, int]]] = {}
        for fold, piece in pieces:
            self._by_first.setdefault((fold, piece[0]), []).append((piece, bit[fold, piece]))
        self._tags = sorted({fold for fold, _piece in pieces})
        # A mask is checked against the patterns that need no piece and those that need one of its pieces only.
        self._always = {j for j, alts in enumerate(self._alternatives) if 0 in alts}
        self._users: list[set[int]] = [set() for _ in pieces]
        for j, alts in enumerate(self._alternatives):
            for alt in alts:
                for k in range(alt.bit_length()):
                    if alt >> k & 1:
                        self._users[k].add(j)
        self._mask = functools.lru_cache(maxsize=65536)(self._sentence_mask)
        self._candidates = functools.lru_cache(maxsize=16384)(self._candidates_of)

    def may_match(self, text: str) -> list[bool]:
        """Per pattern: False when it cannot match ``text``, True when it may."""
        may = set(self.candidates(text))
        return [j in may for j in range(len(self.patterns))]

    def candidates(self, text: str) -> tuple[int, ...]:
        """The indexes of the patterns that may match ``text``, in order (the others cannot)."""
        mask = 0
        for clause in _CUT.split(text) if self._cut else (text,):
            mask |= self._mask(clause)
        return self._candidates(mask)

    def _sentence_mask(self, text: str) -> int:
        mask = 0
        for fold in self._tags:
            # case folding is per character: a clause's is the text's, cut the same way
            within = text.casefold() if fold else text
            for ch in set(within):
                for piece, bit in self._by_first.get((fold, ch), ()):
                    if piece in within:
                        mask |= bit
        return mask

    def _candidates_of(self, mask: int) -> tuple[int, ...]:
        found = set(self._always)
        rest = mask
        while rest:
            low = rest & -rest
            found |= self._users[low.bit_length() - 1]
            rest ^= low
        return tuple(j for j in sorted(found) if any(alt & mask == alt for alt in self._alternatives[j]))
