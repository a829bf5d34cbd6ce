"""What several test folders share and that is not a fixture: paths, the in-process CLI, row counts, waiting, and the
fakes whose behaviour the tests know in advance (a predictor, a variant source). Fixtures live in the conftest.py of
the folder that uses them (tests/conftest.py for the whole tree); test modules import from here, never from another
test module."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine, MetaData, func, select, update

from app.cli import main
from db.engine import make_engine, read_session, write_session
from db.models import Badcase, Record, User, Variant, VariantVerdict
from pipeline.accounts.users import add_user
from pipeline.augment.rewriting import GeneratedVariant
from pipeline.database import init_database
from pipeline.demo.synthetic import generate_records
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS
from pipeline.errors import SraditError
from pipeline.ingest.importer import import_file, import_rows
from pipeline.jobs.runner import job_status
from pipeline.mining.kfold import MiningConfig, mine
from pipeline.protocols import CodePrediction, Progress
from pipeline.review.label_issues import find_badcase

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table, to show that a refused operation wrote nothing."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(t)) or 0 for name, t in meta.tables.items()}


class Cli:
    """Runs ``sradit`` in-process against one database URL."""

    def __init__(self, db_url: str, tmp_path: Path) -> None:
        self.env = {"SRADIT_DB_URL": db_url, "SRADIT_DATA_DIR": str(tmp_path / "var"), "SRADIT_DEBUG": ""}
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(main, list(args), env=self.env, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"sradit {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result


def shown(markdown: str) -> str:
    """Markdown a page drew (AppTest gives the source) as the reader sees it: without the backslash escapes and the
    zero-width spaces that app.inert.md/inert put into values from data."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def status(engine: Engine, job_id: int) -> str:
    return job_status(engine, job_id).status


