"""``process --engine ray`` on a real local Ray cluster gives what the local engine gives.

A cluster of 2 CPUs on 127.0.0.1 (``ray.init(address="local")``) runs the
per-article stages as Ray Data pipelines; the stores must equal the local
engine's on the demo corpus and on the events fixture — stories, storylines,
tags, written text, and every vector bit for bit. A Ray worker killed mid-batch
(an extract task's and an analyze actor's process, SIGKILLed from inside)
loses and duplicates nothing; a poison report becomes the same recorded,
set-aside reject as under the local engine. Without Ray the tests skip on a
developer's machine and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matome import pipeline
from matome.language import analyze
from matome.settings import Settings
from matome.store import Store, db_url
from tests import ray_hooks
from tests.conftest import ROOT, demo_corpus, demo_settings, run_cli
from tests.test_incremental import FIXTURE, _result
from tests.test_postgres import _unavailable

pytestmark = pytest.mark.slow

POISON = "poison-3"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A local Ray cluster (its fault directory, its address), shut down after the module."""
    try:
        import ray
    except ImportError:
        _unavailable("Ray is not installed: pip install -e '.[ray]'")
    faults = tmp_path_factory.mktemp("ray-faults")
    ctx = ray.init(num_cpus=2, address="local", include_dashboard=False, log_to_driver=False,
                   logging_level="WARNING", _node_ip_address="127.0.0.1",
                   # the checkout's matome first: an installed one may be another's (a worktree's)
                   runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                                             "MATOME_TEST_POISON": POISON,
                                             "MATOME_TEST_RAY_DIR": str(faults)},
                                "worker_process_setup_hook": "tests.ray_hooks.install"})
    try:
        yield faults, ctx.address_info["gcs_address"]
    finally:
        ray.shutdown()


def _engine(settings: Settings) -> Any:
    from matome.scale.ray_engine import RayEngine

    return RayEngine(settings.scale)


def _same(a: Store, b: Store) -> None:
    assert _result(a) == _result(b)
    va, vb = a.analyses(), b.analyses()
    assert va.keys() == vb.keys()
    for k, (an, vec) in va.items():
        assert an == vb[k][0] and np.array_equal(vec, vb[k][1]), k
    assert [(r["origin"], r["stage"], r["reason"]) for r in a.rejects()] == \
        [(r["origin"], r["stage"], r["reason"]) for r in b.rejects()]
    assert not a.queued("extract") and not a.queued("analyze") and not a.queued("dedupe")


def test_demo_corpus_equals_the_local_engine_with_workers_killed_mid_batch(
        cluster: tuple[Path, str], demo_db: Path, tmp_path: Path) -> None:
    faults, _ = cluster
    for stage in ("extract", "analyze"):
        (faults / f"kill-{stage}").touch()
    settings = demo_settings()
    settings.scale.ray_extract_batch = 8  # several tasks: one dies, the others are kept
    store = Store(db_url(str(tmp_path / "ray.db")))
    pipeline.ingest(store, [str(demo_corpus())], settings)
    engine = _engine(settings)
    report = pipeline.process(store, settings, engine=engine)
    assert (faults / "killed-extract").exists() and (faults / "killed-analyze").exists()
    assert report.counts["extracted"] == 46 and report.counts["analyzed"] == 46
    local = Store(db_url(str(demo_db)), readonly=True)
    _same(store, local)
    local.close()
    store.close()


def _records(tmp: Path) -> Path:
    rows = [{"id": f"poison-{i}", "url": f"https://example.jp/p/{i}", "source": "港湾日報",
             "published": f"2026-02-1{i}T09:00:00+09:00", "title": f"港湾の再開発計画 第{i}報",
             "text": f"市は{i}日、港湾地区の再開発計画を発表した。総事業費は{i}00億円。"
                     "市長は記者会見で「着実に進める」と述べた。"} for i in range(1, 6)]
    path = tmp / "poison.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_a_poison_report_is_the_same_set_aside_reject_as_locally(
        cluster: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, settings = _records(tmp_path), Settings()
    local = Store(db_url(str(tmp_path / "local.db")))
    pipeline.ingest(local, [str(src)], settings)
    with monkeypatch.context() as m:
        m.setattr(analyze, "analyze", ray_hooks.poisoned(analyze.analyze, POISON))
        pipeline.process(local, settings)
    remote = Store(db_url(str(tmp_path / "ray.db")))
    pipeline.ingest(remote, [str(src)], settings)
    engine = _engine(settings)
    report = pipeline.process(remote, settings, engine=engine)
    assert report.counts["analyzed"] == 4 and report.counts["rejected"] == 1
    [rej] = remote.rejects()
    assert (rej["origin"], rej["stage"]) == (POISON, "analyze")
    assert rej["reason"] == f"ZeroDivisionError: boom in {POISON}"
    _same(remote, local)
    again = pipeline.process(remote, settings, engine=engine)  # set aside: not tried again
    assert again.counts["analyzed"] == 0 and again.counts["rejected"] == 0
    assert len(remote.rejects()) == 1
    local.close()
    remote.close()


def test_the_events_fixture_equals_the_local_engine_through_the_cli(
        cluster: tuple[Path, str], tmp_path: Path) -> None:
    """``matome process --engine ray --address`` (another driver on the same cluster)."""
    _, address = cluster
    local_db, ray_db = tmp_path / "local.db", tmp_path / "ray.db"
    settings = Settings()
    local = Store(db_url(str(local_db)))
    pipeline.ingest(local, [str(FIXTURE)], settings)
    local.close()
    shutil.copy(local_db, ray_db)  # the same raw documents, ingested once
    local = Store(db_url(str(local_db)))
    pipeline.process(local, settings)
    run_cli("process", "--engine", "ray", "--address", address, db=ray_db, check=True)
    remote = Store(db_url(str(ray_db)), readonly=True)
    _same(remote, local)
    local.close()
    remote.close()


def test_a_new_analyze_version_keeps_the_vectors_as_the_local_engine_does(
        cluster: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a re-analysis may keep travels with each report to the actors (``language.reuse``):
    every report analysed again, none embedded again, the same vectors as before."""
    from matome.records import Stage

    rows = [json.loads(line) for line in _records(tmp_path).read_text("utf-8").splitlines()]
    src = tmp_path / "plain.jsonl"
    src.write_text("".join(json.dumps({**r, "id": f"plain-{i}"}, ensure_ascii=False) + "\n"
                           for i, r in enumerate(rows)), "utf-8")  # no poison among them
    settings = Settings()
    store = Store(db_url(str(tmp_path / "ray.db")))
    pipeline.ingest(store, [str(src)], settings)
    engine = _engine(settings)
    pipeline.process(store, settings, engine=engine)
    before = {k: vec.tobytes() for k, (_, vec) in store.analyses().items()}
    monkeypatch.setattr(analyze, "STAGE", Stage("analyze", analyze.STAGE.version + 1))
    report = pipeline.process(store, settings, engine=engine)
    assert report.counts["analyzed"] == len(rows) == report.counts["embeddings reused"]
    assert {k: vec.tobytes() for k, (_, vec) in store.analyses().items()} == before
    store.close()
