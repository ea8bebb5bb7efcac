"""The LLM writer against a misbehaving OpenAI-compatible server on 127.0.0.1.

The server (http.server, in a thread) picks its misbehaviour from the first
part of the request path, so each test points the client at
``http://127.0.0.1:PORT/<mode>/v1``. It reads the source sentences and their
ids out of the prompt, the way a model would, and answers with them — or
times out, answers HTTP 500/429, breaks the JSON, cites ids that do not exist,
answers in English, invents a figure, or reports more tokens than the budget.
Each case must be caught and recorded, the story still written, the run
going on.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from matome import settings
from matome.errors import LLMError
from matome.language import analyze, textja
from matome.records import Analysis, Article, Tokens, Tried, Written
from matome.settings import LLMSettings, Settings
from matome.write import LLMClient, TokenBudget, llm_writer, parse_json

FIXTURE = Path(__file__).parent / "fixtures" / "llm_news.jsonl"
SECRET = "sk-test-do-not-show-0123456789"
_ID_LINE = re.compile(r"^\[(a\d+s\d+)\] (.+)$", re.M)


# --- the fixture stories -----------------------------------------------------

@dataclass
class Stories:
    multi: list[Article]
    single: list[Article]
    analyses: dict[str, Analysis]


@pytest.fixture(scope="module")
def stories() -> Stories:
    arts = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        arts.append(Article(id=d["id"], url=d["url"], title=d["title"], text=d["text"],
                            source=d["source"], lang=d["lang"],
                            published=datetime.fromisoformat(d["published"])))
    gaz = analyze.gazetteer()
    return Stories(arts[:3], arts[3:], {a.id: analyze.analyze(a, gaz) for a in arts})


# --- the misbehaving server ----------------------------------------------------

@dataclass
class Fake:
    port: int = 0
    inflight: int = 0
    max_inflight: int = 0
    requests: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    crowd: threading.Condition = field(default_factory=threading.Condition)

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/v1"

    def count(self, mode: str) -> int:
        with self.lock:
            return sum(1 for m, _, _ in self.requests if m == mode)


def _good_answer(prompt: str) -> dict[str, Any]:
    """What a careful model answers: source sentences, verbatim, with their ids."""
    lines = _ID_LINE.findall(prompt)
    first, rest = lines[0], lines[1:]
    return {"headline": "青葉市の話題" if "青葉" in prompt else "水族館の話題",
            "lead": {"text": first[1], "sources": [first[0]]},
            "sections": [{"name": "概要", "sentences": [{"text": first[1], "sources": [first[0]]}]},
                         {"name": "詳細", "sentences": [{"text": t, "sources": [i]} for i, t in rest[:3]]}]}


def _answer(mode: str, prompt: str) -> tuple[dict[str, Any], str]:
    """(the answer object, the text the 'model' sends) for one mode."""
    good = _good_answer(prompt)
    if mode == "unknown_ids":
        good["sections"][1]["sentences"].append({"text": "関係者によると、来年には延伸も検討される。",
                                                 "sources": ["a9s99"]})
        good["sections"][0]["sentences"][0]["sources"].append("a7s1")
    elif mode == "english":
        good["headline"] = "Tram line opens in Aoba"
        for s in good["sections"][1]["sentences"]:
            s["text"] = "The new tram line opened on the 14th with twelve stops."
    elif mode == "figure":
        s = good["sections"][1]["sentences"][0]
        s["text"] = s["text"].rstrip("。") + "で、総事業費は約980億円に上った。"
        good["headline"] = "路面電車が開業、総事業費は980億円"
    elif mode == "ungrounded":
        good["headline"] = "ニュース編集者が書いた記事です"
    elif mode == "prose":
        fenced = "```json\n" + json.dumps(good, ensure_ascii=False) + "\n```"
        return good, f"はい、記事です。\n{fenced}\n以上です。"
    elif mode == "malformed":
        return good, json.dumps(good, ensure_ascii=False)[:-25]
    elif mode == "shapeless":
        return good, json.dumps({"headline": "見出し", "sections": "なし"}, ensure_ascii=False)
    return good, json.dumps(good, ensure_ascii=False)


class _Handler(BaseHTTPRequestHandler):
    fake: Fake

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)

    def do_POST(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.fake.lock:
            self.fake.requests.append((mode, body, {k.lower(): v for k, v in self.headers.items()}))
            n = sum(1 for m, _, _ in self.fake.requests if m == mode)
        if mode == "slow":
            time.sleep(1.5)
        elif mode == "crowd":  # how many requests are in flight at once
            # Each waits (up to 5 s) for a second to arrive, so that two overlap however slowly
            # a loaded machine starts them; then lingers so that a third would be seen too.
            with self.fake.crowd:
                self.fake.inflight += 1
                self.fake.max_inflight = max(self.fake.max_inflight, self.fake.inflight)
                self.fake.crowd.notify_all()
                self.fake.crowd.wait_for(lambda: self.fake.inflight >= 2, timeout=5)
            time.sleep(0.3)
            with self.fake.crowd:
                self.fake.inflight -= 1
        elif mode == "http500":
            return self._send(500, {"error": {"message": "model crashed"}})
        elif mode == "http429" and n == 1:
            return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        elif mode == "auth":
            return self._send(401, {"error": {"message": f"Incorrect API key provided: {SECRET}"}})
        elif mode == "too_long":
            return self._send(400, {"error": {"message": "the request exceeds the available context size"}})
        elif mode == "no_schema" and body.get("response_format", {}).get("type") == "json_schema":
            return self._send(400, {"error": {"message": "response_format json_schema not supported"}})
        prompt = body["messages"][-1]["content"]
        _, text = _answer(mode, prompt)
        usage = {"prompt_tokens": 900_000 if mode == "over_budget" else 400, "completion_tokens": 100}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "fake-1",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": text}}],
                         **({} if mode == "no_usage" else {"usage": usage})})


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    state = Fake()
    handler = type("H", (_Handler,), {"fake": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _settings(fake: Fake, mode: str, **llm: Any) -> Settings:
    base = {"base_url": fake.url(mode), "model": "fake-1", "timeout": 5.0, "retries": 0,
            "concurrency": 2, "api_key": SECRET, **llm}
    return replace(Settings(), llm=LLMSettings(**base))


def _quotes_verbatim(w: Written, articles: list[Article]) -> None:
    texts = {a.id: textja.nfkc(a.text) for a in articles}
    cites = [c for s in w.sections for ws in s.sentences for c in ws.citations] + w.lead_citations
    assert cites
    for c in cites:
        assert textja.nfkc(c.quote) in texts[c.article], c
    assert SECRET not in json.dumps(w.to_json(), ensure_ascii=False)


def _write(stories: Stories, s: Settings) -> list[Written]:
    return [w for _, w in llm_writer.write_all(
        [("multi", stories.multi), ("single", stories.single)], stories.analyses, s)]


# --- the cases ---------------------------------------------------------------

def test_good_answer_is_used_and_single_source_says_so(fake: Fake, stories: Stories) -> None:
    multi, single = _write(stories, _settings(fake, "good"))
    for w, arts in ((multi, stories.multi), (single, stories.single)):
        assert w.provenance.writer == "llm/1" and w.provenance.fallback is None
        assert w.provenance.model == "fake-1" and w.provenance.prompt == "brief/v1"
        assert w.report.llm.tokens == Tokens(prompt=400, completion=100, reported=True)
        assert w.report.dropped == 0
        _quotes_verbatim(w, arts)
    assert multi.headline == "青葉市の話題" and multi.provenance.single_source is False
    assert single.provenance.single_source is True and "単独報道" in single.subheadline
    assert "南風新聞" in single.subheadline
    # Structured output was asked for with the real ids as the only allowed values.
    _, body, headers = next(r for r in fake.requests if r[0] == "good")
    schema = body["response_format"]["json_schema"]["schema"]
    ids = schema["properties"]["sections"]["items"]["properties"]["sentences"]["items"][
        "properties"]["sources"]["items"]["enum"]
    assert "a1s1" in ids and all(re.fullmatch(r"a\d+s\d+", i) for i in ids)
    assert headers["authorization"] == f"Bearer {SECRET}"  # the key goes to the server only


def test_timeout_is_retried_then_falls_back(fake: Fake, stories: Stories) -> None:
    s = _settings(fake, "slow", timeout=0.5, retries=1)
    w = llm_writer.write(stories.multi, stories.analyses, s)
    assert w.provenance.writer == "extractive/1"
    assert "timed out" in w.provenance.fallback
    assert w.provenance.tried == Tried(writer="llm/1", model="fake-1", prompt="brief/v1")
    assert fake.count("slow") == 2  # the first try and one retry
    _quotes_verbatim(w, stories.multi)


def test_http_500_and_429(fake: Fake, stories: Stories) -> None:
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "http500", retries=2))
    assert "HTTP 500" in w.provenance.fallback and fake.count("http500") == 3
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "http429", retries=2))
    assert w.provenance.fallback is None and fake.count("http429") == 2  # retried once, then fine


def test_malformed_json_falls_back_and_prose_is_parsed(fake: Fake, stories: Stories) -> None:
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "malformed"))
    assert "malformed JSON" in w.provenance.fallback
    assert w.report.llm.fallback == w.provenance.fallback
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "shapeless"))
    assert "no list of sections" in w.provenance.fallback
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "prose", json_mode="text"))
    assert w.provenance.fallback is None and w.report.llm.mode == "text"
    assert "response_format" not in next(r for r in fake.requests if r[0] == "prose")[1]


def test_unknown_ids_are_reported_and_dropped(fake: Fake, stories: Stories) -> None:
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "unknown_ids"))
    assert w.provenance.fallback is None
    unknown = [i for i in w.report.llm.issues if i.kind == "unknown ids"]
    assert sorted(i for u in unknown for i in u.ids) == ["a7s1", "a9s99"]
    dropped = [c for c in w.report.changes if c.action == "dropped"]
    assert [c.text for c in dropped] == ["関係者によると、来年には延伸も検討される。"]
    assert "延伸" not in json.dumps([s.text for sec in w.sections for s in sec.sentences], ensure_ascii=False)
    _quotes_verbatim(w, stories.multi)


def test_english_answer_to_japanese_story_is_replaced(fake: Fake, stories: Stories) -> None:
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "english"))
    assert w.provenance.fallback is None
    assert [i.kind for i in w.report.llm.issues].count("wrong language") == 3
    repaired = [c for c in w.report.changes if c.reason.startswith("not in the story's language")]
    assert len(repaired) == 4  # three sentences and the headline
    assert all(textja.is_japanese(s.text) for sec in w.sections for s in sec.sentences)
    assert textja.is_japanese(w.headline)
    _quotes_verbatim(w, stories.multi)


def test_invented_figure_is_caught_by_verification(fake: Fake, stories: Stories) -> None:
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "figure"))
    assert w.provenance.fallback is None
    said = [s.text for sec in w.sections for s in sec.sentences] + [w.headline]
    assert not any("980" in t for t in said)
    reasons = [c.reason for c in w.report.changes]
    assert any(r.startswith("figures not in source") and "980" in r for r in reasons)  # verify
    assert any(r.startswith("figures not in any report") for r in reasons)             # headline
    assert w.report.repaired >= 2
    _quotes_verbatim(w, stories.multi)


def test_budget_stops_requests_and_the_run_goes_on(fake: Fake, stories: Stories) -> None:
    multi, single = _write(stories, _settings(fake, "over_budget", token_budget=10_000, concurrency=1))
    assert multi.provenance.fallback is None  # the answer that overspent was paid for: used
    assert "token budget spent" in single.provenance.fallback
    assert fake.count("over_budget") == 1
    _quotes_verbatim(single, stories.single)


def test_missing_usage_is_estimated_and_charged(fake: Fake, stories: Stories) -> None:
    client = LLMClient(_settings(fake, "no_usage").llm, budget=TokenBudget(0))
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "no_usage"), client=client)
    assert w.report.llm.tokens.reported is False and client.budget.used > 100


def test_json_schema_refused_steps_down_to_json_object(fake: Fake, stories: Stories) -> None:
    multi, single = _write(stories, _settings(fake, "no_schema", concurrency=1))
    assert multi.provenance.fallback is None and single.provenance.fallback is None
    kinds = [b.get("response_format", {}).get("type") for m, b, _ in fake.requests if m == "no_schema"]
    assert kinds == ["json_schema", "json_object", "json_object"]  # the step down is remembered


def test_api_key_never_shown(fake: Fake, stories: Stories) -> None:
    s = _settings(fake, "auth")
    w = llm_writer.write(stories.multi, stories.analyses, s)
    assert "HTTP 401" in w.provenance.fallback and "***" in w.provenance.fallback
    assert SECRET not in json.dumps(w.to_json(), ensure_ascii=False)
    assert SECRET not in repr(s) and SECRET not in repr(LLMClient(s.llm))
    assert SECRET not in settings.settings_markdown()


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from matome.write import api_key
    monkeypatch.delenv("MATOME_LLM_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai-env")
    assert api_key(LLMSettings()) == "from-openai-env"
    monkeypatch.setenv("MATOME_LLM_API_KEY", "from-matome-env")
    assert api_key(LLMSettings()) == "from-matome-env"
    assert api_key(LLMSettings(api_key="from-config")) == "from-config"


def test_unreachable_server_and_bad_settings(stories: Stories) -> None:
    s = replace(Settings(), llm=LLMSettings(base_url="http://127.0.0.1:9/v1", retries=0, timeout=2))
    w = llm_writer.write(stories.single, stories.analyses, s)
    assert "cannot connect" in w.provenance.fallback
    s = replace(Settings(), llm=LLMSettings(prompt="brief/v99"))
    w = llm_writer.write(stories.single, stories.analyses, s)
    assert "no prompt template" in w.provenance.fallback
    s = replace(Settings(), llm=LLMSettings(json_mode="yaml"))
    assert "json_mode" in llm_writer.write(stories.single, stories.analyses, s).provenance.fallback


def test_parse_json_finds_the_object() -> None:
    assert parse_json('前置き {"a": 1} 後書き') == {"a": 1}
    assert parse_json('```json\n{"a": [1, 2]}\n```') == {"a": [1, 2]}
    assert parse_json('[1] {"b": "}"}') == {"b": "}"}
    with pytest.raises(LLMError, match="malformed JSON"):
        parse_json('{"a": ')
    with pytest.raises(LLMError, match="no JSON object"):
        parse_json("ありません")


def test_headline_not_in_the_reports_words_is_replaced(fake: Fake, stories: Stories) -> None:
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "ungrounded"))
    change = next(c for c in w.report.changes if c.section == "見出し")
    assert change.reason == "not in the reports' words"
    assert change.text == "ニュース編集者が書いた記事です"
    assert w.headline == change.now and w.headline in {a.title for a in stories.multi}


def test_concurrency_limit(fake: Fake, stories: Stories) -> None:
    todo = [(f"s{i}", stories.multi if i % 2 else stories.single) for i in range(6)]
    out = list(llm_writer.write_all(todo, stories.analyses, _settings(fake, "crowd", concurrency=2)))
    assert [sid for sid, _ in out] == [sid for sid, _ in todo]  # in the order given
    assert all(w.provenance.writer == "llm/1" for _, w in out)
    assert fake.count("crowd") == 6 and fake.max_inflight == 2


def test_other_refusal_does_not_step_down(fake: Fake, stories: Stories) -> None:
    client = LLMClient(_settings(fake, "too_long").llm)
    w = llm_writer.write(stories.multi, stories.analyses, _settings(fake, "too_long"), client=client)
    assert "HTTP 400" in w.provenance.fallback and "context size" in w.provenance.fallback
    assert fake.count("too_long") == 1 and client.mode == "json_schema"
