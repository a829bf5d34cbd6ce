"""Models as the pages and the CLI see them: the pickers' lists, one model described, registering a folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Dataset, DatasetExport, Round
from pipeline.errors import InputError
from pipeline.rounds.lookup import maybe_round
from pipeline.settings import Settings
from training.models import registry
from training.models.catalog import load_models
from training.models.resolve import ModelEntry, all_models, find_model


def model_names(engine: Engine, settings: Settings) -> list[str]:
    """Names for a model picker: the models file's entries (baseline first), then the registry."""
    return [e.name for e in all_models(engine, settings.models)]


def model_entries(engine: Engine, settings: Settings) -> list[ModelEntry]:
    return all_models(engine, settings.models)


def describe(engine: Engine, settings: Settings, name: str) -> list[str]:
    """`sradit model show NAME`: lineage, folder, config and metrics; an ensemble's members and its vote."""
    e = find_model(engine, settings.models, name)
    cols = e.columns()
    lines = [
        f"name      {e.name}",
        f"kind      {e.kind}",
        f"subtask   {cols[2]}",
        f"fold      {cols[3]}",
        f"round     {cols[4]}",
        f"dataset   {cols[5]}",
        f"parent    {cols[6]}",
    ]
    if e.learner:
        lines.append(f"learner   {e.learner}")
    if e.path:
        lines.append(f"path      {e.path}")
    if e.spec is not None and e.kind != "baseline":
        spec = e.spec
        settings_line = {"engine": spec.engine, "inference": spec.inference, "max_tokens": spec.max_tokens}
        if spec.external:  # what leaves the hospital, and what the patient-data gate does about identifiers
            settings_line |= {"external": True, "identifiers": spec.identifiers or settings.external_identifiers}
        if e.kind == "learner":
            settings_line |= {
                "base": spec.base,
                "config": spec.config,
                "subtasks": spec.subtasks,
                "vote_share": spec.vote_share,
                "cotd": spec.cotd,
            }
        lines.append(f"settings  {json.dumps(settings_line, ensure_ascii=False)}")
    if e.kind == "ensemble":
        share = e.config.get("vote_share")
        lines.append(
            f"vote      principal: majority of the folds (ties: the fold with the best held-out score); "
            f"other codes: named by at least {share:.0%} of the folds"
            if isinstance(share, int | float)
            else "vote      majority"
        )
        lines.append(f"members   {len(e.members)}")
        for m in e.members:
            models = ", ".join(f"{k} {v}" for k, v in sorted((m.get("models") or {}).items()))
            score = m.get("score")
            lines.append(f"  fold{m['fold']}  held-out {score if score is not None else '-'}  {models}")
    if e.metrics:
        lines.append(f"metrics   {json.dumps(e.metrics, ensure_ascii=False, sort_keys=True)}")
    if e.config and e.kind != "ensemble":
        lines.append(f"config    {json.dumps(e.config, ensure_ascii=False, sort_keys=True)}")
    return lines


#: An export's folder name, as `sradit export` writes it (pipeline/export): round1-llamafactory-v1.
_EXPORT_NAME = re.compile(r"^round(?P<round>\d+)-(?P<format>.+)-v(?P<version>\d+)$")


def register_external(
    engine: Engine,
    settings: Settings,
    name: str,
    path: Path,
    kind: str,
    subtask: str | None,
    round_no: int | None,
    dataset: str | None,
    parent: str | None,
    engine_name: str,
    actor: str,
) -> int:
    """A model trained outside the tool joins the registry; it predicts through ``engine_name``. Its lineage must
    name a round and a dataset version that exist: a model claiming to be trained on data the tool never held would
    mislead every comparison made with it."""
    _check_lineage(engine, round_no, dataset)
    reg = registry.Registration(
        name=name,
        kind=kind,
        path=str(path),
        subtask=subtask,
        round_no=round_no,
        dataset=dataset,
        parent=parent,
        config={"serving": {"engine": engine_name}, "trained": "elsewhere"},
    )
    return registry.register(engine, reg, actor, taken=list(load_models(settings.models)))


def _check_lineage(engine: Engine, round_no: int | None, dataset: str | None) -> None:
    with read_session(engine) as s:
        if round_no is not None and maybe_round(s, round_no) is None:
            known = ", ".join(str(n) for n in s.scalars(select(Round.number).order_by(Round.number))) or "none yet"
            raise InputError(f"--round {round_no}: there is no round {round_no} (rounds: {known})")
        if dataset is None or s.scalar(select(Dataset.id).where(Dataset.name == dataset)) is not None:
            return
        export = _EXPORT_NAME.match(dataset)
        if export is not None:
            number, fmt, version = int(export["round"]), export["format"], int(export["version"])
            written = select(DatasetExport.id).where(
                DatasetExport.round_no == number, DatasetExport.format == fmt, DatasetExport.version == version
            )
            if s.scalar(written) is not None:
                return
        names = ", ".join(s.scalars(select(Dataset.name).order_by(Dataset.id))) or "none yet"
        raise InputError(
            f"--dataset {dataset!r}: no dataset version or written export has that name (dataset versions: "
            f"{names}; an export is named round<N>-<format>-v<K>, as `sradit export` printed it)"
        )


def register_endpoint_ensemble(
    engine: Engine,
    settings: Settings,
    name: str,
    url: str,
    members: dict[int, list[str]],
    scores: dict[int, float],
    *,
    round_no: int | None,
    dataset: str | None,
    vote_share: float,
    max_tokens: int,
    api_key_env: str | None,
    actor: str,
) -> int:
    """A K-fold ensemble whose fold models are served by an OpenAI-compatible server (one `vllm serve` with a
    LoRA adapter per fold and sub-task): ``members`` maps a fold to its served names, [principal, other] for a
    sub-task pair or [multi] for one model answering both. Its members are queried concurrently when it votes."""
    _check_lineage(engine, round_no, dataset)
    if not url.startswith(("http://", "https://")):
        raise InputError(f"--url {url!r}: an OpenAI-compatible base URL, such as http://HOST:8000/v1")
    if len(members) < 2:
        raise InputError(f"ensemble {name!r}: give at least two --member FOLD=NAME[,NAME] (got {len(members)})")
    unknown = sorted(set(scores) - set(members))
    if unknown:
        raise InputError(f"--score for fold {unknown[0]}, which has no --member")
    rows = []
    for fold, served in sorted(members.items()):
        if len(served) not in (1, 2) or not all(served):
            raise InputError(f"--member {fold}={','.join(served)}: give PRINCIPAL,OTHER (a pair) or MULTI (one model)")
        models = dict(zip(("principal", "other"), served, strict=True)) if len(served) == 2 else {"multi": served[0]}
        rows.append(
            {"fold": fold, "score": scores.get(fold), "models": models, "endpoint": {"url": url, "models": models}}
        )
        if api_key_env:
            rows[-1]["endpoint"]["api_key_env"] = api_key_env  # the variable's name; the key never leaves it
    layouts = {len(s) for s in members.values()}
    if len(layouts) > 1:
        raise InputError(f"ensemble {name!r}: every member must be a pair, or every member one model")
    reg = registry.Registration(
        name=name,
        kind="ensemble",
        subtask="multi" if layouts == {1} else None,
        round_no=round_no,
        dataset=dataset,
        config={
            "vote_share": vote_share,
            "tie": "best held-out fold",
            "serving": {"engine": "openai", "max_tokens": max_tokens},
            "trained": "elsewhere",
        },
        members=rows,
    )
    return registry.register(engine, reg, actor, taken=list(load_models(settings.models)))
