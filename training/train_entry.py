"""Command-line entry of SFT and GRPO training (docs/jobs.md, "Training under accelerate").

    python -m training.train_entry sft configs/sft.yaml --set max_steps=10 --set lora=true
    accelerate launch --config_file configs/accelerate/zero3.yaml -m training.train_entry grpo cfg.yaml

The configuration is a flat YAML or TOML file whose keys are the fields of
:class:`training.sft.SFTRunConfig` / :class:`training.grpo.GRPORunConfig`; an unknown key is an error
naming the key and the file. ``--set key=value`` overrides a key (the value is read as YAML:
``true``, ``1e-3``, ``[principal]``, ``null``). The final result is printed as one line,
``RESULT {json}``, by the main process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import types
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

from pipeline.domain.vocabulary import TRAINERS
from pipeline.errors import InputError, SraditError


class ConfigError(InputError):
    """A configuration file (or override) that cannot be used; names the key and the file."""


def config_class(kind: str) -> type:
    if kind == "sft":
        from training.sft import SFTRunConfig

        return SFTRunConfig
    if kind == "grpo":
        from training.grpo import GRPORunConfig

        return GRPORunConfig
    raise ConfigError(f"unknown training kind {kind!r}; expected one of {', '.join(TRAINERS)}")


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    else:
        raise ConfigError(f"{path}: unknown configuration type {suffix or '(none)'!r}; use .yaml, .yml or .toml")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values, found {type(data).__name__}")
    return data


def _allowed(hint: Any) -> tuple[Any, ...]:
    """The alternatives of a type hint (``int | None`` → (int, NoneType))."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    options = _allowed(hint)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{where}: key {key!r} cannot be null")
    bare = [typing.get_origin(o) or o for o in options]
    # exact matches first (bool before int: YAML true is not 1)
    if isinstance(value, bool):
        if bool in bare:
            return value
    elif isinstance(value, int) and int in bare:
        return value
    elif isinstance(value, int | float) and float in bare:
        return float(value)
    elif isinstance(value, str) and str in bare:
        return value
    elif isinstance(value, list) and list in bare:
        inner = next((typing.get_args(o) for o in options if typing.get_origin(o) is list), ())
        if inner:
            return [_coerce(v, inner[0], f"{key}[{i}]", where) for i, v in enumerate(value)]
        return value
    # strings for numbers and booleans (PyYAML reads 5e-7 as a string; --set values may be plain text)
    if isinstance(value, str):
        text = value.strip()
        for kind in (bool, int, float):
            if kind not in bare:
                continue
            if kind is bool and text.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                return text.lower() in ("true", "yes", "on", "1")
            if kind is not bool:
                try:
                    return kind(text)
                except ValueError:
                    pass
    names = " | ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{where}: key {key!r} must be {names}, got {value!r}")


def _parse_override(item: str) -> tuple[str, Any]:
    import yaml

    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def build_config(kind: str, values: dict[str, Any], where: str) -> Any:
    cls = config_class(kind)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            f"for {kind} (known: {', '.join(sorted(known))})",
            [f"{where}: unknown key {k!r}" for k in unknown],
        )
    return cls(**{k: _coerce(v, hints[k], k, where) for k, v in values.items()})


def load_config(kind: str, path: Path | str, overrides: list[str] | None = None) -> Any:
    """The run configuration of ``kind`` ('sft' or 'grpo') from a YAML or TOML file, plus ``key=value`` overrides."""
    path = Path(path)
    values = _read_file(path)
    cfg = build_config(kind, values, str(path))
    if overrides:
        extra = dict(_parse_override(item) for item in overrides)
        merged = {**values, **extra}
        cfg = build_config(kind, merged, f"{path} (with --set)")
    return cfg


def run(kind: str, cfg: Any, on_metric: Any = None, on_progress: Any = None) -> dict[str, Any]:
    if kind == "sft":
        from training.sft import run_sft

        return run_sft(cfg, on_metric=on_metric, on_progress=on_progress)
    from training.grpo import run_grpo

    return run_grpo(cfg, on_metric=on_metric, on_progress=on_progress)


def job(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Job handler (``training.train_entry:job``) for :mod:`pipeline.jobs.runner`, training in the job's process.

    ``params``: ``kind`` ('sft' / 'grpo'), and ``config`` (a YAML/TOML path) and/or ``values`` (a dict of
    keys), plus optional ``overrides`` (``["key=value", …]``). Metrics go to the job's metrics JSONL
    through ``ctx.metric``, progress through ``ctx.progress``.
    """
    kind = str(params.get("kind", ""))
    config_class(kind)
    values: dict[str, Any] = {}
    where = "job parameters"
    if params.get("config"):
        path = Path(params["config"])
        values.update(_read_file(path))
        where = str(path)
    values.update(params.get("values") or {})
    values.update(dict(_parse_override(item) for item in params.get("overrides") or []))
    cfg = build_config(kind, values, where)

    def on_metric(line: dict[str, Any]) -> None:
        ctx.metric(**{k: v for k, v in line.items() if k != "time"})

    return run(kind, cfg, on_metric=on_metric, on_progress=lambda done, total: ctx.progress(done, total))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.train_entry", description="SFT or GRPO training with TRL (docs/method.md)."
    )
    parser.add_argument("kind", choices=TRAINERS)
    parser.add_argument("config", type=Path, help="YAML or TOML file of the run configuration")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration key (repeatable)",
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved configuration and exit")
    args = parser.parse_args(argv)
    from training.sft import config_dict, is_main_process

    try:
        cfg = load_config(args.kind, args.config, args.overrides)
        if args.print_config:
            print(json.dumps(config_dict(cfg), ensure_ascii=False, indent=1))
            return 0
        result = run(args.kind, cfg)
    except SraditError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if is_main_process():
        print("RESULT " + json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
