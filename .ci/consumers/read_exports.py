"""Trainer side of the check (.ci/consumers/check.sh), run in a throwaway environment with LLaMA-Factory and verl
installed and the project absent: their own code reads the exports made by make_exports.py.

- LLaMA-Factory: the shipped llamafactory_sft.yaml with the overrides of `sradit train llamafactory`'s command
  line (the model path: the tiny offline model) through its argument parser (get_train_args) and dataset loader
  (get_dataset). Because this is a CPU machine, the GPU-only settings are switched off (DeepSpeed, bf16,
  FlashAttention 2) and the output goes to a temporary folder: everything else is the file's.
- verl: RLHFDataset reads train.parquet; the reward function is loaded as verl loads a custom one
  (verl.trainer.ppo.reward.get_custom_reward_fn from reward.custom_reward_function) and must give the
  project's own rewards on a table of completions; `sradit train verl`'s overrides are keys of verl's trainer config.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def llamafactory(made: dict) -> None:
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer
    from omegaconf import OmegaConf

    folder = Path(made["llamafactory"])
    argv = made["commands"]["llamafactory"]
    assert argv[:3] == ["llamafactory-cli", "train", str(folder / "llamafactory_sft.yaml")], argv
    # `sradit train llamafactory`'s command: the YAML with its key=value overrides merged as LLaMA-Factory's own
    # read_args merges a command line's (OmegaConf.from_cli over the file).
    merged = OmegaConf.merge(OmegaConf.load(argv[2]), OmegaConf.from_cli(argv[3:]))
    cfg = OmegaConf.to_container(merged)
    assert cfg["model_name_or_path"] == made["tiny_model"], cfg["model_name_or_path"]
    cfg.update(deepspeed=None, bf16=False, flash_attn="auto", preprocessing_num_workers=1)  # CPU only here
    cfg["output_dir"] = tempfile.mkdtemp(prefix="lf_out.")  # the command's own is a models folder of the project
    cfg = {k: v for k, v in cfg.items() if v is not None}
    model_args, data_args, training_args, _finetuning, _generating = get_train_args(cfg)
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    module = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)
    train = module["train_dataset"]
    assert len(train) == made["llamafactory_rows"], (len(train), made["llamafactory_rows"])
    supervised = sum(any(label != -100 for label in row["labels"]) for row in train)
    assert supervised == len(train), f"{len(train) - supervised} rows without a supervised answer"
    print(f"llamafactory: get_train_args + get_dataset read {len(train)} rows, every answer supervised")


def verl(made: dict) -> None:
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.utils.dataset.rl_dataset import RLHFDataset

    folder = Path(made["verl"])
    tokenizer = AutoTokenizer.from_pretrained(made["tiny_model"])
    config = OmegaConf.create(
        {
            "prompt_key": "prompt",
            "max_prompt_length": 6350,
            "filter_overlong_prompts": True,
            "cache_dir": tempfile.mkdtemp(),
        }
    )
    dataset = RLHFDataset(data_files=[str(folder / "train.parquet")], tokenizer=tokenizer, config=config)
    assert len(dataset) == made["verl_rows"], (len(dataset), made["verl_rows"])
    item = dataset[0]
    assert item["reward_model"]["ground_truth"].startswith("[") and item["data_source"].startswith("sradit/")
    print(f"verl: RLHFDataset read {len(dataset)} rows with their ground truth")

    fn = get_custom_reward_fn(
        OmegaConf.create(
            {"reward": {"custom_reward_function": {"path": str(folder / "reward.py"), "name": "compute_score"}}}
        )
    )
    assert fn is not None
    for row in made["rewards"]:
        got = fn(
            data_source=row["data_source"],
            solution_str=row["solution_str"],
            ground_truth=row["ground_truth"],
            extra_info={},
        )
        assert abs(got - row["expected"]) < 1e-9, (row, got)
    print(f"verl: reward.py loaded as verl loads it gives the project's rewards on {len(made['rewards'])} completions")

    import verl as verl_package

    argv = made["commands"]["verl"]
    assert argv[:2] == ["bash", str(folder / "verl_grpo.sh")], argv
    trainer = OmegaConf.load(Path(verl_package.__file__).parent / "trainer" / "config" / "ppo_trainer.yaml")
    for override in argv[2:]:  # `sradit train verl`'s own overrides name keys of verl's trainer config
        key = override.split("=", 1)[0]
        section, _, name = key.partition(".")
        assert name in trainer[section], f"{key} is not a key of verl's ppo_trainer config"
    print(f"verl: `sradit train verl` adds {argv[2:]} to verl_grpo.sh, keys of verl's own trainer config")


if __name__ == "__main__":
    made = json.loads(Path(sys.argv[1], "made.json").read_text(encoding="utf-8"))
    llamafactory(made)
    verl(made)
