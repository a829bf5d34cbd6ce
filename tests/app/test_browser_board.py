"""The variant board in a real browser (issue 26): a badcase's variants on one screen, from the keyboard alone —
the keys answered in the page, decisions landing on the variants they were pressed on, the reading pane in view,
undo, blind review, rebound keys. The demo app served by `streamlit run`, driven by Playwright with Debian's
chromium (tests/app/browser.py)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import Review, User
from pipeline.domain.records import TEXT_SECTIONS
from tests.app.browser import settle, sign_in

BOARD_VARIANTS = 6


def _board_expert(db_url: str, name: str) -> int:
    """A fresh expert, and the badcase their board opens on widened to at least 6 passed variants if the demo
    gave fewer: copies of its variants with one more character, ranked after the others."""
    from db.engine import write_session
    from db.models import Variant
    from pipeline.accounts.users import add_user
    from pipeline.review.board import next_badcase

    engine = make_engine(db_url)
    add_user(engine, name, "expert", f"{name}-password", "test")
    with read_session(engine) as s:
        uid = s.scalar(select(User.id).where(User.name == name))
    assert uid is not None
    bid = next_badcase(engine, uid, 1)
    assert bid is not None
    with write_session(engine) as s:
        variants = list(s.scalars(select(Variant).where(Variant.badcase_id == bid).order_by(Variant.seq)))
        passed = [v for v in variants if v.passed]
        for k in range(BOARD_VARIANTS - len(passed)):
            src = passed[k % len(passed)]
            sections = dict(src.sections or {})
            sections["主诉"] = sections.get("主诉", "") + "。" * (k + 1)
            s.add(
                Variant(
                    badcase_id=bid,
                    seq=len(variants) + k,
                    sections=sections,
                    generator="rules",
                    edits=[f"test copy {k + 1}"],
                    passed=True,
                    rank=len(passed) + k + 1,
                    similarity=src.similarity,
                )
            )
    engine.dispose()
    return uid


def _votes(db_url: str, uid: int) -> list[tuple[int, str, bool, str | None]]:
    with read_session(make_engine(db_url)) as s:
        rows = s.scalars(select(Review).where(Review.reviewer_id == uid, Review.undone_at.is_(None)))
        return sorted((r.variant_id, r.decision, r.best, r.reason) for r in rows)


FOCUSED = ".sb-card.focused"


def _focused(page: Page) -> str:
    return page.locator(f"{FOCUSED} .sb-title").first.inner_text()


def _press(page: Page, key: str, shows: str) -> None:
    """A key, then wait until the page shows ``shows`` and the run is over."""
    page.keyboard.press(key)
    expect(page.get_by_text(shows).first).to_be_visible(timeout=60_000)
    settle(page)


def _open_board(page: Page) -> None:
    page.get_by_role("link", name="Review queue").click()
    expect(page.get_by_text("keys: J/K move")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.locator(FOCUSED)).to_be_visible(timeout=30_000)  # the board's script has drawn the cards


def _board_page(browser: Browser, app_url: tuple[str, str], name: str) -> tuple[Page, int]:
    """A fresh expert ``name`` signed in at 1440×900 on their board (see :func:`_board_expert`), and their id."""
    url, db_url = app_url
    uid = _board_expert(db_url, name)
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(page, url, name, f"{name}-password")
    _open_board(page)
    return page, uid


def test_an_expert_decides_a_badcase_on_the_board_from_the_keyboard(browser: Browser, app_url: tuple[str, str]) -> None:
    url, db_url = app_url
    page, uid = _board_page(browser, app_url, "boarder")
    cards = page.get_by_role("button", name=re.compile(r"^Variant \d+$"))
    n = cards.count()
    assert n >= BOARD_VARIANTS
    numbers = [cards.nth(i).inner_text() for i in range(n)]
    on_screen = [b for i in range(n) if (b := cards.nth(i).bounding_box()) and b["y"] + b["height"] <= 900]
    assert len(on_screen) >= 5, f"{len(on_screen)} of {n} variants on the first screen"  # seen at once
    assert _focused(page) == numbers[0]  # the first ranked has focus
    page.keyboard.press("j")
    expect(page.locator(f"{FOCUSED} .sb-title").first).to_have_text(numbers[1], timeout=60_000)
    settle(page)
    _press(page, "b", f"best picked: {numbers[1]}; {n - 1} variants left undecided")
    page.keyboard.press("j")
    expect(page.locator(f"{FOCUSED} .sb-title").first).to_have_text(numbers[2], timeout=60_000)
    settle(page)
    # A reason without the mouse: T opens the box, the reason is typed, Enter rejects with it.
    page.keyboard.press("t")
    page.keyboard.type("x marks a changed diagnosis")
    _press(page, "Enter", f"reject: {numbers[2]}")
    box = page.get_by_role("textbox", name=re.compile("Reason or comment"))
    expect(box).to_have_value("")
    # The next X is a decision, not an "x" typed into the reason box.
    focused = _focused(page)
    _press(page, "x", f"reject: {focused}")
    expect(box).to_have_value("")
    # Ctrl+Enter approves with the typed text as a comment.
    focused = _focused(page)
    page.keyboard.press("t")
    page.keyboard.type("same meaning")
    _press(page, "Control+Enter", f"approve: {focused} — same meaning")
    expect(box).to_have_value("")
    _press(page, "Shift+X", "every variant decided")
    votes = _votes(db_url, uid)
    assert len(votes) == n and len({v for v, *_ in votes}) == n  # one vote on each variant
    assert [(d, b) for _v, d, b, _r in votes].count(("approve", True)) == 1
    assert sorted(r for *_x, r in votes if r) == ["x marks a changed diagnosis"]
    assert [(d, b) for _v, d, b, _r in votes].count(("approve", False)) == 1
    page.close()


def test_two_tabs_of_one_expert_never_leave_two_active_decisions(browser: Browser, app_url: tuple[str, str]) -> None:
    url, db_url = app_url
    uid = _board_expert(db_url, "twotabs")
    context = browser.new_context()
    a, b = context.new_page(), context.new_page()
    sign_in(a, url, "twotabs", "twotabs-password")
    _open_board(a)
    b.goto(url)  # a second tab: the session cookie signs it in
    expect(b.get_by_text("Signed in as twotabs")).to_be_visible(timeout=30_000)
    _open_board(b)
    first = _focused(a)
    assert _focused(b) == first  # both tabs show the same board, focus on the same variant
    _press(a, "a", f"approve: {first}")
    _press(a, "u", f"undone: {first}")
    _press(a, "a", f"approve: {first}")
    _press(b, "x", f"reject: {first}")  # the stale tab decides the same variant
    votes = _votes(db_url, uid)
    assert [d for _v, d, _b, _r in votes] == ["reject"]  # one active decision: the latest
    context.close()


def _set_blind(db_url: str, blind: bool) -> None:
    from db.engine import write_session
    from db.models import Round

    engine = make_engine(db_url)
    with write_session(engine) as s:
        rnd = s.scalar(select(Round).where(Round.number == 1))
        assert rnd is not None
        rnd.config = {**rnd.config, "blind_review": blind}
    engine.dispose()


def test_undo_goes_back_one_step_and_blind_review_hides_the_others_votes(
    browser: Browser, app_url: tuple[str, str]
) -> None:
    url, db_url = app_url
    page, uid = _board_page(browser, app_url, "stepper")
    first = _focused(page)
    page.keyboard.press("3")
    expect(page.locator(FOCUSED)).to_contain_text("score 3")  # on the card at once, and sent with the X after it
    _press(page, "x", f"reject: {first}")  # X moves on to the next variant …
    _press(page, "k", first)
    expect(page.locator(f"{FOCUSED} .sb-title").first).to_have_text(first, timeout=60_000)
    _press(page, "b", f"best: {first}")  # … B on the rejected one replaces the reject …
    _press(page, "u", f"undone: {first} best · score 3 → reject · score 3")  # … and U brings the reject back
    assert [(d, b) for _v, d, b, _r in _votes(db_url, uid)] == [("reject", False)]

    _set_blind(db_url, True)
    try:
        other = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        _board_expert(db_url, "blinded")
        sign_in(other, url, "blinded", "blinded-password")
        _open_board(other)
        assert _focused(other) == first  # the same badcase, where stepper's reject stands
        card = other.locator(FOCUSED)
        expect(card.get_by_text("experts: hidden until you vote (blind review)")).to_be_visible()
        _press(other, "a", f"approve: {first}")
        _press(other, "k", first)
        # voted: the counts show, stepper's reject among them (other tests of this module vote here too)
        counts = other.locator(FOCUSED).get_by_text(re.compile(r"experts: ✓[1-9]\d* ✗[1-9]"))
        expect(counts).to_be_visible()
        other.close()
    finally:
        _set_blind(db_url, False)
    page.close()


def test_a_rebound_key_decides_on_the_board(browser: Browser, app_url: tuple[str, str]) -> None:
    url, db_url = app_url
    page, uid = _board_page(browser, app_url, "rebinder")
    # ? opens the key sheet; approve is rebound to Y and saved on the account
    page.keyboard.press("?")
    expect(page.get_by_text("Keys on the board")).to_be_visible(timeout=30_000)
    page.get_by_label("approve", exact=True).fill("Y")
    page.get_by_role("button", name="Save my keys").click()
    expect(page.get_by_text("Your keys are saved.")).to_be_visible(timeout=30_000)
    page.keyboard.press("Escape")
    settle(page)
    expect(page.get_by_text("Y approve").first).to_be_visible()
    first = _focused(page)
    _press(page, "y", f"approve: {first}")
    assert [d for _v, d, _b, _r in _votes(db_url, uid)] == ["approve"]
    page.close()


def _decided(db_url: str, uid: int) -> dict[int, tuple[str, int | None, str | None, str | None]]:
    """Variant N → (decision, score, reason, comment) of the expert's active votes."""
    from db.models import Variant

    with read_session(make_engine(db_url)) as s:
        rows = s.execute(
            select(Variant.seq, Review)
            .join(Review, Review.variant_id == Variant.id)
            .where(Review.reviewer_id == uid, Review.undone_at.is_(None))
        ).all()
        return {seq + 1: (r.decision, r.score, r.reason, r.comment) for seq, r in rows}


