"""Built test models cached on disk, keyed by a hash of everything their build reads, built by one process at a time.

The tiny answering model costs minutes of TRL SFT on two cores; every pytest session, and under pytest-xdist every
worker, would otherwise build its own. :func:`cached_build` builds it once into the user's cache folder
(``~/.cache/sradit-tests``; ``SRADIT_TEST_CACHE`` names another): a file lock lets one process build while the others
wait, and the key changes whenever the build could give something else, so a stale model is never reused:

- the source of the builder and of every project module it imports, transitively (function-level imports too), and
  the data files beside them (the synthetic generator's tables, the tokenizer corpus's label space);
- the config files the build reads, and the build's own arguments;
- the versions of the libraries that train and save it, of Python, and the machine's architecture.

A fresh machine (CI) has no cache, so there the model is built once per run; on a machine that ran the suite before,
every clone reuses it until one of those changes. A folder whose files no longer match what was built (a test wrote
into it) is built again, with a warning.

So that no worker idles on the lock, a session that will need the answering model and finds it missing starts its
build at once in a background process (:func:`start_background_build`, ``python -m tests.model_cache``), beside the
tests, and runs the modules that use it last (tests/conftest.py): by the time they start it is usually built.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path

from filelock import FileLock, Timeout

from tests.helpers import ROOT

PACKAGES = ("app", "db", "pipeline", "training")
#: The libraries whose versions can change a built model or the files it is saved as.
LIBRARIES = ("torch", "transformers", "trl", "tokenizers", "accelerate", "peft", "datasets", "safetensors", "numpy")
DATA_SUFFIXES = (".json", ".toml", ".yaml", ".yml", ".txt", ".jinja")


def cache_root() -> Path:
    """``SRADIT_TEST_CACHE``, else the user's cache folder (``$XDG_CACHE_HOME`` or ~/.cache) ``/sradit-tests``: shared
    by every clone on the machine, which the key makes safe."""
    if os.environ.get("SRADIT_TEST_CACHE"):
        return Path(os.environ["SRADIT_TEST_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sradit-tests"


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Project modules ``path`` imports, anywhere in it; ``from pkg import name`` counts pkg.name when that is a
    module, and every package above an imported module counts (its ``__init__`` runs)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    out = set()
    for name in found:
        parts = name.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {m for m in out if _module_file(m) is not None}


def source_files(modules: Iterable[str]) -> list[Path]:
    """The files of ``modules`` and of every project module they import, transitively, with the data files
    (:data:`DATA_SUFFIXES`) of the folders they sit in."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen or _module_file(name) is None:
            continue
        seen.add(name)
        todo.extend(_imports(_module_file(name)))  # type: ignore[arg-type]
    files = {_module_file(m) for m in seen}
    data = {f for p in files if p for f in p.parent.iterdir() if f.suffix in DATA_SUFFIXES and f.is_file()}
    return sorted({p for p in files if p} | data)


def build_key(modules: Iterable[str], files: Iterable[Path] = (), args: Mapping[str, object] | None = None) -> str:
    digest = hashlib.sha256()
    for path in [*source_files(modules), *sorted(files)]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    versions = {lib: metadata.version(lib) for lib in LIBRARIES}
    context = {"args": args or {}, "versions": versions, "python": sys.version, "machine": platform.machine()}
    digest.update(json.dumps(context, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:20]


def _manifest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _intact(folder: Path, manifest: Path) -> bool:
    try:
        return folder.is_dir() and json.loads(manifest.read_text(encoding="utf-8")) == _manifest(folder)
    except (OSError, ValueError):
        return False


def _paths(name: str, key: str) -> tuple[Path, Path, Path]:
    root = cache_root()
    return root / f"{name}-{key}", root / f"{name}-{key}.manifest.json", root / f"{name}-{key}.lock"


def is_cached(name: str, key: str) -> bool:
    final, manifest, _lock = _paths(name, key)
    return _intact(final, manifest)


#: How long a process waits for another's build of a tiny model (minutes on two idle cores; far more when loaded).
BUILD_WAIT_SECONDS = 2400


def cached_build(name: str, key: str, build: Callable[[Path], object], *, wait: bool = True) -> Path | None:
    """The folder ``<cache>/<name>-<key>``, which ``build(folder)`` filled: built now (the first process to take
    the lock builds, the others wait and reuse it), or earlier with the same key. The folder holds only what the
    build wrote; its manifest (every file's sha256) sits beside it. With ``wait=False``, None when another process
    holds the lock (is building it)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final, manifest, lock = _paths(name, key)
    if _intact(final, manifest):
        return final
    try:
        held = FileLock(str(lock), timeout=BUILD_WAIT_SECONDS if wait else 0).acquire()
    except Timeout:
        if wait:  # tests time only their own bodies (timeout_func_only), so this wait has a limit of its own
            raise RuntimeError(f"{name}: its build held {lock} for over {BUILD_WAIT_SECONDS} s") from None
        return None
    with held:
        if _intact(final, manifest):
            return final
        if final.exists():
            message = f"{final} no longer holds what was built (did a test write into it?): building it again"
            warnings.warn(message, stacklevel=2)
        manifest.unlink(missing_ok=True)
        shutil.rmtree(final, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            build(staging)
            files = _manifest(staging)
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        tmp = manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(files, indent=1) + "\n", encoding="utf-8")
        tmp.replace(manifest)
    return final


# --- the models the tests use ---------------------------------------------------------------------------------------

TINY = "tiny-model"
ANSWERS = "tiny-answers"


def tiny_model_key() -> str:
    return build_key(["training.tiny_model"], args={"seed": 0})


def tiny_model() -> Path:
    """The random tiny Qwen2 of `sradit model tiny` (seed 0), folder ``…/tiny``."""
    from training.tiny_model import build_tiny_model

    folder = cached_build(TINY, tiny_model_key(), lambda out: build_tiny_model(out / "tiny", seed=0))
    assert folder is not None
    return folder / "tiny"


def answering_model_key() -> str:
    from training.tiny_answers import CONFIG

    return build_key(["training.tiny_answers"], [CONFIG], {"seed": 0, "steps": None})


def answering_model(*, wait: bool = True) -> Path | None:
    """The tiny Qwen2 taught to answer (`sradit model tiny --answers`, seed 0), folder ``…/tiny``."""
    from training.tiny_answers import build_answering_model

    def build(out: Path) -> None:
        build_answering_model(out / "tiny", seed=0, log=lambda _line: None)

    folder = cached_build(ANSWERS, answering_model_key(), build, wait=wait)
    return None if folder is None else folder / "tiny"


def start_background_build() -> subprocess.Popen[bytes] | None:
    """Build the answering model in a process of its own unless it is cached; its output goes to a log file beside
    the cache. The process gives up at once when another one holds the lock (is building it). Its torch threads wait
    passively (``OMP_WAIT_POLICY``): they share the cores with the test workers, and spinning threads would burn the
    workers' time; once the workers wait for the model, it has every core."""
    key = answering_model_key()
    if is_cached(ANSWERS, key):
        return None
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": str(os.cpu_count() or 1),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    with (root / f"{ANSWERS}-{key}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.model_cache"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(1)  # through cached_build's cleanup: no half-built folder is left


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    built = answering_model(wait=False)
    print(f"tiny answering model: {built or 'being built by another process'}", flush=True)
