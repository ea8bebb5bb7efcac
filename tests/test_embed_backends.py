"""Embedding backends: the OpenAI-compatible endpoint against a real server on 127.0.0.1;
what the analysis reuses instead of embedding or analysing a text again."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from matome.errors import ConfigError, StoreError
from matome.language import analyze, embed
from matome.records import Analysis, Article
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


def _report(i: str, title: str, text: str) -> tuple[Article, Analysis]:
    a = Article(i, f"https://example.jp/{i}", title, text, "例", "ja")
    return a, analyze.analyze(a, analyze.gazetteer())


def test_a_text_already_embedded_is_not_sent_again(server):
    cfg = EmbedSettings(backend="openai", base_url=server, model="reuse-test", batch=8)
    first, copy = _report("a1", "港で火災", "港で火災があった。けが人はいない。"), \
        _report("a2", "港で火災", "港で火災があった。けが人はいない。")
    other = _report("b1", "橋が開通", "新しい橋が開通した。式典があった。")
    before = len(SEEN)
    got = analyze.embed_batch([first, copy, other], cfg)
    sent = [t for s in SEEN[before:] for t in s["input"]]  # type: ignore[attr-defined]
    assert len(sent) == 2  # the copy's text once
    assert np.array_equal(got[0], got[1]) and not np.array_equal(got[0], got[2])
    again = analyze.embed_batch([copy, other], cfg)
    assert len(SEEN) == before + 1  # nothing sent: both vectors were kept
    assert np.array_equal(again, got[1:])
    # another model is another vector: nothing is reused across embedders
    analyze.embed_batch([copy], EmbedSettings(backend="openai", base_url=server, model="other-model"))
    assert len(SEEN) == before + 2


def test_an_exact_copy_gets_the_same_analysis_and_a_changed_one_its_own():
    gaz = analyze.gazetteer()
    text = "日銀は19日、政策金利を0.5%に引き上げた。植田総裁が会見した。"
    a = Article("x1", "https://a.example/1", "日銀が利上げ", text, "A", "ja")
    same = Article("x2", "https://b.example/2", "日銀が利上げ", text, "B", "ja")
    dated = Article("x3", "https://b.example/3", "日銀が利上げ", text, "B", "ja",
                    datetime(2026, 1, 19, tzinfo=UTC))
    assert analyze.analyze(same, gaz) is analyze.analyze(a, gaz)
    other = analyze.analyze(dated, gaz)
    assert other is not analyze.analyze(a, gaz)
    assert other.event_days == ["2026-01-19"] and analyze.analyze(a, gaz).event_days != ["2026-01-19"]
    # what is kept is what a fresh analysis gives
    assert analyze._analyzed.__wrapped__(a.title, a.text, None, "ja", gaz) == analyze.analyze(a, gaz)
