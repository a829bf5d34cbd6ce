"""Migrations: an old database upgrades without losing a row; the models and the migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, MetaData, bindparam, select, text

from db import models  # noqa: F401
from db.base import Base
from db.engine import make_engine
from db.migrate import alembic_config, current_revision, head_revision, upgrade


def _revisions(engine) -> list[str]:  # type: ignore[no-untyped-def]
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_every_upgrade_keeps_every_row(db_url: str) -> None:
    engine = make_engine(db_url)
    revisions = _revisions(engine)
    upgrade(engine, revisions[0])
    # Rows written at the first revision, through plain SQL (the models may have moved on since).
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO datasets (id, name, created_at) VALUES (1, 'train', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO records (id, dataset_id, case_id, sections, principal_code, other_codes, content_hash,"
                " origin, created_at, updated_at) VALUES (1, 1, 'R1', :s, 'I20.000', :o, 'h', 'original',"
                " '2026-01-01', '2026-01-01')"
            ).bindparams(bindparam("s", type_=JSON), bindparam("o", type_=JSON)),
            {"s": {"主诉": "胸痛"}, "o": ["E78.500"]},
        )
        conn.execute(text("INSERT INTO codes (code, name) VALUES ('I20.000', '不稳定型心绞痛')"))
        conn.execute(
            text(
                "INSERT INTO users (id, name, role, password_hash, active, created_at) "
                "VALUES (1, 'e', 'expert', 'x', true, '2026-01-01')"
            )
        )
        conn.execute(
            text("INSERT INTO audit_log (id, at, actor, action) VALUES (1, '2026-01-01', 'cli', 'records.import')")
        )
        conn.execute(
            text(
                "INSERT INTO jobs (id, kind, status, config, progress, created_at) "
                "VALUES (1, 'import', 'succeeded', :c, 1, '2026-01-01')"
            ).bindparams(bindparam("c", type_=JSON)),
            {"c": {}},
        )
    before = _dump(engine, ["datasets", "records", "codes", "users", "audit_log", "jobs"])

    for revision in revisions[1:]:
        upgrade(engine, revision)
        if revision == "0002":  # a round mined by that version, to carry through the later migrations
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO rounds (id, number, status, created_at) VALUES (1, 1, 'mined', '2026-01-01')")
                )
    assert current_revision(engine) == head_revision(engine)
    after = _dump(engine, list(before))
    # Every row kept with every value it had; columns added since only come on top.
    assert {
        t: [{k: row[k] for k in old} for row, old in zip(after[t], rows, strict=True)] for t, rows in before.items()
    } == before
    assert after["jobs"][0]["lane"] == "cpu"  # a job from before lanes is a cpu job
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT number, status, mode, config FROM rounds").columns(config=JSON)  # parsed on both backends
        ).one()
    assert tuple(row) == (1, "generating", "interactive", {})


def _dump(engine, tables: list[str]) -> dict[str, list[dict[str, object]]]:  # type: ignore[no-untyped-def]
    meta = MetaData()
    meta.reflect(engine, only=tables)
    with engine.connect() as conn:
        return {
            t: [dict(r._mapping) for r in conn.execute(select(meta.tables[t]).order_by(*meta.tables[t].primary_key))]
            for t in tables
        }


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"the models differ from the migrations; write a migration for: {diff}"


def test_0009_keeps_each_experts_latest_vote_and_then_refuses_a_second(db_url: str) -> None:
    """Duplicate active votes written before 0009 (two tabs of one expert): the latest stays, the others are
    marked undone (not deleted), and the new index refuses a second active vote afterwards."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    upgrade(engine, "0008")
    day = "'2026-01-01'"
    with engine.begin() as conn:
        for sql in (
            f"INSERT INTO datasets (id, name, created_at) VALUES (1, 'train', {day})",
            "INSERT INTO records (id, dataset_id, case_id, sections, principal_code, other_codes, content_hash,"
            f" origin, created_at, updated_at) VALUES (1, 1, 'R1', '{{}}', 'I20.000', '[]', 'h', 'original', {day},"
            f" {day})",
            "INSERT INTO rounds (id, number, status, mode, config, results, created_at)"
            f" VALUES (1, 1, 'in_review', 'interactive', '{{}}', '{{}}', {day})",
            "INSERT INTO model_runs (id, kind, model_name, dataset_id, config, n_records, created_at)"
            f" VALUES (1, 'kfold', 'baseline', 1, '{{}}', 1, {day})",
            "INSERT INTO predictions (id, run_id, record_id, principal_code, other_codes, parsed)"
            " VALUES (1, 1, 1, 'I20.000', '[]', TRUE)",
            "INSERT INTO badcases (id, round_id, record_id, prediction_id, other_f1, score, error_types,"
            " gold_principal, missing_codes, extra_codes,"
            f" status, created_at) VALUES (1, 1, 1, 1, 0.5, 0.5, '[]', 'I20.000', '[]', '[]', 'in_review', {day})",
            "INSERT INTO variants (id, badcase_id, seq, sections, generator, edits, status, attempts, created_at)"
            f" VALUES (1, 1, 0, '{{}}', 'rules', '[]', 'generated', 1, {day})",
            "INSERT INTO users (id, name, role, password_hash, active, created_at) VALUES"
            f" (1, 'a', 'expert', 'x', TRUE, {day}), (2, 'b', 'expert', 'x', TRUE, {day})",
            "INSERT INTO reviews (id, variant_id, badcase_id, reviewer_id, decision, best, created_at) VALUES"
            f" (1, 1, 1, 1, 'approve', FALSE, {day}), (2, 1, 1, 1, 'reject', FALSE, {day}),"
            f" (3, 1, 1, 1, 'approve', FALSE, {day}), (4, 1, 1, 2, 'reject', FALSE, {day})",
        ):
            conn.execute(text(sql))
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, undone_at IS NULL FROM reviews ORDER BY id")).all()
    # expert 1's latest, expert 2's only
    assert [(r[0], bool(r[1])) for r in rows] == [(1, False), (2, False), (3, True), (4, True)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reviews (variant_id, badcase_id, reviewer_id, decision, best, created_at)"
                f" VALUES (1, 1, 2, 'approve', FALSE, {day})"
            )
        )


