"""`process` killed with SIGKILL at any point, then re-run, equals an uninterrupted run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, demo_corpus, jsonl, run_cli

pytestmark = pytest.mark.slow


def _stories(db: Path) -> list[dict]:
    out = jsonl(run_cli("export", "stories", "--evidence", db=db, check=True).stdout)
    for s in out:  # build times differ between runs; nothing else may
        for article in [s["article"], *s.get("formats", {}).values()]:
            article["provenance"].pop("built")
    return out


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("kill") / "ingested.db"
    run_cli("ingest", str(demo_corpus()), db=db, check=True)
    return db


@pytest.fixture(scope="module")
def clean(ingested, tmp_path_factory) -> list[dict]:
    db = tmp_path_factory.mktemp("clean") / "clean.db"
    shutil.copy(ingested, db)
    run_cli("process", db=db, check=True)
    return _stories(db)


@pytest.mark.parametrize("point", ["extract:7", "analyze:2", "dedupe:11", "cluster:1", "placed:3",
                                   "cluster:9", "snapshot:1", "write:4"])
def test_kill_at_a_stage_then_rerun(point, ingested, clean, tmp_path):
    db = tmp_path / "k.db"
    shutil.copy(ingested, db)
    killed = run_cli("process", db=db, env={"MATOME_FAULT_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_cli("process", db=db, check=True)
    assert _stories(db) == clean


@pytest.mark.parametrize("delay", [2.5, 5.0])
def test_kill_at_a_random_moment_then_rerun(delay, ingested, clean, tmp_path):
    db = tmp_path / "t.db"
    shutil.copy(ingested, db)
    proc = subprocess.Popen([sys.executable, "-m", "matome", "--db", str(db), "process"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    run_cli("process", db=db, check=True)
    assert _stories(db) == clean
