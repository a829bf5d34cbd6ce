"""A saved model's weights as evidence: their checksum (its identity in the registry) and which tensors differ
from another model's (did training move them?).

Only weight files count: ``model*.safetensors``, ``pytorch_model*.bin`` and ``adapter_model.*``. TRL and
transformers write other files beside them (``training_args.bin``, optimizer state, tokenizer files) that differ
from run to run even when no weight moved; a checksum that hashed ``training_args.bin`` once "showed" a GRPO run
had learned when 0 of 26 tensors had changed. Whether training moved the weights is answered from the tensors
themselves (:func:`tensor_changes`), never from checksums of files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

#: The file names that hold a model's weights (full models, sharded ones, PEFT adapters).
WEIGHT_FILES: tuple[str, ...] = ("model*.safetensors", "pytorch_model*.bin", "adapter_model.*")


def weight_files(folder: str | Path) -> list[Path]:
    """The weight files of a saved model, in name order (empty when it has none)."""
    found = {p for pattern in WEIGHT_FILES for p in Path(folder).glob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: p.name)


def weights_sha256(folder: str | Path) -> str:
    """One checksum over a saved model's weight files, names and bytes, in name order."""
    files = weight_files(folder)
    if not files:
        raise InputError(f"{folder}: no weight files ({', '.join(WEIGHT_FILES)}) to checksum")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _tensors(folder: str | Path) -> dict[str, object]:
    import torch
    from safetensors.torch import load_file

    tensors: dict[str, object] = {}
    files = weight_files(folder)
    if not files:
        raise InputError(f"{folder}: no weight files ({', '.join(WEIGHT_FILES)}) to compare")
    for path in files:
        if path.suffix == ".safetensors":
            tensors.update(load_file(str(path)))
        elif path.suffix == ".bin":
            tensors.update(torch.load(path, map_location="cpu", weights_only=True))
    return tensors


@dataclass(frozen=True)
class TensorChanges:
    """How two saved models' tensors compare, name by name."""

    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    only_one_side: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.changed) + len(self.unchanged)

    @property
    def moved(self) -> bool:
        return bool(self.changed)

    def summary(self) -> str:
        return f"{len(self.changed)} of {self.total} tensors differ"


def tensor_changes(before: str | Path, after: str | Path) -> TensorChanges:
    """Which tensors of ``after`` differ from ``before`` (exactly: any element). Names present on one side only
    are listed apart (a LoRA adapter against its base compares no common tensor)."""
    import torch

    old, new = _tensors(before), _tensors(after)
    common = sorted(old.keys() & new.keys())
    changed = tuple(n for n in common if not torch.equal(old[n], new[n]))  # type: ignore[arg-type]
    unchanged = tuple(n for n in common if n not in set(changed))
    return TensorChanges(changed, unchanged, tuple(sorted(old.keys() ^ new.keys())))