_DAY = "'2026-01-01'"


def _round_with_a_badcase(engine, status: str) -> None:  # type: ignore[no-untyped-def]
    """A round (at ``status``) with a mined run made by job 1, a prediction and a badcase, at revision 0012."""
    with engine.begin() as conn:
        for sql in (
            f"INSERT INTO datasets (id, name, created_at) VALUES (1, 'train', {_DAY})",
            "INSERT INTO records (id, dataset_id, case_id, sections, principal_code, other_codes, content_hash,"
            f" origin, created_at, updated_at) VALUES (1, 1, 'R1', '{{}}', 'I20.000', '[]', 'h', 'original', {_DAY},"
            f" {_DAY})",
            "INSERT INTO rounds (id, number, status, mode, config, results, created_at)"
            f" VALUES (1, 1, '{status}', 'interactive', '{{}}', '{{}}', {_DAY})",
            "INSERT INTO jobs (id, kind, status, lane, config, progress, created_at)"
            f" VALUES (1, 'kfold', 'succeeded', 'cpu', '{{}}', 1, {_DAY})",
            "INSERT INTO model_runs (id, kind, model_name, dataset_id, round_id, job_id, config, n_records, created_at)"
            f" VALUES (1, 'kfold', 'baseline', 1, 1, 1, '{{}}', 1, {_DAY})",
            "INSERT INTO predictions (id, run_id, record_id, principal_code, other_codes, parsed)"
            " VALUES (1, 1, 1, 'I20.000', '[]', TRUE)",
            "INSERT INTO badcases (id, round_id, record_id, prediction_id, other_f1, score, error_types,"
            " gold_principal, missing_codes, extra_codes,"
            f" status, created_at) VALUES (1, 1, 1, 1, 0.5, 0.5, '[]', 'I20.000', '[]', '[]', 'open', {_DAY})",
        ):
            conn.execute(text(sql))


def test_0013_checks_round_statuses_and_links_jobs_to_a_round_s_stage(db_url: str) -> None:
    """Rebuilding rounds and jobs (SQLite's batch mode) keeps every row that refers to them, then the database
    refuses a status or a stage outside the vocabulary, on both backends."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    upgrade(engine, "0012")
    _round_with_a_badcase(engine, "in_review")
    upgrade(engine, "0013")
    with engine.connect() as conn:
        # The ON DELETE actions of badcases (CASCADE) and model_runs (SET NULL) did not fire.
        assert conn.execute(text("SELECT id, round_id FROM badcases")).all() == [(1, 1)]
        assert conn.execute(text("SELECT round_id, job_id FROM model_runs")).all() == [(1, 1)]
        assert conn.execute(text("SELECT round_id, stage FROM jobs")).all() == [(None, None)]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE rounds SET status = 'mined' WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET round_id = 1, stage = 'done' WHERE id = 1"))  # done is no stage
    with engine.begin() as conn:
        conn.execute(text("UPDATE rounds SET status = 'abandoned' WHERE id = 1"))
        conn.execute(text("UPDATE jobs SET round_id = 1, stage = 'identifying' WHERE id = 1"))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM rounds WHERE id = 1"))
    with engine.connect() as conn:  # the job outlives its round, its stage kept as a record of what it ran
        assert conn.execute(text("SELECT round_id, stage FROM jobs")).all() == [(None, "identifying")]


def test_0013_refuses_a_round_status_it_does_not_know_and_changes_nothing(db_url: str) -> None:
    import pytest

    engine = make_engine(db_url)
    upgrade(engine, "0012")
    _round_with_a_badcase(engine, "halted")  # written by hand: no version of the code ever wrote it
    with pytest.raises(RuntimeError, match="round 1 has 'halted'"):
        upgrade(engine)
    assert current_revision(engine) == "0012"
    with engine.begin() as conn:
        conn.execute(text("UPDATE rounds SET status = 'abandoned'"))
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_every_check_of_a_migrated_database_is_the_vocabulary_of_the_models(db_url: str) -> None:
    """Alembic's autogenerate does not compare CHECK constraints: this does. A value added to a vocabulary of
    db/vocabulary.py fails here until a migration widens the column's CHECK."""
    import re

    from sqlalchemy import CheckConstraint, inspect

    engine = make_engine(db_url)
    upgrade(engine)
    inspector = inspect(engine)

    def words(sql: str) -> set[str]:
        return set(re.findall(r"'([^']*)'", sql))

    expected = {
        (table.name, str(c.name)): words(str(c.sqltext))
        for table in Base.metadata.sorted_tables
        for c in table.constraints
        if isinstance(c, CheckConstraint)
    }
    found = {
        (table, str(c["name"])): words(c["sqltext"])
        for table, _name in expected
        for c in inspector.get_check_constraints(table)
    }
    assert found == expected
