"""The ``sradit`` command on the real files of ../shared/data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import User
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY
from tests.conftest import ROOT, row_counts


def test_db_init_is_idempotent(cli: Any) -> None:
    assert "revision" in cli("db", "init").output
    assert "revision" in cli("db", "init").output


def test_commands_refuse_a_database_without_schema(cli: Any, tmp_path: Path) -> None:
    result = cli("codes", "show", "I20.000", ok=False)
    assert result.exit_code == 1 and "run `sradit db init` first" in result.output


def test_codes_import_and_show_on_the_real_dictionary(cli: Any, shared_data: Path) -> None:
    cli("db", "init")
    assert "37294 codes: 37294 new" in cli("codes", "import", str(shared_data / "icd10_clinical_v2.tsv")).output
    # The xlsx holds the same dictionary: nothing changes.
    assert (
        "0 new, 0 renamed, 37294 unchanged"
        in cli("codes", "import", str(shared_data / "icd10_clinical_v2.xlsx")).output
    )
    out = cli("codes", "show", "i20.000").output
    assert out.startswith("I20.000\t不稳定型心绞痛") and "principal" in out
    missing = cli("codes", "show", "I20.9999", ok=False)
    assert missing.exit_code == 1 and "not in the dictionary" in missing.output and "I20.000" in missing.output


def test_bad_dictionary_names_the_row_and_imports_nothing(cli: Any, db_url: str, tmp_path: Path) -> None:
    cli("db", "init")
    before = row_counts(make_engine(db_url))
    bad = tmp_path / "dict.tsv"
    bad.write_text("code\tname\nI20.000\t不稳定型心绞痛\n不是编码\t名字\nE78.500\t\n", encoding="utf-8")
    result = cli("codes", "import", str(bad), ok=False)
    assert result.exit_code == 1
    assert "row 2: '不是编码' is not an ICD-10 code" in result.output
    assert "row 3: code E78.500 has no name" in result.output
    assert row_counts(make_engine(db_url)) == before


def test_import_and_score_on_the_real_records(cli: Any, shared_data: Path, tmp_path: Path) -> None:
    cli("db", "init")
    assert "206 labelled" in cli("import", str(shared_data / "ccl25_train_206.json"), "--dataset", "train").output
    assert "200 unlabelled" in cli("import", str(shared_data / "ccl25_testA_200.json"), "--dataset", "testA").output

    gold = json.loads((shared_data / "ccl25_train_206.json").read_text(encoding="utf-8"))
    perfect = [{ID_KEY: r[ID_KEY], "预测结果": f"[{r[MAIN_KEY]}|{r[OTHER_KEY]}]"} for r in gold]
    (tmp_path / "perfect.json").write_text(json.dumps(perfect, ensure_ascii=False), encoding="utf-8")
    out = cli("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(tmp_path / "perfect.json"))
    assert "score            100.00" in out.output

    # Half the records predicted with the right principal and no other code; the rest missing.
    half = [{ID_KEY: r[ID_KEY], "预测结果": f"[{r[MAIN_KEY]}|]"} for r in gold[:103]]
    (tmp_path / "half.json").write_text(json.dumps(half, ensure_ascii=False), encoding="utf-8")
    out = cli("score", "--gold", str(shared_data / "ccl25_train_206.json"), "--pred", str(tmp_path / "half.json"))
    assert "score            25.00" in out.output
    assert "principal acc.   50.00" in out.output
    assert "missing preds    103 (scored 0)" in out.output


def test_user_add_stores_a_salted_hash_and_prints_a_generated_password(cli: Any, db_url: str) -> None:
    cli("db", "init")
    out = cli("user", "add", "li", "--role", "expert").output
    generated = out.strip().split()[-1]
    cli("user", "add", "wang", "--role", "engineer", "--password", generated)
    with read_session(make_engine(db_url)) as s:
        hashes = {u.name: u.password_hash for u in s.scalars(select(User))}
    assert generated not in hashes["li"] and hashes["li"].startswith("scrypt$")
    assert hashes["li"] != hashes["wang"]  # same password, different salts
    dup = cli("user", "add", "li", "--role", "admin", ok=False)
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad_role = cli("user", "add", "zhao", "--role", "doctor", ok=False)
    assert bad_role.exit_code == 2


def test_demo_builds_and_refuses_to_overwrite(cli: Any, db_url: str) -> None:
    out = cli("demo").output
    for name, password in (("expert", "expert-demo"), ("engineer", "engineer-demo"), ("admin", "admin-demo")):
        assert f"{name} / {password}" in out
    counts = row_counts(make_engine(db_url))
    assert counts["records"] >= 60 and counts["users"] == 3
    again = cli("demo", ok=False)
    assert again.exit_code == 1 and "--force" in again.output
    cli("demo", "--force")
    assert row_counts(make_engine(db_url))["users"] == 3


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
