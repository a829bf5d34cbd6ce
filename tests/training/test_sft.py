"""SFT with TRL on the tiny offline Qwen2 on CPU: real training steps, metrics, saved model, CLI entry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Required dependencies: a missing one fails the suite (no skips).
import peft  # noqa: E402,F401
import torch  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402,F401
from safetensors.torch import load_file  # noqa: E402

from pipeline.demo.synthetic import generate_records  # noqa: E402
from pipeline.domain.prompts import target_completion, task_messages  # noqa: E402
from pipeline.domain.records import ID_KEY, MAIN_KEY, OTHER_KEY, TEXT_SECTIONS  # noqa: E402
from pipeline.errors import InputError  # noqa: E402
from training.sft import SFTRunConfig, build_sft_trainer, run_sft, sft_rows  # noqa: E402
from training.train_entry import ConfigError, load_config, main  # noqa: E402


def short_records(n: int, seed: int = 0) -> list[dict[str, str]]:
    """Synthetic records with every section cut short, so prompts stay a few hundred tokens."""
    return [
        {k: (v[:40] if k in TEXT_SECTIONS else v) for k, v in r.items()}
        for r in generate_records(n_labelled=n, n_unlabelled=0, seed=seed)
    ]


def write_sft_file(path: Path, records: list[dict[str, str]], tasks=("principal", "other")) -> Path:  # noqa: ANN001
    """The trl-sft export's shape: messages + task + case_id + provenance."""
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            others = [c for c in r[OTHER_KEY].split(";") if c]
            for task in tasks:
                messages = [
                    *task_messages(task, r),
                    {"role": "assistant", "content": target_completion(task, r[MAIN_KEY], others)},
                ]
                row = {
                    "messages": messages,
                    "task": task,
                    "case_id": r[ID_KEY],
                    "origin": "original",
                    "round": None,
                    "parent": None,
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def sft_file(tmp_path: Path) -> Path:
    return write_sft_file(tmp_path / "train.jsonl", short_records(3))


def small_config(tiny: Path, train_file: Path, out: Path, **kw) -> SFTRunConfig:  # noqa: ANN003
    values = dict(
        model_path=str(tiny),
        train_file=str(train_file),
        output_dir=str(out),
        max_steps=3,
        batch_size=2,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        metrics_file=str(out.parent / "metrics.jsonl"),
    )
    values.update(kw)
    return SFTRunConfig(**values)


def test_defaults_are_the_papers_table_1() -> None:
    cfg = SFTRunConfig()
    assert (cfg.batch_size, cfg.learning_rate, cfg.num_train_epochs, cfg.weight_decay) == (32, 5e-6, 6, 0.01)
    assert (cfg.max_length, cfg.neftune_noise_alpha, cfg.warmup_ratio) == (8400, 5, 0.1)
    assert cfg.bf16 is None and cfg.attn_implementation is None  # resolved per machine


def test_sft_changes_every_parameter_and_writes_metrics(tiny: Path, sft_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    seen: list[dict] = []
    progress: list[tuple[int, int]] = []
    result = run_sft(
        small_config(tiny, sft_file, out), on_metric=seen.append, on_progress=lambda d, t: progress.append((d, t))
    )
    assert result["global_step"] == 3 and result["train_rows"] == 6 and result["dropped_overlong_rows"] == 0

    before = load_file(str(tiny / "model.safetensors"))
    after = load_file(str(out / "model.safetensors"))
    assert before.keys() == after.keys()
    unchanged = [name for name in before if torch.equal(before[name], after[name])]
    assert unchanged == [], f"parameters not updated: {unchanged}"

    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [x for x in lines if "loss" in x]
    assert [x["step"] for x in losses] == [1, 2, 3]
    assert all(x["loss"] > 0 and x["kind"] == "sft" and "learning_rate" in x for x in losses)
    assert seen == lines
    assert progress[-1] == (3, 3)

    model = transformers.AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    tok = transformers.AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert model.config.model_type == "qwen2"
    assert tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False).startswith("<|im_start|>")


def test_loss_covers_the_answer_and_its_end_of_turn_only(tiny: Path, sft_file: Path, tmp_path: Path) -> None:
    trainer = build_sft_trainer(small_config(tiny, sft_file, tmp_path / "out"))
    tok = trainer.processing_class
    row = trainer.train_dataset[0]
    target = [t for t in row["labels"] if t != -100]
    text = tok.decode(target)
    records = short_records(3)
    expected = target_completion("principal", records[0][MAIN_KEY], [])
    assert text.startswith(expected) and text[len(expected) :].strip() == "<|im_end|>"
    first = row["labels"].index(target[0])
    assert row["labels"][:first] == [-100] * first  # the whole prompt is masked
    assert row["input_ids"][first:] == target  # and the answer is one contiguous span at the end


def test_rows_tasks_and_overlong(tiny: Path, sft_file: Path, tmp_path: Path) -> None:
    rows = [json.loads(x) for x in sft_file.read_text().splitlines()]
    converted = sft_rows(rows)
    assert [r["prompt"][-1]["role"] for r in converted] == ["user"] * 6
    assert [r["completion"][0]["role"] for r in converted] == ["assistant"] * 6
    assert len(sft_rows(rows, ["other"])) == 3
    tok = transformers.AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)
    lengths = sorted(
        len(tok.apply_chat_template(r["prompt"] + r["completion"], tokenize=True, return_dict=True)["input_ids"])
        for r in converted
    )
    limit = lengths[2]  # at least three rows fit, the longest does not
    fit = sum(n <= limit for n in lengths)
    assert fit < len(lengths)
    trainer = build_sft_trainer(small_config(tiny, sft_file, tmp_path / "o", max_length=limit))
    assert trainer.sradit_info["train_rows"] == fit and trainer.sradit_info["dropped_overlong_rows"] == 6 - fit
    assert max(len(x) for x in trainer.train_dataset["input_ids"]) <= limit
    with pytest.raises(InputError, match="no usable rows"):
        build_sft_trainer(small_config(tiny, sft_file, tmp_path / "o", max_length=50))
    with pytest.raises(InputError, match="no usable rows"):
        build_sft_trainer(small_config(tiny, sft_file, tmp_path / "o", tasks=["multi"]))


