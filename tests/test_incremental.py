"""A run costs what the new input costs: queues, the clusterer's snapshot, learnt names.

The events fixture arrives in chronological batches with ``process`` after
each (as under ``watch``); the result must be exactly what one run over
everything gives, whether each run restores the clusterer's snapshot or
rebuilds it from the active window. A run with nothing new finds empty
queues and does no stage's work; a stage whose settings change looks at
everything once.
"""

from __future__ import annotations

import json
import shutil
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from matome import pipeline
from matome.settings import Settings
from matome.store import Store, db_url
from matome.stories import window
from tests.conftest import run_cli

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "events" / "articles.jsonl"
STAGES = ("extract", "analyze", "dedupe", "cluster", "tags", "write")


def _batches(tmp: Path, n: int) -> list[Path]:
    """The fixture in ``n`` files, oldest first (undated reports last, as one run orders them)."""
    rows = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: (r.get("published") is None, r.get("published") or "", r["id"]))
    size = -(-len(rows) // n)
    out = []
    for i in range(n):
        path = tmp / f"batch{i}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                for r in rows[i * size : (i + 1) * size]), "utf-8")
        out.append(path)
    return out


def _result(store: Store) -> dict[str, Any]:
    """Everything a reader is shown of the grouping: stories, storylines, tags, written text."""
    members: dict[str, list[str]] = {}
    for m in store.memberships():
        members.setdefault(m.story_id, []).append(f"{m.article_id}:{m.role}")
    written = {sid: {fmt: _without_build_time(w.to_json()) for fmt, w in by_fmt.items()}
               for sid, by_fmt in store.written().items()}
    return {"stories": {k: sorted(v) for k, v in members.items()},
            "storylines": sorted((r.id, r.storyline, r.follows) for r in store.stories()),
            "tags": sorted((t.story_id, t.tag_id) for t in store.story_tags()),
            "written": written, "redirects": store.redirects()}


def _without_build_time(data: dict[str, Any]) -> dict[str, Any]:
    data["provenance"].pop("built", None)
    return data


def _run(db: Path, batches: list[Path], *, drop_snapshot: bool = False,
         settings: Settings | None = None) -> Store:
    store = Store(db_url(str(db)))
    settings = settings or Settings()
    for path in batches:
        pipeline.ingest(store, [str(path)], settings)
        if drop_snapshot:
            store.drop_snapshots()
        pipeline.process(store, settings)
    return store


@pytest.fixture(scope="module")
def once_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole fixture in one run: the reference."""
    tmp = tmp_path_factory.mktemp("once")
    _run(tmp / "once.db", _batches(tmp, 1)).close()
    return tmp / "once.db"


@pytest.fixture(scope="module")
def at_once(once_db: Path) -> dict[str, Any]:
    store = Store(db_url(str(once_db)), readonly=True)
    try:
        return _result(store)
    finally:
        store.close()


def _copy(db: Path, tmp: Path) -> Store:
    shutil.copy(db, tmp / "copy.db")
    return Store(db_url(str(tmp / "copy.db")))


def test_batches_with_snapshots_equal_one_run(tmp_path: Path, at_once: dict[str, Any]) -> None:
    store = _run(tmp_path / "inc.db", _batches(tmp_path, 4))
    saved = store.snapshot("cluster")
    assert saved is not None and saved[1] == store.max_seq("member")  # used, not rebuilt
    assert _result(store) == at_once
    store.close()


def test_batches_rebuilding_the_window_equal_one_run(tmp_path: Path, at_once: dict[str, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the window is replayed, and stories written, a few at a time (an archive's a chunk at a time)
    monkeypatch.setattr(window, "REPLAY_CHUNK", 3)
    monkeypatch.setattr(pipeline, "WRITE_CHUNK", 3)
    store = _run(tmp_path / "rebuilt.db", _batches(tmp_path, 4), drop_snapshot=True)
    assert _result(store) == at_once
    store.close()


def test_batches_equal_one_run_when_storylines_outgrow_what_a_story_reads(tmp_path: Path) -> None:
    """Each story's explainer and ■解説 read only the story before it (``write.windows``):
    a change is written again in the story after it, where it was and where it is, and the
    batches still give what one run gives."""
    settings = Settings()
    settings = replace(settings, writer=replace(settings.writer, explainer_sections=2))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    once = _run(tmp_path / "once.db", _batches(tmp_path / "a", 1), settings=settings)
    lines: dict[str | None, int] = {}
    for r in once.stories():
        lines[r.storyline] = lines.get(r.storyline, 0) + 1
    assert max(lines.values()) > 2  # storylines longer than a story reads
    batched = _run(tmp_path / "inc.db", _batches(tmp_path / "b", 4), settings=settings)
    assert _result(batched) == _result(once)
    once.close()
    batched.close()


@pytest.mark.parametrize("point", ["cluster:5", "snapshot:1", "write:3"])
def test_killed_on_a_later_batch_then_rerun(point: str, tmp_path: Path,
                                             at_once: dict[str, Any]) -> None:
    """Killed while the second batch is processed (after the first left a snapshot), then
    re-run: the same result as one run."""
    db = tmp_path / "k.db"
    first, second = _batches(tmp_path, 2)
    run_cli("ingest", str(first), db=db, check=True)
    run_cli("process", db=db, check=True)
    run_cli("ingest", str(second), db=db, check=True)
    killed = run_cli("process", db=db, env={"MATOME_FAULT_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_cli("process", db=db, check=True)
    store = Store(db_url(str(db)), readonly=True)
    assert _result(store) == at_once
    store.close()


def test_nothing_new_means_no_work(once_db: Path, tmp_path: Path) -> None:
    store = _copy(once_db, tmp_path)
    assert all(store.queued(stage) == [] for stage in STAGES)
    report = pipeline.process(store, Settings())
    assert not {"extracted", "analyzed", "written", "rejected"} & set(+report.counts)
    # a stage whose settings change looks at everything again, once, and finds its work done
    changed = Settings()
    changed.dedupe.window_days = 7
    assert store.stage_key("dedupe") is not None
    pipeline.run_dedupe(store, changed, pipeline.Quiet(), pipeline.Report())
    assert store.queued("dedupe") == []
    store.close()


def test_a_stale_snapshot_is_not_used(once_db: Path, tmp_path: Path) -> None:
    """A snapshot that does not reflect the last report assigned (a run killed after
    assigning, before saving) is rebuilt from the window, never restored."""
    from matome.stories import runs, window

    store = _copy(once_db, tmp_path)
    settings = Settings()
    features = runs.featurer(store, pipeline.resolver(store, settings))
    saved = store.snapshot("cluster")
    assert saved is not None
    assert window.restore(store, settings.cluster, features)[1]
    store.save_snapshot("cluster", saved[0], saved[1] - 1, saved[2])
    assert not window.restore(store, settings.cluster, features)[1]
    store.save_snapshot("cluster", "other settings", saved[1], saved[2])
    assert not window.restore(store, settings.cluster, features)[1]
    store.close()


def test_an_idle_run_saves_a_missing_snapshot(once_db: Path, tmp_path: Path,
                                              at_once: dict[str, Any]) -> None:
    """A store without a current snapshot (killed before saving, loaded from elsewhere) gets
    one from the next run even with nothing new: the run after it, with news, restores the
    window instead of replaying it (at 100k archived articles the replay was most of a run)."""
    from matome.stories import runs, window

    store = _copy(once_db, tmp_path)
    settings = Settings()
    store.drop_snapshots()
    pipeline.process(store, settings)
    assert window.current(store, settings.cluster)
    features = runs.featurer(store, pipeline.resolver(store, settings))
    assert window.restore(store, settings.cluster, features)[1]
    assert _result(store) == at_once
    pipeline.process(store, settings)  # current: not made again
    assert window.current(store, settings.cluster)
    store.close()


def test_a_store_from_before_the_queues_is_upgraded_without_redoing_work(
        once_db: Path, tmp_path: Path, at_once: dict[str, Any]) -> None:
    """A store processed by a matome without queues (schema 0008) is upgraded: every item is
    queued once, checked against its stored output and found done; nothing is redone."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    shutil.copy(once_db, tmp_path / "old.db")
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", "matome.store:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    engine.dispose()
    store = Store(db_url(str(tmp_path / "old.db")))
    assert store.queued("analyze") and store.queued("write")
    report = pipeline.process(store, Settings())
    assert not {"extracted", "analyzed", "written", "rejected"} & set(+report.counts)
    assert all(store.queued(stage) == [] for stage in STAGES)
    assert _result(store) == at_once
    store.close()


def test_starting_the_cli_imports_no_scikit_learn() -> None:
    """A cron-driven `process` with nothing new pays the CLI's start each time: scikit-learn
    (with the parts of SciPy it loads) was 0.85 s of it, for a stop list and a TF-IDF that only
    reading English and writing a story use. Both are imported when first needed."""
    import subprocess
    import sys

    code = "import sys, matome.cli, matome.pipeline; print(sorted({m.split('.')[0] for m in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'sklearn'" not in out, out
