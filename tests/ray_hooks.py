"""Faults the Ray tests put into every Ray worker process (``worker_process_setup_hook``).

A poison report (analysis raises for the id in ``MATOME_TEST_POISON``), and a
worker that kills itself with SIGKILL mid-batch, once: the test arms it by
creating ``kill-extract`` or ``kill-analyze`` in ``MATOME_TEST_RAY_DIR``; the
first worker to rename it to ``killed-…`` dies (a rename is atomic, so exactly
one does), and the test checks it did.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any


def poisoned(real: Any, poison: str) -> Any:
    def analyze(article: Any, gaz: Any) -> Any:
        _fire("analyze")
        if article.id == poison:
            raise ZeroDivisionError(f"boom in {poison}")
        return real(article, gaz)

    return analyze


def install() -> None:
    from matome import extract
    from matome.language import analyze

    real_extract = extract.extract_with_thread

    def extract_(doc: Any, settings: Any) -> Any:
        _fire("extract")
        return real_extract(doc, settings)

    extract.extract_with_thread = extract_  # type: ignore[assignment]
    analyze.analyze = poisoned(analyze.analyze, os.environ.get("MATOME_TEST_POISON", ""))


def _fire(stage: str) -> None:
    where = os.environ.get("MATOME_TEST_RAY_DIR")
    if not where:
        return
    try:
        os.rename(Path(where) / f"kill-{stage}", Path(where) / f"killed-{stage}")
    except FileNotFoundError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
