"""The house rules of the layout (README, "Architecture"), checked on the source tree itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGES = ("app", "pipeline", "training", "db")
#: who may import whom (docs/architecture.md, "Layers and imports")
ALLOWED = {"db": set(), "pipeline": {"db"}, "training": {"pipeline", "db"}, "app": {"pipeline", "training", "db"}}
STAGES = ("domain", "ingest", "mining", "augment", "review", "export", "rounds")


def sources(package: str) -> list[Path]:
    return [p for p in sorted((ROOT / package).rglob("*.py")) if "migrations" not in p.parts]


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_go_down(package: str) -> None:
    wrong = {
        str(p.relative_to(ROOT)): sorted(imported_packages(p) - ALLOWED[package] - {package}) for p in sources(package)
    }
    assert {k: v for k, v in wrong.items() if v} == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_600_lines(package: str) -> None:
    long = {str(p.relative_to(ROOT)): n for p in sources(package) if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


def test_pipeline_is_laid_out_by_stage() -> None:
    top = sorted(p.name for p in (ROOT / "pipeline").glob("*.py"))
    assert len(top) <= 8, top
    for stage in STAGES:
        init = ROOT / "pipeline" / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"pipeline/{stage}/__init__.py needs a docstring saying what it owns"


def test_tests_mirror_the_packages() -> None:
    """Every test module sits under the folder of the package it tests (tests/<package>/…)."""
    for test in (ROOT / "tests").rglob("test_*.py"):
        rel = test.relative_to(ROOT / "tests")
        if len(rel.parts) == 1:
            continue  # whole-tree checks like this one
        source_dir = ROOT.joinpath(*rel.parts[:-1])
        assert source_dir.is_dir(), f"tests/{rel} has no package folder {source_dir.relative_to(ROOT)}"


def test_design_references_stay_in_the_repository() -> None:
    """Docstrings and comments point at the design notes in docs/, never at the brief outside the repository; a
    note they name exists, and so does the section they name (``docs/jobs.md, "Logs and metrics"``)."""
    import re

    brief = "DESIGN" + ".md"  # spelled in two parts so that this file does not match itself
    outside, missing = [], []
    for folder in (*PACKAGES, "tests", "bench", ".ci"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                where = f"{p.relative_to(ROOT)}:{n}"
                if brief in line:
                    outside.append(where)
                for note, section in re.findall(r'docs/([\w.-]+\.md)(?:, "([^"]+)")?', line):
                    path = ROOT / "docs" / note
                    text = path.read_text(encoding="utf-8") if path.is_file() else ""
                    headings = re.findall(r"^#+ (.+)$", text, re.M)
                    if not path.is_file() or (section and section not in headings):
                        missing.append(f"{where}: docs/{note}" + (f', "{section}"' if section else ""))
    assert outside == [], f"point these at docs/ instead: {outside}"
    assert missing == [], f"no such note or section: {missing}"