class Oracle:
    """Predicts the gold labels, except: principal wrong for ids in ``wrong_main``; drops the first other
    code for ids in ``drop_other``. It records which records it was trained on, to check the folds."""

    def __init__(self, wrong_main: set[str], drop_other: set[str], seen: list[set[str]]) -> None:
        self.wrong_main, self.drop_other, self.seen = wrong_main, drop_other, seen

    def fit(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> Oracle:
        self.seen.append({r[ID_KEY] for r in records})
        return self

    def predict(self, records: Sequence[Mapping[str, str]], progress: Progress | None = None) -> list[CodePrediction]:
        out = []
        for r in records:
            main = "I50.900x018" if r[ID_KEY] in self.wrong_main and r[MAIN_KEY] != "I50.900x018" else r[MAIN_KEY]
            others = r[OTHER_KEY].split(";")
            if r[ID_KEY] in self.drop_other:
                others = others[1:]
            out.append(CodePrediction(main, tuple(others)))
        return out


class Counting:
    """A variant source that appends its sequence number to 主诉, and can be told to die after k badcases."""

    generator_name, prompt_version, model = "test", "p1", None

    def __init__(self, die_after: int | None = None) -> None:
        self.calls, self.die_after = 0, die_after

    def variants(self, sections: Mapping[str, str], start: int, n: int, seed: int) -> list[GeneratedVariant]:
        if self.die_after is not None and self.calls >= self.die_after:
            raise SraditError("cannot reach the model server at http://127.0.0.1:9: connection refused")
        self.calls += 1
        return [
            GeneratedVariant({**sections, "主诉": f"{sections['主诉']}#{k}"}, (f"edit{k}",), None, 1, seed, None)
            for k in range(start, start + n)
        ]


def synthetic_record(rid: str, main: str, others: str, dx: str, course: str = "") -> dict[str, Any]:
    """A made-up record in the competition format (the project's own words, no real text)."""
    rec = {k: "" for k in TEXT_SECTIONS}
    rec.update({ID_KEY: rid, MAIN_KEY: main, OTHER_KEY: others, "入院诊断": dx, "诊疗经过": course})
    rec["主诉"] = "胸闷不适数日"
    return rec


def verdicts(db_url: str, name: str) -> dict[str, tuple[bool, str]]:
    """The verdicts of filter ``name``: variant id (病案标识#v<seq>) → (passed, reason)."""
    engine = make_engine(db_url)
    with read_session(engine) as s:
        rows = s.execute(
            select(Record.case_id, Variant.seq, VariantVerdict.passed, VariantVerdict.reason)
            .join(Variant, Variant.id == VariantVerdict.variant_id)
            .join(Badcase, Badcase.id == Variant.badcase_id)
            .join(Record, Record.id == Badcase.record_id)
            .where(VariantVerdict.filter == name)
        ).all()
    engine.dispose()
    return {f"{c}#v{seq}": (passed, reason) for c, seq, passed, reason in rows}


def mine_synthetic(engine: Engine, misses: int) -> list[str]:
    """Import 20 synthetic records (seed 3) and mine round 1 with an Oracle that misses the principal code of the
    first ``misses`` of them (two codes the tests use elsewhere left out); returns their case ids."""
    import_rows(engine, generate_records(n_labelled=20, n_unlabelled=0, seed=3), "train", "t", source="synthetic")
    with read_session(engine) as s:
        ids = list(
            s.scalars(
                select(Record.case_id)
                .where(Record.principal_code.not_in(["I50.900x018", "I21.401"]))
                .order_by(Record.id)
                .limit(misses)
            )
        )
    mine(engine, lambda _fold: Oracle(set(ids), set(), []), MiningConfig(folds=2), "t")
    return ids


def mine_real_records(engine: Engine, data: Path, misses: int = 2) -> list[str]:
    """Import the 206 real records of ``data`` (../shared/data) and mine round 1 (5 folds) with an Oracle that misses
    the principal code of ``misses`` of them (none coded I50.900x018); returns their case ids."""
    import_file(engine, data / "ccl25_train_206.json", "train", "t", 2**30)
    with read_session(engine) as s:
        ids = list(s.scalars(select(Record.case_id).where(Record.principal_code != "I50.900x018").limit(misses)))
    mine(engine, lambda _fold: Oracle(set(ids), set(), []), MiningConfig(), "t")
    return ids


def mined_database(folder: Path) -> tuple[str, list[int]]:
    """20 synthetic records, round 1 mined by the Oracle (three principal misses, each badcase given a label-error
    confidence: 0.3, 0.9 and none); an expert and an engineer account. Returns the URL and the three badcase ids."""
    url = f"sqlite:///{folder / 'sradit.db'}"
    engine = make_engine(url)
    init_database(engine)
    ids = mine_synthetic(engine, misses=3)
    badcases = [find_badcase(engine, c, 1) for c in ids]
    with write_session(engine) as s:
        for b, confidence in zip(badcases, (0.3, 0.9, None), strict=True):
            s.execute(update(Badcase).where(Badcase.id == b).values(label_error_confidence=confidence))
    add_user(engine, "expert", "expert", "expert-password-1", "t")
    add_user(engine, "engineer", "engineer", "engineer-password-1", "t")
    engine.dispose()
    return url, badcases


def as_user(at: AppTest, engine: Engine, name: str) -> AppTest:
    with read_session(engine) as s:
        user = s.scalar(select(User).where(User.name == name))
        assert user is not None
    for key, value in {"user_id": user.id, "user_name": user.name, "user_role": user.role}.items():
        at.session_state[key] = value
    return at


def model_folder(path: Path, seed: int = 0) -> str:
    """A saved model's smallest stand-in for the registry: a config.json and one real safetensors file of weights
    (``seed`` picks their values), so its checksum and tensors are real."""
    import torch
    from safetensors.torch import save_file

    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text("{}", encoding="utf-8")
    gen = torch.Generator().manual_seed(seed)
    tensors = {"embed.weight": torch.randn(4, 3, generator=gen), "head.bias": torch.zeros(3)}
    save_file(tensors, str(path / "model.safetensors"))
    return str(path)


def chat_reply(handler: BaseHTTPRequestHandler, texts: Sequence[str]) -> None:
    """A stand-in OpenAI-compatible server's answer: one chat choice per text."""
    choices = [{"index": i, "message": {"role": "assistant", "content": t}} for i, t in enumerate(texts)]
    reply = json.dumps({"choices": choices}).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(reply)))
    handler.end_headers()
    handler.wfile.write(reply)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A stand-in model server on loopback, on a free port, while the block runs; its base URL (…/v1)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
