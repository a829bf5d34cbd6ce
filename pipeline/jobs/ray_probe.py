"""``python -m pipeline.jobs.ray_probe FILE TOKEN``: the probe job a cluster runs before this app sends it work.

It writes TOKEN into FILE, a path in the app's data folder (the app reads it back: the node sees the same shared
storage at the same path), then asks the database for one row (the node reaches it). Each failure is one line
starting ``probe:``, which the app quotes; the exit code tells the app which check failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import text


def main(argv: list[str]) -> int:
    answer, token = Path(argv[0]), argv[1]
    try:
        answer.write_text(token, encoding="utf-8")
    except OSError as e:
        # A node without the shared folder has no such directory: the app then reads nothing back.
        print(f"probe: cannot write {answer} on this node ({e.strerror or e})", flush=True)
        return 3
    from pipeline.database import engine_for
    from pipeline.settings import Settings

    try:
        with engine_for(Settings.from_env()).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 — whatever the driver says is the answer, on one line
        said = " ".join(str(getattr(e, "orig", None) or e).split())[:300]
        print(f"probe: the database does not answer from this node ({type(e).__name__}: {said})", flush=True)
        return 4
    print("probe: data folder and database reached", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
