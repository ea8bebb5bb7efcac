"""Shared fixtures: a demo database built once per session, and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from matome import pipeline
from matome.settings import Settings
from matome.settings import load as load_settings
from matome.site import readmodel
from matome.store import Store, db_url

# Property tests explore at random on a developer's machine (new edge cases get
# found and fixed there); in CI the same examples every run, so a merge is never
# blocked by a case nobody has seen before.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
SHARED_EVAL = ROOT.parent / "shared" / "eval"


def demo_corpus() -> Path:
    return Path(str(resources.files("matome").joinpath("demo/corpus")))


def demo_expected() -> dict[str, Any]:
    return json.loads(resources.files("matome").joinpath("demo/expected.json").read_text("utf-8"))


def run_cli(*args: str, db: Path | None = None, env: dict[str, str] | None = None,
            check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CI": "true"}
    full_env.pop("MATOME_FAULT_AT", None)
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "matome"]
    if db is not None:
        cmd += ["--db", str(db)]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"matome {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def demo_settings() -> Settings:
    """The settings `matome demo` uses: the bundled demo/matome.toml (its themes)."""
    return load_settings(demo_corpus().parent / "matome.toml")


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo corpus ingested and processed once, in-process."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    store = Store(db_url(str(path)))
    settings = demo_settings()
    pipeline.ingest(store, [str(demo_corpus())], settings)
    pipeline.process(store, settings)
    store.close()
    yield path


@pytest.fixture(scope="session")
def demo_catalog(demo_db: Path) -> readmodel.Catalog:
    store = Store(db_url(str(demo_db)), readonly=True)
    try:
        return readmodel.load(store)
    finally:
        store.close()