def test_fast_keys_decide_the_variants_they_were_pressed_on(browser: Browser, app_url: tuple[str, str]) -> None:
    """3, X, then T, typing and Ctrl+Enter, with no wait for any run: the reject (with its score) lands on the first
    variant and the approve with its comment on the next one, never both on one (issue 26)."""
    _url, db_url = app_url
    page, uid = _board_page(browser, app_url, "hasty")
    first = _focused(page)
    page.keyboard.press("3")
    page.keyboard.press("x")
    second = _focused(page)  # auto-advance moved the focus in the browser, before any run came back
    assert second != first
    page.keyboard.press("t")
    page.keyboard.type("same meaning")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text(f"approve: {second} — same meaning").first).to_be_visible(timeout=60_000)
    settle(page)
    n1, n2 = (int(v.split()[1]) for v in (first, second))
    assert _decided(db_url, uid) == {n1: ("reject", 3, None, None), n2: ("approve", None, None, "same meaning")}
    page.close()


def _box_in_view(page: Page, width: int, height: int) -> dict[str, float]:
    box = page.locator(".sb-diff").bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, box
    assert box["height"] >= 150 and box["width"] >= 300, box  # a box to read in, not a sliver
    return box


def test_the_focused_diff_is_in_view_and_follows_the_keys(browser: Browser, app_url: tuple[str, str]) -> None:
    """The reading pane beside the cards: the focused variant's diff, the gold codes with names above it, inside
    the viewport at 1440×900 and 1280×800 with the page unscrolled; J moves it along; D shows every section, which
    scroll inside the box."""
    url, db_url = app_url
    _board_expert(db_url, "reader")
    for width, height in ((1440, 900), (1280, 800)):
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        sign_in(page, url, "reader", "reader-password")
        _open_board(page)
        first = _focused(page)
        _box_in_view(page, width, height)
        pane = page.locator(".sb-pane")
        expect(pane.locator(".sb-head")).to_contain_text(f"{first} ·")
        gold = pane.locator(".sb-gold")
        expect(gold).to_contain_text("gold: 主 ")
        assert gold.bounding_box()["y"] < page.locator(".sb-diff").bounding_box()["y"]  # type: ignore[index]
        page.keyboard.press("j")
        second = _focused(page)
        assert second != first
        expect(pane.locator(".sb-head")).to_contain_text(f"{second} ·")  # the pane follows the focus
        ids = page.evaluate("[...document.querySelectorAll('.sb-card.focused, .sb-diff')].map(e => e.dataset.variant)")
        assert len(ids) == 2 and ids[0] == ids[1], ids
        changed = page.locator(".sb-diff .sb-sec").count()
        page.keyboard.press("d")
        # every text section, not only the changed
        expect(page.locator(".sb-diff .sb-sec")).to_have_count(len(TEXT_SECTIONS))
        _box_in_view(page, width, height)
        overflow = page.evaluate(
            "(() => { const d = document.querySelector('.sb-diff');"
            " return [getComputedStyle(d).overflowY, d.scrollHeight > d.clientHeight]; })()"
        )
        assert overflow == ["auto", True]  # the sections scroll inside the box, not the page
        assert page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop") == 0
        page.keyboard.press("d")  # D again: the changed sections alone
        expect(page.locator(".sb-diff .sb-sec")).to_have_count(changed)
        page.close()


def test_a_decision_on_a_round_that_left_review_is_refused(browser: Browser, app_url: tuple[str, str]) -> None:
    from pipeline.rounds.lifecycle import set_stage

    url, db_url = app_url
    uid = _board_expert(db_url, "latecomer")
    page = browser.new_context().new_page()
    sign_in(page, url, "latecomer", "latecomer-password")
    _open_board(page)
    engine = make_engine(db_url)
    set_stage(engine, 1, "augmenting")  # the round moved on while the board was open
    try:
        _press(page, "a", "Round 1 has left review")
        expect(page.get_by_text("Not saved: round 1 has left review")).to_be_visible()
        assert _votes(db_url, uid) == []
    finally:
        set_stage(engine, 1, "in_review")
        engine.dispose()
    page.close()
