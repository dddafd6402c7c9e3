"""The documentation: the README stays a newcomer's page, the generated pages match the catalog and the CLI,
and the site builds with `mkdocs build --strict` (broken links, anchors and includes fail it)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_short_and_keeps_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 150
    assert [n for n, line in enumerate(lines, 1) if len(line) > 110] == []
    text = "\n".join(lines[:8])
    assert "bash scripts/demo.sh" in text
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = "bash scripts/setup.sh --dev && .venv/bin/python -m pytest"
    assert command in text and command in ci


@pytest.mark.parametrize("page", ["docs/claims.md", "docs/cli.md"])
def test_generated_pages_are_up_to_date(page):
    gen = _gen_docs()
    expected = gen.PAGES[page]()
    assert (ROOT / page).read_text(encoding="utf-8") == expected, \
        f"{page} is out of date: run .venv/bin/python scripts/gen_docs.py"


def test_every_claim_in_the_catalog_is_on_the_claims_page():
    import json

    page = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    for path in (ROOT / "src" / "tradeoff" / "models" / "catalog").glob("*.json"):
        for claim in json.loads(path.read_text(encoding="utf-8")).get("claims", []):
            assert f"| {claim['id']} |" in page and claim["text"].split()[0] in page


def test_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[dev]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()
