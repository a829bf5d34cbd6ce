"""app/services/framework_training.py: the paper's trainers on real llamafactory and verl exports of a reviewed
round (real database files, the real job runner). The command lines are built from the exports; a trainer that is
not installed fails the job naming the command it would have run; and a trainer that succeeds has its output
registered with the export as lineage. LLaMA-Factory and verl cannot train here (no GPU; they pin other
transformers versions): stand-ins take their place in the last test only, each a few lines that write what the real
one writes (a model folder; verl's checkpoint, then its merger's Hugging Face folder), so what is tested is the
job's side. The exports' files are read by the real frameworks in CI (.ci/consumers)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from app.services.framework_training import FrameworkTrainParams, plan
from db.engine import read_session
from db.models import Variant
from pipeline.errors import InputError
from pipeline.export.datasets import ExportConfig, export
from pipeline.jobs.processes import HOST
from pipeline.jobs.runner import run_foreground
from pipeline.review.queue import decide
from pipeline.settings import Settings
from training.models import registry

pytestmark = pytest.mark.sqlite_only("the job's side of an external trainer; the database is incidental")


@pytest.fixture
def exports(engine: Engine, queue: dict[str, int], tmp_path: Path) -> dict[str, int]:
    with read_session(engine) as s:
        first = s.scalars(select(Variant.id).order_by(Variant.id)).first()
    decide(engine, queue["e1"], int(first or 0), "approve", best=True, score=5)
    out = tmp_path / "exports"
    made = {fmt: export(engine, ExportConfig(1, fmt, out, task="principal"), "t") for fmt in ("llamafactory", "verl")}
    return {fmt: e.export_id for fmt, e in made.items()}


def _settings(engine: Engine, tmp_path: Path) -> Settings:
    return Settings(db_url=engine.url.render_as_string(hide_password=False), data_dir=tmp_path / "var")


def test_the_trainer_commands_are_built_from_the_exports(
    engine: Engine, exports: dict[str, int], tmp_path: Path, tiny_model: Path
) -> None:
    models = tmp_path / "models"
    lf = plan(engine, models, FrameworkTrainParams("llamafactory", exports["llamafactory"], str(tiny_model), "lf-r1"))
    folder = Path(lf.export["path"])
    assert lf.argv == [
        "llamafactory-cli",
        "train",
        str(folder / "llamafactory_sft.yaml"),
        f"model_name_or_path={tiny_model.resolve()}",
        f"output_dir={models / 'lf-r1'}",
    ]
    assert lf.env == {} and lf.export["round"] == 1 and lf.export["task"] == "principal"
    verl = plan(engine, models, FrameworkTrainParams("verl", exports["verl"], str(tiny_model), "verl-r1", gpus=2))
    script = Path(verl.export["path"]) / "verl_grpo.sh"
    assert verl.argv == ["bash", str(script), f"trainer.default_local_dir={models / 'verl-r1'}"]
    assert verl.env == {"MODEL_PATH": str(tiny_model.resolve()), "N_GPUS": "2"}
    assert verl.shown.startswith(f"MODEL_PATH={shlex.quote(str(tiny_model.resolve()))} N_GPUS=2 bash ")


def test_what_a_trainer_cannot_start_with_is_refused_by_name(
    engine: Engine, exports: dict[str, int], tmp_path: Path, tiny_model: Path
) -> None:
    models = tmp_path / "models"
    cases = [
        (FrameworkTrainParams("llamafactory", exports["verl"], str(tiny_model), "m"), "is a verl export, not llama"),
        (FrameworkTrainParams("verl", 999, str(tiny_model), "m"), "there is no export 999"),
        (FrameworkTrainParams("verl", exports["verl"], "no-such-model", "m"), "model 'no-such-model' to start from"),
    ]
    for params, message in cases:
        with pytest.raises(InputError, match=message):
            plan(engine, models, params)


def test_a_trainer_not_installed_fails_the_job_naming_the_command(
    engine: Engine, exports: dict[str, int], tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # this environment has no llamafactory-cli
    params = FrameworkTrainParams("llamafactory", exports["llamafactory"], str(tiny_model), "lf-r1")
    with pytest.raises(InputError) as refused:
        run_foreground(engine, _settings(engine, tmp_path), params, "t", lane="gpu")
    message = str(refused.value)
    assert message.startswith(f"llamafactory is not installed on {HOST} (pip install llamafactory==0.9.5)")
    assert "the job would run: llamafactory-cli train " in message and "output_dir=" in message
    assert registry.find(engine, "lf-r1") is None


def _stand_ins(folder: Path, tiny_model: Path) -> None:
    """A `llamafactory-cli` that copies the base to output_dir, and a `verl` package whose trainer writes an actor
    checkpoint and whose merger writes the base as Hugging Face weights."""
    bin_dir, verl = folder / "bin", folder / "py" / "verl"
    bin_dir.mkdir(parents=True)
    (verl / "trainer").mkdir(parents=True)
    (verl / "model_merger").mkdir()
    cli = bin_dir / "llamafactory-cli"
    cli.write_text(
        f"#!{sys.executable}\nimport shutil, sys\nargs = dict(a.split('=', 1) for a in sys.argv[3:])\n"
        "print('stand-in LLaMA-Factory:', sys.argv[1:])\n"
        "shutil.copytree(args['model_name_or_path'], args['output_dir'])\n",
        encoding="utf-8",
    )
    cli.chmod(0o755)
    for init in (verl / "__init__.py", verl / "trainer" / "__init__.py", verl / "model_merger" / "__init__.py"):
        init.write_text("", encoding="utf-8")
    (verl / "trainer" / "main_ppo.py").write_text(
        "import pathlib, sys\nargs = dict(a.split('=', 1) for a in sys.argv[1:] if '=' in a)\n"
        "actor = pathlib.Path(args['trainer.default_local_dir']) / 'global_step_1' / 'actor'\n"
        "actor.mkdir(parents=True)\n(actor / 'model_world_size_1_rank_0.pt').write_bytes(b'x')\n"
        "print('stand-in verl GRPO:', len(sys.argv) - 1, 'overrides')\n",
        encoding="utf-8",
    )
    (verl / "model_merger" / "__main__.py").write_text(
        f"import shutil, sys\nshutil.copytree({str(tiny_model)!r}, sys.argv[sys.argv.index('--target_dir') + 1])\n",
        encoding="utf-8",
    )


def test_a_trainer_s_output_is_registered_with_the_export_as_lineage(
    engine: Engine, exports: dict[str, int], tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_ins(tmp_path / "stand-ins", tiny_model)
    monkeypatch.setenv("PATH", f"{tmp_path / 'stand-ins' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stand-ins" / "py"))
    monkeypatch.syspath_prepend(str(tmp_path / "stand-ins" / "py"))
    settings = _settings(engine, tmp_path)
    for framework, name in (("llamafactory", "lf-r1"), ("verl", "verl-r1")):
        params = FrameworkTrainParams(framework, exports[framework], str(tiny_model), name, gpus=1)
        result = run_foreground(engine, settings, params, "t", lane="gpu")
        row = registry.find(engine, name)
        assert row is not None and result["model"] == name
        assert (row.kind, row.subtask, row.round_no, row.parent) == (
            "sft" if framework == "llamafactory" else "grpo",
            "principal",
            1,
            str(tiny_model),
        )
        assert row.dataset == f"export {exports[framework]} ({framework} v1)"
        assert row.config["command"] == plan(engine, settings.workspace / "models", params).shown
        assert row.metrics["weights_sha256"] == row.metrics["parent_weights_sha256"]  # the stand-ins copy the base
    assert registry.find(engine, "verl-r1").path.endswith("verl-r1/huggingface")  # type: ignore[union-attr]
    shutil.rmtree(tmp_path / "stand-ins")
