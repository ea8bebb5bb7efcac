"""Dedupe stage: exact copies (same normalised text) and near copies (MinHash LSH).

Articles are taken in publication order; a copy points at the first report
of its text, which stays the one written from. Copies remain sources of the
story their original joins (a syndicated wire text on several outlets is
still several outlets' coverage).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from matome.language import nfkc
from matome.records import Article, Stage
from matome.settings import DedupeSettings

if TYPE_CHECKING:
    # imported where used: datasketch brings scipy (half a second), and the pipeline's
    # worker processes, which import this module with the pipeline, never hash
    from datasketch import MinHash

STAGE = Stage("dedupe", 2)
SCHEME = "affine32"  # datasketch's hashing scheme; stored signatures must be read back with it
_SPACE = re.compile(r"\s+")
# A correction or update notice appended to a republished report says what
# changed; it is not the report. Left in, it makes a corrected copy look new.
_NOTICE = re.compile(
    r"^\s*(?:[(（【\[]\s*(?:訂正|おわび|お詫び|更新|追記)[^)）】\]]*[)）】\]]"
    r"|※\s*(?:訂正|更新|追記)).*$", re.MULTILINE)


@lru_cache(maxsize=256)  # the stage hashes a text, then judges it: both read this
def normalized(text: str) -> str:
    return _SPACE.sub("", nfkc(_NOTICE.sub("", text))).lower()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalized(text).encode()).hexdigest()


def minhash(text: str, settings: DedupeSettings) -> MinHash:
    norm = normalized(text)
    k = settings.shingle_chars
    shingles = {norm[i : i + k] for i in range(max(1, len(norm) - k + 1))}
    from datasketch import MinHash

    mh = MinHash(num_perm=settings.num_perm, scheme=SCHEME, permutations=_permutations(settings.num_perm))
    mh.update_batch([s.encode() for s in shingles])
    return mh


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> np.ndarray:
    """datasketch's permutations for the scheme (its seed 1), drawn once: a MinHash draws
    them from a new random generator each time it is made, which cost as much as hashing
    a report's shingles, for every report judged and every signature read back."""
    from datasketch import MinHash

    perms = MinHash(num_perm=num_perm, scheme=SCHEME).permutations
    perms.setflags(write=False)  # shared by every MinHash made here
    return perms


@dataclass
class Verdict:
    article_id: str
    text_hash: str
    minhash: MinHash
    duplicate_of: str | None
    kind: str | None
    similarity: float | None


class Bands:
    """The candidates for a near copy: reports sharing a whole band of signature values with
    it, banded as datasketch's ``MinHashLSH`` bands them for the same threshold and size.

    Our own index rather than ``MinHashLSH``, which keeps per report and band a bytes key, a
    set and a list entry: 3.2 KB a report (measured), 180 MB for the 60 days of a site of
    1,000 reports a day that ``window_days`` holds. Here a band is a 64-bit digest in one
    dict per band, mapping to the first report with it (or a list of the reports, for the
    few that share one): 0.7 KB a report. The same
    candidates as ``MinHashLSH.query`` (a digest shared by accident adds a candidate that
    the Jaccard estimate then turns away)."""

    def __init__(self, settings: DedupeSettings) -> None:
        from datasketch import MinHashLSH

        shape = MinHashLSH(threshold=settings.near_threshold, num_perm=settings.num_perm)
        self.ranges = [(i * shape.r, (i + 1) * shape.r) for i in range(shape.b)]
        self.tables: list[dict[int, str | list[str]]] = [{} for _ in self.ranges]

    def _keys(self, values: np.ndarray) -> list[int]:
        values = np.asarray(values, dtype=np.uint64)
        return [hash(values[a:b].tobytes()) for a, b in self.ranges]

    def insert(self, key: str, values: np.ndarray) -> None:
        """Index a report by its signature's values (``MinHash.hashvalues``)."""
        for table, band in zip(self.tables, self._keys(values), strict=True):
            held = table.setdefault(band, key)
            if held == key:  # new here, or this report again
                continue
            if isinstance(held, list):
                held.append(key)
            else:
                table[band] = [held, key]

    def query(self, values: np.ndarray) -> set[str]:
        found: set[str] = set()
        for table, band in zip(self.tables, self._keys(values), strict=True):
            held = table.get(band)
            if isinstance(held, str):
                found.add(held)
            elif held is not None:
                found.update(held)
        return found


class Deduper:
    """Remembers every kept text of the window; judges new ones against them.

    Signatures are rows of one array (the affine32 scheme's values fit 32 bits: 0.5 KB a
    report), not a ``MinHash`` object each over the stored bytes. The window holds 60 days
    of reports (``window_days``): the 100k bench store's 56,594 took 101 MiB held this way
    (tracemalloc, with the band index and the text hashes), against 109 MiB of objects plus
    the 57 MiB of stored signatures they kept alive; loading them 1.9 s against 5.7."""

    def __init__(self, settings: DedupeSettings) -> None:
        self.settings = settings
        self.lsh = Bands(settings)
        self.by_hash: dict[str, str] = {}
        self._row: dict[str, int] = {}
        self._sig = np.zeros((256, settings.num_perm), dtype=np.uint32)

    def remember(self, article_id: str, thash: str, values: np.ndarray, duplicate_of: str | None) -> None:
        """Hold a kept report: its text's hash and its signature's values (``signature``)."""
        if duplicate_of is not None:
            return
        self.by_hash.setdefault(thash, article_id)
        if article_id in self._row:
            return
        n = len(self._row)
        if n == len(self._sig):
            grown = np.zeros((2 * n, self._sig.shape[1]), dtype=np.uint32)
            grown[:n] = self._sig
            self._sig = grown
        self._sig[n] = values
        self._row[article_id] = n
        self.lsh.insert(article_id, values)

    def judge(self, article: Article) -> Verdict:
        thash = text_hash(article.text)
        if thash in self.by_hash:
            # the same normalised text has the same signature: the original's, when it is held
            original = self.by_hash[thash]
            mh = (minhash_of(self._sig[self._row[original]], self.settings) if original in self._row
                  else minhash(article.text, self.settings))
            return Verdict(article.id, thash, mh, original, "exact", 1.0)
        mh = minhash(article.text, self.settings)
        others = sorted(self.lsh.query(mh.hashvalues))
        if others:
            # MinHash.jaccard for each candidate at once: the share of equal values
            rows = self._sig[[self._row[o] for o in others]]
            sims = np.count_nonzero(rows == mh.hashvalues, axis=1) / np.float64(rows.shape[1])
            i = int(np.argmax(sims))  # the first best, in id order, as a loop over them took
            if sims[i] > 0 and sims[i] >= self.settings.near_threshold:
                return Verdict(article.id, thash, mh, others[i], "near", round(float(sims[i]), 4))
        return Verdict(article.id, thash, mh, None, None, None)


def signature(data: bytes) -> np.ndarray:
    """A stored signature's values (``minhash_bytes``), to ``Deduper.remember``."""
    return np.frombuffer(data, dtype=np.uint64)


def minhash_bytes(mh: MinHash) -> bytes:
    return np.asarray(mh.hashvalues, dtype=np.uint64).tobytes()


def minhash_from_bytes(data: bytes, settings: DedupeSettings) -> MinHash:
    return minhash_of(signature(data), settings)


def minhash_of(values: np.ndarray, settings: DedupeSettings) -> MinHash:
    """A MinHash of a signature's values, hashed as ``minhash`` hashes."""
    from datasketch import MinHash

    return MinHash(num_perm=settings.num_perm, hashvalues=values, scheme=SCHEME,
                   permutations=_permutations(settings.num_perm))
