"""Export: write the augmented training set in a trainer's format; every version is listed."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from app.auth import require, user_name
from app.folders import FOLDER_HELP, confine, confinement
from app.inert import md
from app.state import ready_engine, settings
from pipeline.domain.vocabulary import EXPORT_FORMATS, EXPORT_SELECTIONS, EXPORT_TASKS, FRAMEWORKS
from pipeline.errors import SraditError
from pipeline.export.datasets import ExportConfig, export, list_exports, zip_folder
from pipeline.overview import round_numbers


def _counts(row_counts: dict[str, int]) -> str:
    """``60 train original records, 20 train variant records``: each count before what it counts."""
    return ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in row_counts.items())


require("engineer")
st.title("Export")
engine = ready_engine()
if engine is None:
    st.stop()
rounds = round_numbers(engine)
if not rounds:
    st.info("No round yet.")
    st.stop()

with st.form("export"):
    c1, c2, c3 = st.columns(3)
    round_no = c1.selectbox("Round (variants of this and earlier rounds)", rounds)
    fmt = c2.selectbox("Format", EXPORT_FORMATS)
    task = c3.selectbox("Task", EXPORT_TASKS, help="both: one row per sub-task")
    c4, c5, c6 = st.columns(3)
    selection = c4.selectbox("Variants", EXPORT_SELECTIONS, help="best: the selected variant of each badcase")
    min_score = c5.number_input("Minimum expert score (0: any)", 0, 5, 0)
    fold = c6.number_input("K-fold split: evaluation fold (-1: none)", -1, 9, -1)
    out = st.text_input("Folder", str(settings().workspace / "exports"), help=FOLDER_HELP)
    if st.form_submit_button("Export", type="primary"):
        try:
            cfg = ExportConfig(
                int(round_no),
                fmt,
                confine(out, settings()),
                selection,
                int(min_score) or None,
                task,
                None if fold < 0 else int(fold),
                confinement(settings()),
            )
            r = export(engine, cfg, user_name())
        except SraditError as e:
            st.error(md("{}", str(e)))
        else:
            st.success(md("v{} written to {}: {}", r.version, r.path, _counts(r.row_counts)))
            if fmt in FRAMEWORKS:
                where = "on the Ray cluster" if settings().job_backend == "ray" else "here"
                st.caption(md("Train it with {} itself, {}: Training page, trainer {}.", fmt, where, fmt))


exports = list_exports(engine)  # read once: the table and the download both use it
rows = [
    {
        "id": e.id,
        "round": e.round_no,
        "format": e.format,
        "version": e.version,
        "rows": e.row_counts.get("train", sum(e.row_counts.values())),
        "variants": e.row_counts.get("train_variant_records", "—"),  # a prompts export has none
        "path": str(Path(e.path).absolute()),
        "sha256": e.checksum[:12],
        "by": e.created_by,
        "created (UTC)": e.created_at.strftime("%Y-%m-%d %H:%M"),
    }
    for e in exports
]
st.subheader("Versions")
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    names = {
        r["id"]: f"#{r['id']} · round {r['round']} · {r['format']} v{r['version']} · {r['rows']} rows" for r in rows
    }
    st.markdown("**Download a version**")
    st.caption(
        "Each is zipped when its button is clicked, after its files are checked against its checksum: a version "
        "whose files changed since it was written is not served (the download fails; the server log says which file)."
    )
    for e in exports:
        folder = Path(e.path)
        left, right = st.columns([3, 2])
        left.markdown(md("{}", names[e.id]))
        if folder.is_dir():
            right.download_button(
                md("Download {}.zip", folder.name),
                partial(zip_folder, folder, e.checksum),  # deferred: nothing is zipped until the click
                file_name=f"{folder.name}.zip",
                mime="application/zip",
                key=f"download_{e.id}",
            )
        else:
            right.warning(md("{} is no longer on the server.", folder))
else:
    st.caption("None yet.")
