"""The board's key sheet (``?``): every key and what it does, and the expert's own binding and auto-advance."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from app.inert import inert
from pipeline.errors import InputError
from pipeline.review.keys import ACTIONS, KeyMap, save_keys


def _save(engine: Engine, uid: int) -> None:
    ss = st.session_state
    keys = {action: ss.get(f"board_key_{action}", default) for action, (default, _what) in ACTIONS.items()}
    try:
        save_keys(engine, uid, keys, bool(ss.get("board_key_auto_advance", True)))
    except InputError as e:
        ss["board_keys_message"] = f"Not saved: {e}"
        return
    ss["board_keys_message"] = "Your keys are saved."


def _reset(engine: Engine, uid: int) -> None:
    save_keys(engine, uid, {}, True)
    for action in ACTIONS:
        st.session_state.pop(f"board_key_{action}", None)
    st.session_state.pop("board_key_auto_advance", None)
    st.session_state["board_keys_message"] = "Your keys are the defaults again."


def key_sheet(engine: Engine, uid: int, keys: KeyMap) -> None:
    """A popover: the key sheet, then a form to rebind keys (stored on the account) and switch auto-advance."""
    with st.popover("Keys (?)"):
        st.markdown("**Keys on the board**")
        st.table({"key": [k for k, _what in keys.sheet()], "does": [what for _k, what in keys.sheet()]})
        message = st.session_state.pop("board_keys_message", None)
        if message:
            (st.error if message.startswith("Not saved") else st.success)(inert(message))
        with st.form("board_keys_form", border=False):
            st.markdown("**Your keys** (one letter, or Shift+ a letter; 1–5, C and R stay as they are)")
            cols = st.columns(3)
            for i, (action, (_default, what)) in enumerate(ACTIONS.items()):
                cols[i % 3].text_input(
                    inert(action.replace("_", " ")), keys.keys[action], key=f"board_key_{action}", help=inert(what)
                )
            st.toggle(
                "Auto-advance: after approve or reject, focus the next undecided variant",
                keys.auto_advance,
                key="board_key_auto_advance",
            )
            st.form_submit_button("Save my keys", on_click=_save, args=(engine, uid))
        st.button("Back to the default keys", key="board_keys_reset", on_click=_reset, args=(engine, uid))
