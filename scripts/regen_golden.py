"""Regenerate tests/golden/*.json from the demo corpus. Review the diff before committing."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import demo_corpus, demo_settings  # noqa: E402
from tests.goldens import STAGES, compute  # noqa: E402

from matome import pipeline  # noqa: E402
from matome.store import Store, db_url  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "g.db"
        store = Store(db_url(str(db)))
        pipeline.ingest(store, [str(demo_corpus())], demo_settings())
        pipeline.process(store, demo_settings())
        store.close()
        data = compute(db)
    out = ROOT / "tests" / "golden"
    out.mkdir(exist_ok=True)
    for stage in STAGES:
        path = out / f"{stage}.json"
        path.write_text(json.dumps(data[stage], ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
