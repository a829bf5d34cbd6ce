"""What every command shares: the schema check of the lazy context, and errors without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import ROOT


def test_commands_refuse_a_database_without_schema(cli: Any, tmp_path: Path) -> None:
    result = cli("codes", "show", "I20.000", ok=False)
    assert result.exit_code == 1 and "run `sradit db init` first" in result.output


def test_installed_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    """The console script itself, as a user runs it (not the in-process runner)."""
    exe = Path(sys.executable).with_name("sradit")
    env = {**os.environ, "SRADIT_DB_URL": f"sqlite:///{tmp_path / 'e.db'}"}
    ok = subprocess.run([str(exe), "db", "init"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [str(exe), "import", str(tmp_path / "nope.json"), "--dataset", "x"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1
    assert "no such file" in bad.stderr and "Traceback" not in bad.stderr and bad.stdout == ""


def test_a_reader_that_goes_away_ends_the_listing_quietly(tmp_path: Path) -> None:
    """`sradit jobs list | head -1`: head exits after one line; the listing must not print a BrokenPipe error."""
    from db.engine import make_engine, write_session
    from db.models import Job

    exe = Path(sys.executable).with_name("sradit")
    env = {**os.environ, "SRADIT_DB_URL": f"sqlite:///{tmp_path / 'e.db'}", "SRADIT_DATA_DIR": str(tmp_path / "var")}
    subprocess.run([str(exe), "db", "init"], check=True, capture_output=True, env=env, cwd=ROOT)
    engine = make_engine(env["SRADIT_DB_URL"])
    with write_session(engine) as s:  # more lines than a pipe holds before the reader has gone
        s.add_all(Job(kind="predict", status="succeeded", lane="cpu", config={}, created_by="t") for _ in range(300))
    engine.dispose()
    shell = subprocess.run(
        f"'{exe}' jobs list | head -1", shell=True, capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert shell.stdout.count("\n") == 1
    assert shell.stderr == "", shell.stderr


#: What a light command must not import: each costs seconds of start-up (torch and transformers together about 2 s).
HEAVY = ("torch", "transformers", "trl", "sklearn", "vllm", "ray", "pandas", "streamlit")
LIGHT = (["--help"], ["codes", "show", "I10.x00x002"], ["round", "status"], ["jobs", "list"], ["model", "list"])


def test_light_commands_import_nothing_heavy(tmp_path: Path) -> None:
    """`sradit --help` and the listing commands start in well under a second (bench/bench_startup.py times them):
    what keeps them there is that none of them imports a heavy library — checked here, not timed."""
    script = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "SRADIT_DB_URL": f"sqlite:///{tmp_path / 'e.db'}", "SRADIT_DATA_DIR": str(tmp_path / "var")}
    subprocess.run([str(Path(sys.executable).with_name("sradit")), "db", "init"], env=env, cwd=ROOT, check=True)
    for args in LIGHT:
        done = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == "[]", (args, done.stdout[-300:])
