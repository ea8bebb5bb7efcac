"""Embedding backends: the OpenAI-compatible endpoint against a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from matome.errors import ConfigError, StoreError
from matome.language import embed
from matome.settings import EmbedSettings

SEEN: list[dict[str, object]] = []


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b - 128.0 for b in digest[:16]]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        SEEN.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            return
        # answered out of order, as some servers do: the client must sort by index
        data = [{"index": i, "embedding": _vector(t)} for i, t in enumerate(body["input"])][::-1]
        payload = json.dumps({"data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_openai_compatible_endpoint(server, monkeypatch):
    monkeypatch.setenv("MATOME_TEST_EMBED_KEY", "sk-secret")
    cfg = EmbedSettings(backend="openai", base_url=server, model="e5-large", batch=2,
                        api_key_env="MATOME_TEST_EMBED_KEY")
    texts = ["日銀が利上げ", "円相場が急落", "G7外相会合"]
    got = embed.passages(texts, cfg)
    assert got.shape == (3, 16)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0)
    want = np.asarray([_vector("passage: " + t) for t in texts], dtype=np.float32)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert np.allclose(got, want, atol=1e-6)  # in input order despite the reversed reply
    assert [len(s["input"]) for s in SEEN[-2:]] == [2, 1]  # batched
    assert SEEN[-1]["path"] == "/v1/embeddings" and SEEN[-1]["auth"] == "Bearer sk-secret"


def test_a_failing_endpoint_is_a_clear_error(server):
    cfg = EmbedSettings(backend="openai", base_url=server, model="broken")
    with pytest.raises(StoreError, match="embeddings endpoint"):
        embed.passages(["テキスト"], cfg)


def test_misconfigured_backends_say_what_to_do():
    with pytest.raises(ConfigError, match="base_url"):
        embed.passages(["x"], EmbedSettings(backend="openai"))
    with pytest.raises(ConfigError, match="unknown backend"):
        embed.passages(["x"], EmbedSettings(backend="word2vec"))
