"""What the board component is given: record text only as escaped HTML, a diff only for the changed sections, the
other experts' votes withheld under blind review, the session's part as sent."""

from __future__ import annotations

from app.board_component import board_data
from pipeline.review.board import Board, Card, Vote
from pipeline.review.keys import KeyMap


def _card(number: int, sections: dict[str, str], mine: Vote | None, hidden: bool) -> Card:
    return Card(
        variant_id=100 + number,
        number=number,
        rank=number,
        passed=True,
        similarity=91.4,
        changed=tuple(k for k, v in sections.items() if v != ORIGINAL.get(k, "")),
        summary="主诉 +1/−0",
        sections=sections,
        verdicts={"length": (True, "ok")},
        mine=mine,
        approvals=2,
        rejections=1,
        best_votes=0,
        others_hidden=hidden,
    )


ORIGINAL = {"主诉": "胸痛<script>x</script>", "现病史": "同上"}


def test_board_data_escapes_text_and_sends_only_changed_sections() -> None:
    mine = Vote(review_id=1, decision="reject", score=3, best=False, reason="<b>no</b>", comment=None)
    board = Board(
        badcase_id=7,
        round_no=1,
        case_id="ZY01",
        status="open",
        original=ORIGINAL,
        gold_principal="I10.x00",
        gold_others=("E11.900",),
        predicted_principal="I20.000",
        missing=("E11.900",),
        extra=(),
        error_types=("principal_miss", "other_miss"),
        label_error_confidence=0.25,
        cards=(
            _card(1, {**ORIGINAL, "主诉": "胸痛<script>y</script>"}, mine, hidden=False),
            _card(2, dict(ORIGINAL), None, hidden=True),
        ),
        blind=True,
    )
    data = board_data(
        board, {"I10.x00": "高血压"}, KeyMap(), acked=4, focus=101, focus_token=2, scores={102: 5}, session="s1"
    )
    assert data["session"] == "s1"  # the browser drops another session's unconfirmed actions on seeing a new one
    assert "<script>" not in str(data)  # record text only escaped, in the original and in the diffs
    assert data["original"]["主诉"] == "胸痛&lt;script&gt;x&lt;/script&gt;"
    one, two = data["cards"]
    assert list(one["diffs"]) == ["主诉"] and two["diffs"] == {}  # the unchanged sections are the original's
    left, right = one["diffs"]["主诉"]
    assert "<del>x</del>" in left and "<ins>y</ins>" in right and "style=" not in left + right  # board.css styles them
    assert one["votes"] == [2, 1, 0] and two["votes"] is None  # blind: withheld until this expert votes
    assert one["mine"] == {"decision": "reject", "score": 3, "best": False, "text": "<b>no</b>", "reason": True}
    assert data["gold"] == [["I10.x00", "高血压", True], ["E11.900", "", False]]
    assert data["why"] == "predicted principal I20.000, missed E11.900, label doubt 25%"
    assert (data["acked"], data["focus"], data["focus_token"], data["scores"]) == (4, 101, 2, {"102": 5})
    assert data["keys"]["approve"] == "A" and data["auto_advance"] is True
