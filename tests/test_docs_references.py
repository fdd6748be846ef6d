"""Citations of sources resolve inside the repository: no file cites the old out-of-repo document by
section number, every ``docs/references.md#<section>`` names a section of docs/references.md, every
``docs/<page>.md`` cited exists, and every repository path docs/references.md names exists."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "docs" / "references.md"
SUFFIXES = (".py", ".yaml", ".yml", ".md", ".j2", ".toml", ".s")
OLD_CITATION = re.compile("references" + r"(\.md)? \u00a7\d|" + "shared" + r"/references\.md")
ANCHOR_CITATION = re.compile(r"docs/references\.md#([A-Za-z0-9_-]+)")
DOCS_PAGE = re.compile(r"docs/([A-Za-z0-9_]+\.md)")
PACKAGES = "benchmarks|compiler|docs|examples|lutsim|reports|rtl|sim|tests|workloads"
PATH_IN_BACKTICKS = re.compile(rf"`((?:{PACKAGES})/[^`\s]*)`")


def tracked_sources() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [ROOT / p for p in out.decode().split("\0") if p.endswith(SUFFIXES) and (ROOT / p).is_file()]


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors() -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#{2,4} (.+)$", REFERENCES.read_text(), re.M)}


def test_the_anchor_rule_is_githubs():
    assert slug("Energy and area constants") == "energy-and-area-constants"
    assert slug("T-MAC") == "t-mac" and slug("LUT Tensor Core") == "lut-tensor-core"


def test_references_has_the_cited_sections():
    assert {"lut-tensor-core", "bitmod", "mixpe", "baselines", "energy-and-area-constants", "peer-tools",
            "model-shapes", "gpu-presets"} <= anchors()


@pytest.mark.parametrize("path", tracked_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_citations_resolve(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    old = [ln.strip() for ln in text.splitlines() if OLD_CITATION.search(ln)]
    assert not old, f"cites the out-of-repo references document; cite docs/references.md#<section>: {old[:3]}"
    missing = sorted(set(ANCHOR_CITATION.findall(text)) - anchors())
    assert not missing, f"no such section in docs/references.md: {missing}"
    pages = sorted(p for p in set(DOCS_PAGE.findall(text)) if not (ROOT / "docs" / p).is_file())
    assert not pages, f"no such page in docs/: {pages}"


def test_paths_named_in_references_exist():
    named = {m.rstrip(".,;:") for m in PATH_IN_BACKTICKS.findall(REFERENCES.read_text())}
    assert len(named) > 20
    absent = sorted(p for p in named if not (ROOT / p.split("#")[0]).exists() and "*" not in p)
    assert not absent, f"docs/references.md names paths that do not exist: {absent}"
