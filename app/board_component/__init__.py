"""The variant board's browser side: an ``st.components.v2`` component that holds the badcase's cards and the
reading pane in the page, so the keys answer there.

J/K move the focus and the pane follows with no server round trip; a decision shows on its card at once and goes
to Python as an action (the variant's id, the decision, the score, the text, a client sequence number) in the
component's ``actions`` state. The state holds every action Python has not acknowledged yet, in order, so two keys
whose runs coalesce both arrive, and Python applies each sequence number once in its Streamlit session
(app/review_board.py): every action carries the session's mark, and the browser drops the unacknowledged actions of
an earlier session (a reconnect after a restart, another account in the tab) instead of sending them to the new
one, saying so on the board. The page's runs send the board back with the last sequence applied: the browser
replays the actions still unacknowledged on top of it, so what an expert saw never flickers back. Python takes
nothing on the browser's word alone: the variant must be on a board of the page's round, the times must be times,
and a duration counts at most as long as the board has been open by the server's clock.

Record text reaches the page only as :func:`app.textdiff.diff_html`'s escaped HTML; every other value is set as
text by board.js, never as markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

from app.textdiff import diff_html
from pipeline.domain.records import TEXT_SECTIONS
from pipeline.review.board import Board, Card
from pipeline.review.keys import KeyMap

_HERE = Path(__file__).parent
KEY = "board_ui"

_board = st.components.v2.component(
    "sradit_board",
    html='<div class="sb-root"></div>',
    css=(_HERE / "board.css").read_text(encoding="utf-8"),
    js=(_HERE / "board.js").read_text(encoding="utf-8"),
    # In the page's own DOM: the tests and the key sheet find its elements, and its keys see the page's focus.
    isolate_styles=False,
)


#: textdiff's inline styles; board.css styles the board's ``del`` and ``ins`` instead. Record text is escaped with
#: its quotes (``&quot;``), so a quoted attribute can only be textdiff's own markup.
_STYLE = re.compile(r' style="[^"]*"')


@lru_cache(maxsize=4096)
def _diff(original: str, variant: str) -> tuple[str, str]:
    """A section's two sides; the variants' text never changes, so each pair is diffed once per process. Each run
    sends the board whole: without the inline styles the demo's 20 variants are a third fewer bytes."""
    left, right = diff_html(original, variant)
    return _STYLE.sub("", left), _STYLE.sub("", right)


def _card(card: Card, original: Mapping[str, str]) -> dict[str, Any]:
    mine = card.mine
    return {
        "id": card.variant_id,
        "number": card.number,
        "place": f"rank {card.rank}" if card.rank else "filtered out" if card.passed is False else "unranked",
        "similarity": None if card.similarity is None else round(card.similarity),
        "summary": card.summary,
        "verdicts": [[name, ok, reason] for name, (ok, reason) in card.verdicts.items()],
        "mine": None
        if mine is None
        else {
            "decision": mine.decision,
            "score": mine.score,
            "best": mine.best,
            "text": mine.reason or mine.comment,
            "reason": mine.reason is not None,
        },
        "votes": None if card.others_hidden else [card.approvals, card.rejections, card.best_votes],
        # Only the changed sections travel twice; an unchanged one is the original's text on both sides.
        "diffs": {name: _diff(original.get(name, ""), card.sections.get(name, "")) for name in card.changed},
    }


def board_data(
    board: Board,
    names: Mapping[str, str],
    keys: KeyMap,
    *,
    acked: int,
    focus: int | None,
    focus_token: int,
    scores: Mapping[int, int],
    session: str,
) -> dict[str, Any]:
    """What the component draws: the cards, the original's sections, the gold codes with names, the expert's keys,
    and the session's part (the last action applied, a focus Python asks for, scores waiting for a decision)."""
    gold = [[board.gold_principal, names.get(board.gold_principal, ""), True]]
    gold += [[c, names.get(c, ""), False] for c in board.gold_others]
    why = [f"predicted principal {board.predicted_principal or '—'}"] if "principal_miss" in board.error_types else []
    why += [f"missed {c}" for c in board.missing] + [f"extra {c}" for c in board.extra]
    if board.label_error_confidence is not None:
        why.append(f"label doubt {board.label_error_confidence:.0%}")
    return {
        "badcase": board.badcase_id,
        "sections": list(TEXT_SECTIONS),
        "original": {name: html.escape(board.original.get(name, "")) for name in TEXT_SECTIONS},
        "gold": gold,
        "why": ", ".join(why) or "—",
        "cards": [_card(c, board.original) for c in board.cards],
        "blind": board.blind,
        "keys": keys.keys,
        "auto_advance": keys.auto_advance,
        "acked": acked,
        "focus": focus,
        "focus_token": focus_token,
        "scores": {str(k): v for k, v in scores.items()},
        "session": session,
    }


def draw(data: dict[str, Any], on_actions: Callable[[], None]) -> None:
    """Mount the board; ``on_actions`` runs (before the page's script) whenever the browser sends actions."""
    _board(key=KEY, data=data, default={"actions": []}, on_actions_change=on_actions)


def sent_actions() -> list[dict[str, Any]]:
    """The actions the browser sent (every one not yet acknowledged when it sent them), in sequence order."""
    state = st.session_state.get(KEY) or {}
    actions = state.get("actions") or []
    return sorted((a for a in actions if isinstance(a, dict) and isinstance(a.get("seq"), int)), key=lambda a: a["seq"])
