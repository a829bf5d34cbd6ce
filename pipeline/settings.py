"""The one typed settings object. Every field can be set with an environment variable ``SRADIT_<NAME>``."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from db.vocabulary import JOB_BACKENDS, JOB_LANES
from pipeline.domain.vocabulary import FOLD_GROUPS, IDENTIFIER_MODES, SCORE_METRICS
from pipeline.errors import SraditError


def database_key(db_url: str) -> str:
    """A folder name for a database: its file or database name and a short hash of where it lives (the
    password left out, so changing it moves nothing)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        where = str(Path(url.database or "memory").resolve()) if url.database else "memory"
        name = Path(url.database).stem if url.database else "memory"
    else:
        where = url.render_as_string(hide_password=True).replace("***", "")
        name = url.database or url.get_backend_name()
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]
    return f"{safe}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Settings:
    db_url: str = field(
        default="sqlite:///var/sradit.db",
        metadata={"help": "SQLAlchemy URL of the database (SQLite by default; postgresql+psycopg://… for a team)."},
    )
    models: Path = field(default=Path("models.toml"), metadata={"help": "TOML file of named models (docs/models.md)."})
    data_dir: Path = field(
        default=Path("var"), metadata={"help": "Where job logs, metrics, trained models and exports go."}
    )
    busy_timeout_ms: int = field(
        default=30_000, metadata={"help": "How long a SQLite writer waits for the lock before failing."}
    )
    reviews_required: int = field(
        default=1, metadata={"help": "Experts who must review a badcase before its majority decides it."}
    )
    workers: int = field(
        default=0,
        metadata={
            "help": "Processes for CPU-bound steps (rule rewrites, the label and facts filters); "
            "0: one per CPU core, 1: none besides the main one."
        },
    )
    max_import_bytes: int = field(
        default=2 * 1024**3,
        metadata={"help": "Largest file `sradit import` reads; larger ones are refused with a message."},
    )
    session_hours: int = field(
        default=12,
        metadata={
            "help": "How long a sign-in lasts, reloads included, before the sign-in form comes back "
            "(the session cookie and its database row both end then)."
        },
    )

    max_record_chars: int = field(
        default=200_000,
        metadata={"help": "Most characters one imported record's sections may hold together; larger is refused."},
    )
    page_folders: str = field(
        default="data",
        metadata={
            "help": "Folders typed on the Export and Training pages: data (inside the data folder; `..` and "
            "symbolic links leading out are refused) or anywhere (an admin's choice for this server)."
        },
    )
    metric: str = field(
        default="f1",
        metadata={
            "help": "Score reported across the tool: f1 (the paper's eq. 6) or recall (the task's published "
            "formula). Badcase rules and GRPO rewards keep F1."
        },
    )
    fold_group: str = field(
        default="patient",
        metadata={
            "help": "K-fold keeps together: patient (all admissions of one patient, from ids ZY + admission + "
            "10-digit patient number) or record."
        },
    )
    job_backend: str = field(
        default="local",
        metadata={
            "help": "Where queued jobs run: local (lane workers on this machine; the default, nothing to set up) or "
            "ray (each job a Ray job on the cluster at SRADIT_RAY_ADDRESS; needs PostgreSQL and a data folder "
            "the cluster shares — README, Running on a cluster)."
        },
    )
    ray_address: str = field(
        default="http://127.0.0.1:8265",
        metadata={
            "help": "The Ray cluster's Jobs API (its head's dashboard port, 8265). Its token comes from "
            "RAY_AUTH_TOKEN or Ray's own token file, never from here."
        },
    )
    trusted_proxies: str = field(
        default="",
        metadata={
            "help": "Addresses of the reverse proxies in front of the app (comma-separated), whose X-Forwarded-For "
            "names the client; `make run` hands them to the server. Empty (the default): no proxy is trusted, and "
            "every forwarded connection counts as one client for sign-in throttling."
        },
    )
    paused_lanes: str = field(
        default="",
        metadata={
            "help": "Lanes whose queued jobs this app leaves queued (comma-separated: cpu, gpu), for a maintenance "
            "window; running jobs go on."
        },
    )
    job_table: str = field(
        default="app.services.job_table:JOBS",
        metadata={
            "help": "Where the table of jobs is (module:attribute): every kind of job by name, with its handler and "
            "its parameters' class. Workers read it to run what the app queued."
        },
    )
    external_identifiers: str = field(
        default="refuse",
        metadata={
            "help": "What the patient-data gate does with identifiers (身份证号, phone, name, address, 住院号, date "
            "of birth) in text bound for a model marked external = true: refuse (send nothing and name the record, "
            "field and kind) or redact (send placeholders such as 〔姓名1〕 and put the originals back in the "
            "reply). A model's own `identifiers` entry wins."
        },
    )

    def __post_init__(self) -> None:
        choices = {
            "metric": SCORE_METRICS,
            "fold_group": FOLD_GROUPS,
            "job_backend": JOB_BACKENDS,
            "external_identifiers": IDENTIFIER_MODES,
            "page_folders": ("data", "anywhere"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise SraditError(f"SRADIT_{name.upper()}={getattr(self, name)!r} is not one of {', '.join(allowed)}")
        minimum = {
            "busy_timeout_ms": 0,
            "reviews_required": 1,
            "workers": 0,
            "max_import_bytes": 1,
            "max_record_chars": 1,
            "session_hours": 1,
        }
        odd = sorted(set(self.paused) - set(JOB_LANES))
        if odd:
            raise SraditError(f"SRADIT_PAUSED_LANES names {odd[0]!r}, which is not one of {', '.join(JOB_LANES)}")
        if self.job_backend == "ray" and self.db_url.startswith("sqlite"):
            raise SraditError(
                "SRADIT_JOB_BACKEND=ray: a cluster needs PostgreSQL (its nodes write their jobs' progress to the "
                f"database), but SRADIT_DB_URL is {self.db_url!r}; set SRADIT_DB_URL=postgresql+psycopg://…"
            )
        for name, least in minimum.items():
            if getattr(self, name) < least:
                raise SraditError(f"SRADIT_{name.upper()}={getattr(self, name)} must be at least {least}")

    @property
    def proxies(self) -> tuple[str, ...]:
        """The trusted proxies' addresses."""
        return tuple(x.strip() for x in self.trusted_proxies.split(",") if x.strip())

    @property
    def paused(self) -> tuple[str, ...]:
        """The lanes whose queued jobs stay queued."""
        return tuple(x.strip() for x in self.paused_lanes.split(",") if x.strip())

    @property
    def workspace(self) -> Path:
        """This database's own folder under ``data_dir``: job logs, trained models, exports and round reports.
        Two databases sharing one data folder never share a job id's folder or a model's name."""
        return self.data_dir / database_key(self.db_url)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"SRADIT_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(f.default)
            try:
                values[f.name] = Path(raw) if kind is Path or isinstance(f.default, Path) else kind(raw)
            except ValueError:
                raise SraditError(f"SRADIT_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
