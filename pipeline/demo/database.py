"""The demo database (docs/data-model.md, "Demo database"): synthetic records, accounts, and each feature's state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, inspect

from pipeline.accounts.users import add_user
from pipeline.database import init_database
from pipeline.demo.synthetic import generate_records
from pipeline.errors import SraditError
from pipeline.ingest.importer import ImportSummary, import_rows

#: Demo accounts and their passwords — for a local demo only, printed by ``sradit demo``.
#: name → (role, password); two experts, so agreement has figures out of the box.
DEMO_ACCOUNTS: dict[str, tuple[str, str]] = {
    "expert": ("expert", "expert-demo"),
    "engineer": ("engineer", "engineer-demo"),
    "admin": ("admin", "admin-demo"),
    "expert2": ("expert", "expert2-demo"),
}
DEMO_TRAIN, DEMO_TEST = "train", "test"


@dataclass(frozen=True)
class DemoSummary:
    imports: list[ImportSummary]
    accounts: dict[str, tuple[str, str]]


def has_data(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def reset(engine: Engine) -> None:
    """Drop every table (works on any backend, unlike deleting a SQLite file)."""
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)


def build_demo(engine: Engine, *, force: bool, seed: int = 0, actor: str = "demo") -> DemoSummary:
    if has_data(engine):
        if not force:
            raise SraditError(f"the database {engine.url!r} already exists; `sradit demo --force` rebuilds it")
        reset(engine)
    init_database(engine)
    records = generate_records(n_labelled=60, n_unlabelled=5, seed=seed)
    labelled = [r for r in records if "主要诊断编码" in r]
    unlabelled = [r for r in records if "主要诊断编码" not in r]
    imports = [
        import_rows(engine, labelled, DEMO_TRAIN, actor, source=f"synthetic(seed={seed})"),
        import_rows(engine, unlabelled, DEMO_TEST, actor, source=f"synthetic(seed={seed})"),
    ]
    for name, (role, password) in DEMO_ACCOUNTS.items():
        add_user(engine, name, role, password, actor)
    return DemoSummary(imports, DEMO_ACCOUNTS)