def test_lora_saves_adapter_and_merged_model(tiny: Path, sft_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "lora"
    run_sft(small_config(tiny, sft_file, out, lora=True, lora_r=4, lora_alpha=8, max_steps=2))
    assert (out / "adapter" / "adapter_config.json").is_file()
    merged = transformers.AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    base = transformers.AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True)
    q_merged = merged.model.layers[0].self_attn.q_proj.weight
    q_base = base.model.layers[0].self_attn.q_proj.weight
    assert not torch.equal(q_merged, q_base)


def test_cli_entry_trains_evaluates_and_prints_result(
    tiny: Path, sft_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eval_file = tmp_path / "eval.json"
    eval_file.write_text(json.dumps(short_records(2, seed=5), ensure_ascii=False), encoding="utf-8")
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(
        f"model_path: {tiny}\ntrain_file: {sft_file}\noutput_dir: {tmp_path / 'cli'}\n"
        "batch_size: 2\nper_device_train_batch_size: 2\nlearning_rate: 1e-3\n"
        f"eval_file: {eval_file}\neval_max_tokens: 4\n",
        encoding="utf-8",
    )
    # The evaluation records share their ids (DEMO000001, …) with the training rows: refused as in-sample …
    assert main(["sft", str(cfg), "--set", "max_steps=1"]) == 2
    assert "shares 2 records with the training data" in capsys.readouterr().err
    # … unless allowed, and then labelled so.
    code = main(["sft", str(cfg), "--set", "max_steps=1", "--set", "inference=greedy", "--set", "allow_in_sample=true"])
    assert code == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["global_step"] == 1 and result["n_eval_records"] == 2
    assert (result["evaluation"], result["metric"]) == ("in-sample", "f1")
    assert 0 <= result["score"] <= 100 and 0 <= result["principal_accuracy"] <= 1 and 0 <= result["other_f1"] <= 1


def test_config_files(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    paper = load_config("sft", root / "configs" / "sft.yaml")
    assert (paper.batch_size, paper.learning_rate, paper.num_train_epochs) == (32, 5e-6, 6)
    toml = tmp_path / "c.toml"
    toml.write_text('model_path = "m"\nlearning_rate = 1e-4\ntasks = ["principal"]\nbf16 = false\n')
    cfg = load_config("sft", toml, ["max_steps=7", "lora=true", "learning_rate=5e-7"])
    assert (cfg.model_path, cfg.tasks, cfg.bf16, cfg.max_steps, cfg.lora) == ("m", ["principal"], False, 7, True)
    assert cfg.learning_rate == 5e-7
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_path: m\nlearning_rat: 1e-5\n")
    with pytest.raises(ConfigError, match=r"'learning_rat'.*") as err:
        load_config("sft", bad)
    assert isinstance(err.value, ValueError) and str(bad) in str(err.value)
    with pytest.raises(ConfigError, match="max_steps"):
        load_config("sft", toml, ["max_steps=many"])
    with pytest.raises(ConfigError, match="nope"):
        load_config("sft", toml, ["nope=1"])
    assert main(["sft", str(bad)]) == 2


class _Ctx:
    """What pipeline.jobs.runner.JobContext offers a handler: metric(**values) and progress(done, total)."""

    def __init__(self) -> None:
        self.metrics: list[dict] = []
        self.progressed: list[tuple[int, int]] = []

    def metric(self, **values) -> None:  # noqa: ANN003
        self.metrics.append(values)

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        self.progressed.append((done, total))


def test_job_handler_reports_metrics_and_progress(tiny: Path, sft_file: Path, tmp_path: Path) -> None:
    from training.train_entry import job

    cfg = tmp_path / "sft.toml"
    cfg.write_text(f'model_path = "{tiny}"\ntrain_file = "{sft_file}"\nbatch_size = 2\n', encoding="utf-8")
    ctx = _Ctx()
    params = {
        "kind": "sft",
        "config": str(cfg),
        "values": {"output_dir": str(tmp_path / "job"), "per_device_train_batch_size": 2},
        "overrides": ["max_steps=2", "learning_rate=1e-3"],
    }
    result = job(params, ctx)
    assert result["global_step"] == 2 and Path(result["output_dir"]).is_dir()
    assert [m["step"] for m in ctx.metrics if "loss" in m] == [1, 2]
    assert ctx.progressed[-1] == (2, 2)
    with pytest.raises(ConfigError, match="'epochs'"):
        job({"kind": "sft", "values": {"epochs": 1}}, ctx)
    with pytest.raises(ConfigError, match="kind"):
        job({"kind": "dpo"}, ctx)
