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
