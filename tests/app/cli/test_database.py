"""`sradit db init`, `codes import/show`, `user add` and `demo` on the real files of ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import User
from tests.helpers import row_counts


def test_db_init_is_idempotent(cli: Any) -> None:
    assert "revision" in cli("db", "init").output
    assert "revision" in cli("db", "init").output


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
    accounts = (
        ("expert", "expert-demo"),
        ("expert2", "expert2-demo"),
        ("engineer", "engineer-demo"),
        ("admin", "admin-demo"),
    )
    for name, password in accounts:
        assert f"{name} / {password}" in out
    counts = row_counts(make_engine(db_url))
    assert counts["records"] >= 60 and counts["users"] == 4
    again = cli("demo", ok=False)
    assert again.exit_code == 1 and "--force" in again.output
    cli("demo", "--force")
    assert row_counts(make_engine(db_url))["users"] == 4


def test_a_second_demo_run_names_the_accounts_and_passwd_changes_one(cli: Any) -> None:
    cli("demo")
    again = cli("demo", "--if-missing").output
    assert "expert (expert)" in again and "sradit user passwd NAME" in again and "expert-demo" not in again
    assert "password of expert changed" in cli("user", "passwd", "expert", "--password", "new-secret-1").output
    from pipeline.accounts.users import authenticate

    engine = make_engine(cli.env["SRADIT_DB_URL"])
    assert authenticate(engine, "expert", "expert-demo") is None and authenticate(engine, "expert", "new-secret-1")
    assert cli("user", "passwd", "nobody", ok=False).exit_code == 1


def test_accounts_are_changed_and_disabled_from_the_cli(cli: Any) -> None:
    cli("demo")
    cli("user", "role", "expert2", "engineer")
    cli("user", "disable", "expert")
    lines = {line.split("\t")[0]: line.split("\t") for line in cli("user", "list").stdout.splitlines()}
    assert lines["expert"][1:3] == ["expert", "disabled"] and lines["expert2"][1:3] == ["engineer", "active"]
    cli("user", "enable", "expert")
    lines = {line.split("\t")[0]: line.split("\t") for line in cli("user", "list").stdout.splitlines()}
    assert lines["expert"][2] == "active"
    assert cli("user", "role", "expert", "doctor", ok=False).exit_code == 2


def test_user_unlock_lifts_an_account_s_sign_in_locks(cli: Any) -> None:
    from pipeline.accounts import throttle

    cli("demo")
    engine = make_engine(cli.env["SRADIT_DB_URL"])
    for client in ("10.0.0.1", "10.0.0.2"):
        for _ in range(throttle.FREE_FAILURES + 1):
            throttle.attempt(engine, "admin", client)
    assert cli("user", "unlock", "admin").stdout.strip() == "admin: 2 sign-in counters lifted"
    assert throttle.attempt(engine, "zhao", "10.0.0.1") > 0  # the client's own counter still holds
    assert cli("user", "unlock", "nobody").stdout.strip() == "nobody: 0 sign-in counters lifted"
    engine.dispose()
